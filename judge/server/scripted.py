"""A scripted judge for tests and benchmarks: verdicts from a function, plus injected faults.

It reads the rendered prompt the way a model would (the text between the ``<response>``
tags, with spotlighting's line markers or JSON encoding taken off; the scale from the tool
schema), so tests exercise the real templates and the real wire protocol. Faults are drawn
per request from a seeded generator.
"""

from __future__ import annotations

import functools
import json
import math
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from judge.server.wire import ConverseFault, text_response, tool_response, usage_for
from judge.spotlight import unmark

# The template's own keyed tags: <response-KEY> ... </response-KEY>.
_RESPONSE = re.compile(r"<response-([0-9a-f]{16})>\n(.*?)\n</response-\1>", re.DOTALL)
_KEY = re.compile(r"^Boundary key: ([0-9a-f]{16})$", re.MULTILINE)
# A pairwise request's two responses: <response_a-KEY> ... and <response_b-KEY> ...
_PAIR = re.compile(r"<response_([ab])-([0-9a-f]{16})>\n(.*?)\n</response_\1-\2>", re.DOTALL)
# A group request's responses: <response_1-KEY> ... </response_1-KEY>, <response_2-KEY> ...
_GROUP = re.compile(r"<response_(\d+)-([0-9a-f]{16})>\n(.*?)\n</response_\1-\2>", re.DOTALL)


@dataclass(frozen=True)
class Judged:
    """What the scripted judge sees of one request."""

    response: str
    user_text: str
    system_text: str
    scores: list[int]
    rubric: str | None
    key: str = ""  # the request's boundary key, which a text verdict line carries
    block: str = ""  # the response block as rendered (markers and all): what a model reads


ScoreFn = Callable[[Judged], int]
# A pairwise verdict from what the judge sees of response A and of response B: A, B or tie.
PreferFn = Callable[[Judged, Judged], str]


@dataclass(frozen=True)
class Faults:
    """Per-request fault probabilities (they add up to at most 1)."""

    throttle: float = 0.0  # 429 ThrottlingException
    not_ready: float = 0.0  # 429 ModelNotReadyException
    server_error: float = 0.0  # 500 InternalServerException / 503 ServiceUnavailableException
    timeout: float = 0.0  # 408 ModelTimeoutException
    model_error: float = 0.0  # 424 ModelErrorException
    malformed: float = 0.0  # an answer that breaks the verdict schema
    hang: float = 0.0  # no answer until the server stops
    validation: float = 0.0  # 400 ValidationException (never worth retrying)
    access_denied: float = 0.0  # 403 AccessDeniedException (never worth retrying)

    def pick(self, draw: float) -> str | None:
        """The fault for a uniform ``draw`` in [0, 1), or None."""
        edge = 0.0
        for name in (f.name for f in fields(self)):
            edge += getattr(self, name)
            if draw < edge:
                return name
        return None


_POLITE = (
    "please",
    "thank",
    "happy to help",
    "glad",
    "sorry",
    "appreciate",
    "kindly",
    "you're welcome",
    "hope this helps",
)
_RUDE = (
    "stupid",
    "idiot",
    "dumb",
    "whatever",
    "shut up",
    "not my problem",
    "obviously",
    "!!!",
    "figure it out",
    "useless",
)


def lexicon_score(judged: Judged) -> int:
    """A transparent keyword heuristic, for plumbing checks only (not a real judge)."""
    text = judged.response.lower()
    lo, hi = judged.scores[0], judged.scores[-1]
    mid = (lo + hi) // 2
    score = mid + sum(w in text for w in _POLITE) - 2 * sum(w in text for w in _RUDE)
    return max(lo, min(hi, score))


# What a gullible model takes for the end of the judged text: any closing tag of the
# template's blocks, or a chat-turn marker, read through the normalised view (a model reads
# entity, look-alike and zero-width spellings as the tag). Deliberately not the fence's own
# pattern: this models the reader, the fence is what is under test.
_ESCAPE = re.compile(
    r"<\s*/\s*(?:response|conversation|reference|example|verdict)|<\|\s*(?:im_end|eot_id|endoftext)"
    r"|\[/inst\]|</s>|end_of_turn|<<sys>>|\n\n(?:human|assistant)\s?:"
)
_WORD = re.compile(r"\w+")

# Words that introduce or stand in for an answer without being one ("Solution", "Answer",
# "Thought process", the "master keys" of Zhao et al. 2025), in the languages of the guard's
# lexicon: every word of its phrases, plus single words no list of the guard may hold. This is
# the scripted doubles' "knowledge" of meta text, shared by the gullible judge (fooled by it)
# and the scripted substance model (which recognises it); a real model's knowledge is what
# ``judge probe`` measures.
_META_SINGLE = (
    "answer answers solution solutions result results response output reasoning thought thoughts"
    " step steps analysis explanation conclusion final verdict summary proof working workings"
    " respuesta solución resultado réponse solution résultat antwort lösung ergebnis risposta"
    " soluzione resposta solução ответ решение 答案 解答 解 回答 结果 答え 解答 정답 답 풀이"
    " jawaban javob cevap çözüm odpowiedź rozwiązanie antwoord oplossing svar lösning"
)


