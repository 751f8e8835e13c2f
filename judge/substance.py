"""The optional substance check (``[guard] substance_model``): is a short answer an answer.

The rule guard never floors an ordinary word: a lone "Solution" may be the answer (a
chemistry term, a translation), and it is also the "master key" that fools real judges
(Zhao et al. 2025). Rules cannot tell the two apart; a model reading the question can. So a
short response the rules leave undecided is shown, with the last user turn, to a cheap model
that answers one question through a forced tool: does it contain an answer or any
substantive content? No: the response is floored (``no_substance``). Every failure (an
error, the deadline, a refusal, an answer that breaks the schema) leaves the response to the
judges: the check can only take away a reward the rules would have let the judges give, so
doubt never floors. The request is spotlighted like a judge request (``prompts/substance.j2``),
made through the judges' caller (retries, deadline, limiter) and cached in the verdict cache.
Its own robustness (can a response talk it into "substantive"?) is what ``judge probe``
measures on the real model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from judge.cache import cache_key
from judge.caller import JudgeCaller, JudgeTask, Outcomes
from judge.config import GuardSettings, JudgeSettings, RetrySettings
from judge.digest import sha256_file
from judge.errors import SourceError
from judge.guard import guard_view
from judge.guard_rules import is_unspaced
from judge.prompt import JudgeInput, PromptRenderer, Turn
from judge.rubric import Level, Rubric
from judge.verdict import Outcome, Unscored, Verdict

if TYPE_CHECKING:
    import jinja2

    from judge.cache import VerdictCache
    from judge.limiter import AdaptiveLimit

SUBSTANCE_TEMPLATE = "substance.j2"
SUBSTANCE_TOOL = "substance"
REASON_CHARS = 200  # of the model's reason, in the guarded flag
# The check as a 0/1 pseudo-rubric, so the judges' caller, cache and counters take it as is.
SUBSTANCE = Rubric(
    name=SUBSTANCE_TOOL,
    title="Substance",
    path=Path(SUBSTANCE_TOOL),
    scale_min=0,
    scale_max=1,
    definition="Whether the response contains an answer or any substantive content.",
    levels=(Level(0, "no substance", ""), Level(1, "substantive", "")),
    examples=(),
    content_hash=SUBSTANCE_TOOL,
)


class SubstanceAnswer(BaseModel):
    """The forced tool's input: a boolean (strictly) and why."""

    model_config = ConfigDict(extra="ignore", strict=True)

    substantive: bool
    reason: str = ""


def substance_tool() -> dict[str, Any]:
    """The forced ``substance`` tool: ``substantive`` and a ``reason``, both required."""
    return {
        "name": SUBSTANCE_TOOL,
        "description": "Record whether the response contains an answer or substantive content.",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "substantive": {
                        "type": "boolean",
                        "description": "True when the response holds an answer or any content.",
                    },
                    "reason": {"type": "string", "description": "One sentence: why."},
                },
                "required": ["substantive", "reason"],
                "additionalProperties": False,
            }
        },
    }


def word_count(text: str) -> int:
    """Words as the guard reads the text (normalised); unspaced scripts: two characters a word.

    Chinese, Japanese or Thai have no spaces, so "答案是四十二" is one whitespace token; counted
    at two characters a word it is three, about what it says.
    """
    words = 0
    for token in guard_view(text).text.split():
        unspaced = sum(is_unspaced(c) for c in token)
        words += (unspaced < len(token)) + math.ceil(unspaced / 2)
    return words


def parse_substance(response: dict[str, Any]) -> Outcome:
    """The check's answer as a 0/1 verdict (1: substantive), or why there is none.

    Only the forced tool's input counts (a text answer may quote the response).
    """
    stop = response.get("stopReason")
    if stop in ("guardrail_intervened", "content_filtered"):
        return Unscored(reason="refused", detail=f"stopReason={stop}")
    content = (response.get("output") or {}).get("message", {}).get("content") or []
    calls = [
        block["toolUse"]
        for block in content
        if isinstance(block, dict)
        and isinstance(block.get("toolUse"), dict)
        and block["toolUse"].get("name") == SUBSTANCE_TOOL
    ]
    if not calls:
        detail = f"no {SUBSTANCE_TOOL} tool call (stopReason={stop})"
        return Unscored(reason="unparseable", detail=detail)
    try:
        answer = SubstanceAnswer.model_validate(calls[0].get("input"))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        return Unscored(reason="unparseable", detail=f"{where}: {first['msg']}"[:300])
    return Verdict(score=int(answer.substantive), reasoning=answer.reason)


class SubstanceCaller(JudgeCaller):
    """The judges' caller, reading the ``substance`` tool instead of a verdict."""

    def parse(self, task: JudgeTask, response: dict[str, Any]) -> Outcomes:
        """The one outcome of a substance call."""
        return {SUBSTANCE.name: parse_substance(response)}


@dataclass
class SubstanceCounts:
    """A batch's substance checks: responses asked about, calls, hits, floors, failures."""

    asked: int = 0  # responses the check was asked about (cache hits included)
    calls: int = 0  # Converse calls that answered (tokens and cost are in the batch's stats)
    cache_hits: int = 0
    floored: int = 0
    failed: int = 0  # no usable answer: left to the judges

    def as_dict(self) -> dict[str, int]:
        """For summaries and metrics (``substance_calls``, ``substance_floored``...)."""
        return {f"substance_{k}": v for k, v in vars(self).items()}


