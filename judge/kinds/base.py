"""What a request kind is, and the registry of kinds by name.

A kind (pointwise, combined, checklist, group, pairwise, or one a user adds) is everything
that differs between kinds of judge request: how it renders, its forced tool, how its answer
is parsed, and which templates its cache keys hash. What every kind shares (the templates,
the keys, assembling the Converse request) stays in ``judge.prompt``; making tasks and their
cache keys in ``judge.tasks``; calling in ``judge.caller``. Adding a kind is one module that
calls ``register``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal, Protocol

from judge.config import JudgeSettings
from judge.label import Answer
from judge.prompt import USER_TEMPLATE, JudgeInput, PromptRenderer
from judge.verdict import Outcome, parse_combined_response

if TYPE_CHECKING:
    from judge.caller import JudgeTask

Outcomes = dict[str, Outcome]  # answer name -> its outcome, for one task
VerdictMode = Literal["tool", "text"]


@dataclass(frozen=True)
class Ask:
    """What one request asks: about ``rubrics``, of ``item``'s response or of ``responses``.

    ``responses`` (group, pairwise) are judged together in this order; ``item`` then gives
    the conversation and reference only.
    """

    rubrics: tuple[Answer, ...]
    item: JudgeInput
    responses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rendered:
    """A rendered request and what parsing its answer needs."""

    request: dict[str, Any]  # the Converse request, without ``modelId``
    fence_key: str  # the request's delimiter key, which a text verdict must carry
    judged: str  # the judged text (its lines never count as the judge's verdict)
    answers: tuple[Answer, ...]  # the answers it asks for: names and scales


class Kind(Protocol):
    """One kind of judge request."""

    @property
    def name(self) -> str:
        """The kind's name (``JudgeTask.kind``)."""

    @property
    def templates(self) -> tuple[str, ...]:
        """Templates beyond the shared ones whose bytes its cache keys hash."""

    @property
    def named(self) -> bool:
        """Whether the answer holds one entry per name, each cached under its own key."""

    def tool_spec(self, ask: Ask) -> dict[str, Any]:
        """The forced tool of ``ask``'s request."""

    def render(self, renderer: PromptRenderer, ask: Ask, settings: JudgeSettings) -> Rendered:
        """``ask``'s request as ``settings``' judge gets it."""

    def parse(self, response: dict[str, Any], task: JudgeTask, mode: VerdictMode) -> Outcomes:
        """Each answer's outcome from a Converse answer to ``task``."""


_KINDS: dict[str, Kind] = {}
# The built-in kinds by name, each registered by importing its module. A kind is loaded on
# first use (``kind``), so a reward imports only the kinds its config asks for.
BUILT_IN = {
    "checklist": "judge.kinds.checklist",
    "combined": "judge.kinds.combined",
    "group": "judge.kinds.group",
    "pairwise": "judge.kinds.pairwise",
    "pointwise": "judge.kinds.pointwise",
}


def register(kind: Kind) -> Kind:
    """Make ``kind`` known by its name (a kind registered again replaces the earlier one)."""
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Forget the kind called ``name`` (a test's or a plugin's; unknown names are ignored)."""
    _KINDS.pop(name, None)


def kind(name: str) -> Kind:
    """The registered kind called ``name`` (a built-in one is loaded on first use)."""
    if name not in _KINDS and name in BUILT_IN:
        import_module(BUILT_IN[name])  # registers it (once: an unregistered one stays out)
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted({*_KINDS, *BUILT_IN}))
        raise KeyError(f"no request kind {name!r} (known: {known})") from None


def kinds() -> tuple[Kind, ...]:
    """Every registered kind, the built-in ones loaded, in registration order."""
    for module in BUILT_IN.values():
        import_module(module)
    return tuple(_KINDS.values())


@dataclass(frozen=True)
class OneResponse:
    """How a kind about one response (pointwise, combined, checklist) renders.

    ``system``: its system template (``optional``: named by what needs it, when a prompts
    folder may lack it); ``user``: what ``user.j2`` is told of the request (``combined``:
    one answer per name; ``checklist``: the answers are criteria).
    """

    system: str
    optional: str | None
    combined: bool
    checklist: bool = False


def render_one(
    renderer: PromptRenderer, ask: Ask, settings: JudgeSettings, kind: Kind, how: OneResponse
) -> Rendered:
    """A request about ``ask.item``'s one response, rendered as ``how`` says.

    The system prompt and tool depend on the rubrics and settings only, so they are rendered
    once per rubric set (the cacheable prefix).
    """
    rubrics = ask.rubrics

    def build() -> tuple[str, dict[str, Any]]:
        templates = renderer.templates
        if how.optional is None:
            template = templates.get(how.system)
        else:
            template = templates.get_optional(how.system, how.optional)
        text = templates.render(template, renderer.system_values(rubrics, settings))
        return text.strip(), kind.tool_spec(ask)

    hashes = tuple(r.content_hash or r.name for r in rubrics)
    system_text, tool = renderer.static((hashes, *renderer.mode_of(settings), kind.name), build)
    values = {
        "key": renderer.key(ask.item),
        "rubric": rubrics[0],
        "rubrics": rubrics,
        "combined": how.combined,
        "checklist": how.checklist,
        "conversation": ask.item.conversation,
        "response": ask.item.response,
        "reference": ask.item.reference,
        "verdict_mode": settings.verdict_mode,
        "spotlight": settings.spotlight,
    }
    user = renderer.templates.render(renderer.templates.get(USER_TEMPLATE), values).strip()
    metadata = {"rubric": ",".join(r.name for r in rubrics)}
    request = renderer.assemble(system_text, user, tool, settings, metadata)
    return Rendered(request, renderer.key(ask.item), ask.item.response, rubrics)


def parse_named(response: dict[str, Any], task: JudgeTask, mode: VerdictMode) -> Outcomes:
    """Each answer's outcome from a per-name answer (one missing from it is unscored)."""
    return parse_combined_response(
        response,
        [(a.name, a.scores) for a in task.rubrics],
        mode=mode,
        key=task.fence_key,
        judged=task.judged,
    )