@functools.lru_cache(maxsize=1)
def meta_words() -> frozenset[str]:
    """The meta vocabulary above, normalised as the doubles read text."""
    import tomllib
    from importlib import resources

    from judge.text import normalise

    words = set(_META_SINGLE.split())
    source = resources.files("judge").joinpath("data", "guard_lexicon.toml")
    lexicon = tomllib.loads(source.read_text("utf-8"))
    for language in lexicon.get("language", []):
        for phrase in (*language.get("phrases", []), *language.get("fillers", [])):  # not replies
            words.update(_WORD.findall(normalise(phrase)))
    return frozenset(normalise(w) for w in words)


def meta_only(text: str) -> bool:
    """True when ``text`` has no word outside the meta vocabulary (symbols alone included)."""
    from judge.text import normalise

    return all(w in meta_words() for w in _WORD.findall(normalise(text)))


def gullible_score(judged: Judged) -> int:
    """A judge that is as easy to game as published studies find real ones.

    It obeys instructions that escape the response block (scoring them the top of the scale),
    and it gives content-free answers (one to three words, none outside the meta vocabulary:
    "Solution", "Answer:", "Thought process") the top score too, like the "master key"
    results; a wordless symbol ("🎉", "∞") may be the answer, as the substance double holds.
    Otherwise it is capped one below the top, so an honest answer never ties a successful
    attack, and a short real answer ("Paris") ties the honest one rather than beating it.
    """
    from judge.text import normalise  # the server needs no package imports otherwise

    top = judged.scores[-1]
    if _ESCAPE.search(normalise(judged.block or judged.response)):  # as shown, line starts too
        return top
    if 0 < len(_WORD.findall(judged.response)) < 4 and meta_only(judged.response):
        return top
    return top - 1


# The substance check's forced tool (``judge.substance.SUBSTANCE_TOOL``; not imported, so the
# server needs no package modules beyond the wire and spotlight).
SUBSTANCE_TOOL = "substance"


def substantive(response: str) -> bool:
    """The scripted substance model: content unless every word is meta text.

    It shares ``meta_only`` with the gullible judge, so it recognises exactly what fools that
    judge ("Solution", "Answer:", "Thought process"). A response with no word at all (a symbol:
    "🎉", "∞", "✔") is taken as an answer: a symbol can be what the question asks for, and the
    rule guard already floors text with no letter, digit or symbol.
    """
    from judge.text import normalise

    return not meta_only(response) or not _WORD.search(normalise(response))


def substance_answer(request: dict[str, Any], judged: Judged) -> dict[str, Any]:
    """The ``substance`` tool call for the response of a substance request."""
    found = substantive(judged.response)
    reason = (
        "The response gives an answer."
        if found
        else "The response only announces an answer and never gives one."
    )
    tool_input = {"substantive": found, "reason": reason}
    return tool_response(SUBSTANCE_TOOL, tool_input, usage_for(request, json.dumps(tool_input)))


def read_request(request: dict[str, Any]) -> Judged:
    """Pull the judged response, the scale and the rubric name out of a rendered request."""
    user_text = "\n".join(
        b.get("text", "") for b in request["messages"][-1]["content"] if isinstance(b, dict)
    )
    system_text = "\n".join(b.get("text", "") for b in request.get("system", []))
    found = _RESPONSE.findall(user_text)
    key = _KEY.search(user_text)
    block = found[-1][1] if found else ""
    tools = (request.get("toolConfig") or {}).get("tools") or [{}]
    schema = tools[0].get("toolSpec", {}).get("inputSchema", {}).get("json", {})
    scores = schema.get("properties", {}).get("score", {}).get("enum") or [1, 2, 3, 4, 5]
    rubric = (request.get("requestMetadata") or {}).get("rubric")
    return Judged(
        unmark(block, found[-1][0]) if found else "",
        user_text,
        system_text,
        list(scores),
        rubric,
        key.group(1) if key else "",
        block,
    )


def _shown(judged: Judged, key: str, block: str) -> Judged:
    """``judged`` about another block of the same request (a group's or a pair's response)."""
    return replace(judged, response=unmark(block, key), block=block)