def load_template(renderer: PromptRenderer) -> jinja2.Template:
    """``prompts/substance.j2``, or a ``SourceError`` naming the file, the line and the fix."""
    import jinja2  # only with a substance model: not at every cold start

    path = renderer.directory / SUBSTANCE_TEMPLATE
    try:
        return renderer.env.get_template(SUBSTANCE_TEMPLATE)
    except jinja2.TemplateNotFound:
        raise SourceError(
            path,
            "template not found ([guard] substance_model needs it)",
            fix=f"copy prompts/{SUBSTANCE_TEMPLATE} from the project",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise SourceError(
            path, exc.message or "syntax error", line=exc.lineno, fix="correct the syntax"
        ) from None


def template_problems(renderer: PromptRenderer, spotlight: str) -> list[str]:
    """What ``judge lint`` reports of the substance template: it loads and renders both parts."""
    import jinja2

    try:
        template = load_template(renderer)
        for part in ("system", "user"):
            values = {"part": part, "spotlight": spotlight, "tool_name": SUBSTANCE_TOOL}
            values |= {"key": "0" * 16, "question": "Is it open?", "response": "Yes."}
            template.render(values)
    except SourceError as exc:
        return [str(exc)]
    except jinja2.UndefinedError as exc:
        where = renderer.directory / SUBSTANCE_TEMPLATE
        return [f"{where}: template uses an undefined value ({exc.message})"]
    return []


class SubstanceCheck:
    """Renders substance requests and holds the caller that makes them."""

    def __init__(
        self,
        guard: GuardSettings,
        judge: JudgeSettings,
        renderer: PromptRenderer,
        caller: SubstanceCaller,
    ) -> None:
        assert guard.substance_model is not None
        self.max_words = guard.substance_max_words
        self.renderer = renderer
        self.caller = caller
        self.spotlight = judge.spotlight
        path = renderer.directory / SUBSTANCE_TEMPLATE
        self.template = load_template(renderer)
        self.template_hash = sha256_file(path)
        self.endpoint = str(caller.client.meta.endpoint_url)
        self.system = self._render({"part": "system", "spotlight": self.spotlight})

    @classmethod
    def build(
        cls,
        guard: GuardSettings,
        judge: JudgeSettings,
        retry: RetrySettings,
        renderer: PromptRenderer,
        first: JudgeCaller,
    ) -> SubstanceCheck | None:
        """The check when ``substance_model`` is set, else None.

        It shares the first judge's client (region), cache and concurrency limit.
        """
        if guard.substance_model is None:
            return None
        settings = JudgeSettings(
            model_id=guard.substance_model,
            region=judge.region,
            profile=judge.profile,
            max_tokens=guard.substance_max_tokens,
            spotlight=judge.spotlight,
            connect_timeout_s=judge.connect_timeout_s,
            read_timeout_s=judge.read_timeout_s,
        )
        limit: AdaptiveLimit | None = first.limit
        cache: VerdictCache = first.cache
        caller = SubstanceCaller(first.client, settings, retry, cache, limit)
        return cls(guard, judge, renderer, caller)

    def wanted(self, response: str) -> bool:
        """Whether ``response`` is short enough to be asked about."""
        return word_count(response) <= self.max_words

    def task(self, item: JudgeInput) -> JudgeTask:
        """The check of ``item``'s response against its last user turn."""
        question = next((t.text for t in reversed(item.conversation) if t.role == "user"), "")
        shown = JudgeInput((Turn("user", question),), item.response)
        key = self.renderer.key(shown)
        user = self._render(
            {
                "part": "user",
                "key": key,
                "question": question,
                "response": item.response,
                "spotlight": self.spotlight,
            }
        )
        settings = self.caller.settings
        request: dict[str, Any] = {
            "system": [{"text": self.system}],
            "messages": [{"role": "user", "content": [{"text": user}]}],
            "inferenceConfig": settings.inference_config(),
            "requestMetadata": {"rubric": SUBSTANCE.name},
            "toolConfig": {
                "tools": [{"toolSpec": substance_tool()}],
                "toolChoice": {"tool": {"name": SUBSTANCE_TOOL}},
            },
        }
        if fields := settings.request_fields():
            request["additionalModelRequestFields"] = fields
        cached_as = cache_key(
            model_id=settings.model_id,
            endpoint=self.endpoint,
            request=request,
            rubric_hash=SUBSTANCE.content_hash,
            template_hash=self.template_hash,
        )
        return JudgeTask(cached_as, (SUBSTANCE,), request, key, item.response)

    def _render(self, values: dict[str, Any]) -> str:
        try:
            return self.template.render({**values, "tool_name": SUBSTANCE_TOOL}).strip()
        except Exception as exc:
            import jinja2  # loaded already: ``self.template`` is one of its templates

            if not isinstance(exc, jinja2.UndefinedError):
                raise
            raise SourceError(
                self.renderer.directory / SUBSTANCE_TEMPLATE,
                f"template uses an undefined value ({exc.message})",
                fix="substance.j2 sees part, spotlight and tool_name; its user part also "
                "key, question and response",
            ) from None


def flag(outcome: Outcome) -> str | None:
    """The guarded flag of a response the check found empty, else None (judged as usual)."""
    if isinstance(outcome, Verdict) and outcome.score == 0:
        reason = " ".join(outcome.reasoning.split())[:REASON_CHARS]
        return f"no_substance: {reason or 'no answer or substantive content'}"
    return None