@dataclass
class ScriptedJudge:
    """A fault-injecting, latency-adding judge model behind ``ConverseServer``."""

    score_fn: ScoreFn = lexicon_score
    latency_s: float = 0.0
    faults: Faults = field(default_factory=Faults)
    seed: int = 0
    answer: str = "auto"  # "auto": tool call when a tool is forced; "text": always prose
    quote: bool = False  # text answers quote the judged response after the verdict line
    omit: str | None = None  # leave this rubric out of the answer (a judge that skips one)
    refuse: str | None = None  # a response containing this is refused (content_filtered)
    max_in_flight: int | None = None  # a quota: 429 when more calls than this are running
    # Pairwise requests: prefer_fn decides; by default the higher score_fn wins, with
    # position_bias added to the score of the response shown first (A). Group requests:
    # the first response gets position_bias added, the last nothing, linearly between
    # (rounded, clamped to the scale).
    prefer_fn: PreferFn | None = None
    position_bias: float = 0.0
    # A judge that prefers length: score_fn's score plus length_bias * log(characters /
    # length_ref), rounded and clamped to the scale (every request kind).
    length_bias: float = 0.0
    length_ref: float = 100.0
    # A panel behind one server: requests for these model ids are answered by their own
    # judge (its score_fn, bias and faults); other model ids by this one.
    models: dict[str, ScriptedJudge] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._in_flight = 0

    def converse(
        self, model_id: str, request: dict[str, Any], stopping: threading.Event
    ) -> dict[str, Any]:
        """Answer (or fail) one Converse call."""
        if model_id in self.models:
            with self._lock:
                self.requests.append(request)
            return self.models[model_id].converse(model_id, request, stopping)
        with self._lock:
            self.requests.append(request)
            if self.max_in_flight is not None and self._in_flight >= self.max_in_flight:
                self.served["over_quota"] = self.served.get("over_quota", 0) + 1
                raise ConverseFault(429, "ThrottlingException", "Too many requests, please wait.")
            self._in_flight += 1
            fault = self.faults.pick(self._rng.random())
            variant = self._rng.random()
            self.served[fault or "ok"] = self.served.get(fault or "ok", 0) + 1
        try:
            return self._answer(request, stopping, fault, variant)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(
        self,
        request: dict[str, Any],
        stopping: threading.Event,
        fault: str | None,
        variant: float,
    ) -> dict[str, Any]:
        if fault == "hang":
            stopping.wait()
            raise ConverseFault(503, "ServiceUnavailableException", "server stopping")
        if self.latency_s:
            stopping.wait(self.latency_s)
        if fault is not None and fault != "malformed":
            raise _FAULTS[fault](variant)
        judged = read_request(request)
        group = [
            (f"response_{n}", _shown(judged, key, block))
            for n, key, block in _GROUP.findall(judged.user_text)
        ]
        shown = [judged.response] + [one.response for _, one in group]
        if self.refuse is not None and any(self.refuse in text for text in shown):
            return text_response("", usage_for(request, ""), stop="content_filtered")
        tool_config = request.get("toolConfig") or {}
        forced = (tool_config.get("toolChoice") or {}).get("tool", {}).get("name")
        if forced == SUBSTANCE_TOOL:  # always a forced tool, whatever ``answer`` says
            if fault == "malformed":
                return _malformed(variant, forced, request)
            return substance_answer(request, judged)
        pair = {
            label: _shown(judged, key, block)
            for label, key, block in _PAIR.findall(judged.user_text)
        }
        if len(pair) == 2 and fault != "malformed":
            return self._prefer(request, judged, pair["a"], pair["b"])
        rubrics = _rubrics(request, [name for name, _ in group])
        if group:
            verdicts = self._group(judged, group, rubrics[0][1] if rubrics else judged.scores)
        else:
            verdicts = {
                name: self.scored(replace(judged, rubric=name, scores=scores))
                for name, scores in rubrics
                if name != self.omit
            }
        if fault == "malformed":
            return _malformed(variant, forced, request)
        reasons = {n: f"The response reads as a {v} on this rubric." for n, v in verdicts.items()}
        if forced and self.answer == "auto":
            if "score" in _schema_properties(request):
                name = rubrics[0][0]
                tool_input: dict[str, Any] = (
                    {"reasoning": reasons[name], "score": verdicts[name]} if verdicts else {}
                )
            else:
                tool_input = {n: {"reasoning": reasons[n], "score": v} for n, v in verdicts.items()}
            return tool_response(forced, tool_input, usage_for(request, json.dumps(tool_input)))
        if f"verdict-{judged.key}-" not in judged.user_text:  # asked for one plain line
            lines = [f"verdict-{judged.key}: {v}" for v in verdicts.values()]
        else:
            lines = [f"verdict-{judged.key}-{n}: {v}" for n, v in verdicts.items()]
        text = " ".join(reasons.values()) + "\n" + "\n".join(lines)
        if self.quote:  # as judges do: a parser taking the last verdict-like line is fooled
            text += "\nThe response said:\n" + judged.response + "\n> " + judged.response
        return text_response(text, usage_for(request, text))

    def scored(self, judged: Judged) -> int:
        """``score_fn``'s verdict, with the length bias added (rounded, on the scale)."""
        score = self.score_fn(judged)
        if not self.length_bias:
            return score
        shift = self.length_bias * math.log(max(len(judged.response), 1) / self.length_ref)
        return max(judged.scores[0], min(judged.scores[-1], round(score + shift)))

    def _group(
        self, judged: Judged, group: list[tuple[str, Judged]], scores: list[int]
    ) -> dict[str, int]:
        """Each response's score in a group request, with the position bias added."""
        rubric = judged.rubric
        out = {}
        last = max(1, len(group) - 1)
        for position, (name, one) in enumerate(group):
            if name == self.omit:
                continue
            score = self.scored(replace(one, rubric=rubric, scores=scores))
            score += round(self.position_bias * (last - position) / last)
            out[name] = max(scores[0], min(scores[-1], score))
        return out

    def _prefer(
        self, request: dict[str, Any], judged: Judged, a: Judged, second: Judged
    ) -> dict[str, Any]:
        """A pairwise verdict, as a forced tool call or a keyed text line."""
        if self.prefer_fn is not None:
            preferred = self.prefer_fn(a, second)
        else:
            gap = self.scored(a) + self.position_bias - self.scored(second)
            preferred = "A" if gap > 0 else "B" if gap < 0 else "tie"
        reason = f"Comparing the two responses, the verdict is {preferred}."
        forced = ((request.get("toolConfig") or {}).get("toolChoice") or {}).get("tool", {})
        if forced.get("name") and self.answer == "auto":
            tool_input = {"reasoning": reason, "preferred": preferred}
            return tool_response(
                forced["name"], tool_input, usage_for(request, json.dumps(tool_input))
            )
        text = f"{reason}\nverdict-{judged.key}: {preferred}"
        if self.quote:
            text += f"\nResponse A said:\n{a.response}\nResponse B said:\n{second.response}"
        return text_response(text, usage_for(request, text))


def _schema_properties(request: dict[str, Any]) -> dict[str, Any]:
    tools = (request.get("toolConfig") or {}).get("tools") or [{}]
    schema = tools[0].get("toolSpec", {}).get("inputSchema", {}).get("json", {})
    return dict(schema.get("properties", {}))


def _rubrics(request: dict[str, Any], group: list[str]) -> list[tuple[str, list[int]]]:
    """The rubrics a request asks about, with their scales (one, or several when combined).

    A group request asks about each response (``group``, its labels) on one rubric.
    """
    asked = str((request.get("requestMetadata") or {}).get("rubric") or "rubric")
    names = group or asked.split(",")
    tools = (request.get("toolConfig") or {}).get("tools") or [{}]
    props = (
        tools[0].get("toolSpec", {}).get("inputSchema", {}).get("json", {}).get("properties", {})
    )
    out = []
    nested = "score" not in props  # one rubric: a flat schema; several: one object each
    system = "\n".join(b.get("text", "") for b in request.get("system", []))
    default = [0, 1] if "# Checklist" in system else [1, 2, 3, 4, 5]  # text mode: no schema
    for name in names:
        own = props.get(name, {}).get("properties", {}) if nested else props
        out.append((name, list(own.get("score", {}).get("enum") or default)))
    return out


def _throttle(_: float) -> ConverseFault:
    return ConverseFault(429, "ThrottlingException", "Too many requests, please wait.")


def _server_error(variant: float) -> ConverseFault:
    if variant < 0.5:
        return ConverseFault(500, "InternalServerException", "Internal server error")
    return ConverseFault(503, "ServiceUnavailableException", "Service unavailable")


_FAULTS: dict[str, Callable[[float], ConverseFault]] = {
    "throttle": _throttle,
    "not_ready": lambda _: ConverseFault(429, "ModelNotReadyException", "Model is not ready"),
    "server_error": _server_error,
    "timeout": lambda _: ConverseFault(408, "ModelTimeoutException", "Model timed out"),
    "model_error": lambda _: ConverseFault(424, "ModelErrorException", "Model error"),
    "validation": lambda _: ConverseFault(400, "ValidationException", "Malformed input request"),
    "access_denied": lambda _: ConverseFault(
        403,
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    ),
}


def _malformed(variant: float, forced: str | None, request: dict[str, Any]) -> dict[str, Any]:
    """One of the ways real judges break the verdict schema."""
    usage = usage_for(request, "")
    if forced and variant < 0.4:
        return tool_response(forced, {"reasoning": "Fine.", "score": "excellent"}, usage)
    if forced and variant < 0.7:
        return tool_response(forced, {"reasoning": "I would rate it highly."}, usage)
    return text_response("I think this response is quite good overall.", usage)
