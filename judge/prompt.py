"""Render a rubric and a sample into the exact Converse request sent to the judge.

The judged text is data, not instructions, and it is shown so by construction
(``judge/spotlight.py``, ``[judge] spotlight``): by default every line of sample text begins
with a marker keyed by the request's secret key (an HMAC of the sample under a secret the
policy never sees), so no line the judge reads begins with text the sample chose; or the text
is one JSON string; and it sits between tags that carry the key, which the sample cannot
write. A second, shorter layer removes what may still act on a model wherever it stands
(other models' chat-template tokens, tags naming the template's own blocks, invisible tag
characters), shown as ``[tag removed]``. With spotlighting off, the whole removal list of
earlier versions applies (line-start role labels and headings too). The system prompt is
static (no key, no sample), so it can be cached.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judge.config import JudgeSettings
from judge.errors import SourceError
from judge.label import Answer
from judge.rubric import Rubric
from judge.spotlight import mark_of, present
from judge.text import view

if TYPE_CHECKING:
    import jinja2

SYSTEM_TEMPLATE = "system.j2"
COMBINED_TEMPLATE = "system_combined.j2"
CHECKLIST_TEMPLATE = "checklist.j2"
USER_TEMPLATE = "user.j2"
GROUP_TEMPLATE = "group.j2"  # system and user part of a group request (``part``)
TEMPLATES = (SYSTEM_TEMPLATE, COMBINED_TEMPLATE, CHECKLIST_TEMPLATE, USER_TEMPLATE)
Kind = str  # a request kind's name (``judge.kinds``: pointwise, combined, checklist, ...)
TOOL_NAME = "submit_verdict"
REMOVED = "[tag removed]"
_STATIC_CACHE_SIZE = 256
KNOWN_ROLES = ("system", "user", "assistant", "tool")

# What a judge model may read as structure, matched on the normalised view (lower case,
# entities decoded, brackets and letters folded). Each alternative starts with a literal and
# has one bounded run, so the scan is linear. Tag names include any suffix (a guessed key).
# _legacy() is the whole list of earlier versions, in force with spotlighting off; _TOKENS is
# the part spotlighting does not make unnecessary (see ``fence``).
_NAMES = (
    r"(?:conversation|resp|re?s?pon|reference|example|verdict|system|user|assistant|human"
    r"|instruction|im_start|im_end|turn|start_of_turn|end_of_turn|eos|bos)"
)
_ROLES = (
    r"(?:human|assistant|system(?: message| prompt| note)?|user|developer|judge|grader|evaluator"
    r"|admin|model|ai|bot|instructions?|(?:note from the )?(?:evaluation )?operator)(?![a-z0-9])"
)


@cache
def _legacy() -> re.Pattern[str]:
    """The whole removal list of earlier versions, compiled on first use.

    Only spotlight "off" and templates written before spotlighting need it, and compiling it
    is a measurable part of a cold start.
    """
    return re.compile(
        # <tag ...>, </tag>, < / tag >, </ai_response>, </reponse>, in any spelling the view folds.
        # Each alternative starts with a literal, and each unbounded run stops at the next "<".
        r"<[\s/\\]*[\w.:-]{0,20}?" + _NAMES + r"(?:[^<>]{0,80}>)?"
        # chat-template tokens, closed or not: <|im_end|>, <|eot_id>, <|endoftext
        r"|<\|[^<>\n]{0,40}"
        r"|<[ \t]{0,4}/[ \t]{0,4}(?:-[\w-]{0,40})?[ \t]{0,4}>"  # </>, </-KEY>: a closing tag
        # other models' special tokens
        r"|\[(?:system_prompt|available_tools|tool_calls|tool_results|eos|bos|sep|cls|eot)\]"
        r"|<(?:eot|eos|bos|sep|cls|pad|unk)>"
        r"|<(?:extra_id_|unused)\d{1,4}>"  # T5 sentinels, Gemma's unused tokens
        # a closing tag opened by any other bracket or symbol: [/response], {/response}, ]/response>
        r"|[^\w\s/<][ \t]{0,8}/[\s/]{0,8}[\w-]{0,20}?" + _NAMES + r"[^<>\n]{0,40}"
        r"|\[\s{0,3}/?\s{0,3}inst\s{0,3}\]"  # [INST] [/INST]
        r"|end\s{1,3}of\s{1,3}(?:the\s{1,3})?(?:response|conversation|turn)(?![a-z])"
        r"|<<\s{0,3}/?\s{0,3}sys\s{0,3}>>"  # <<SYS>>
        r"|</?s>"  # sentence-piece BOS/EOS
        r"|(?:start|end)_of_turn"  # Gemma's turn tokens, even without brackets
        # a turn label or prompt-format heading at the start of a line: "Human:", "> **User**:",
        # "[Judge]", "=== System ===", "### Response", after any line break a model honours
        r"|(?:^|[\n\r\x0b\x0c\x85\u2028\u2029])[>*_\-\d.@\"'`(\[|= \t]{0,10}"
        + _ROLES
        + r"(?:[*_\"'`)\]|= \t]|\[tag removed\]){0,6}(?::|>|-|—|\]|=|\||says\b|\n[ \t]{0,4}:)"
        r"|(?:^|[\n\r\x0b\x0c\x85\u2028\u2029])[ \t]{0,8}#{1,6}[ \t]{0,3}(?:response|instruction"
        r"|input|" + _ROLES[3:]
    )


# The template's own block names (misspelt, namespaced or prefixed: </ai_response>, </reponse>)
# and the names a judge prompt commonly gives its parts (</example>, </verdict>).
_BLOCKS = r"(?:conversation|resp|re?s?pon|reference|example|verdict)"
_TOKENS = re.compile(
    r"<[\s/\\]*[\w.:-]{0,20}?" + _BLOCKS + r"(?:[^<>]{0,80}>)?"  # a tag of the template's
    r"|<[\s/\\]*(?:im_start|im_end|start_of_turn|end_of_turn)[^<>\n]{0,40}>?"
    r"|<\|[^<>\n]{0,40}>?"  # chat-template tokens, closed or not: <|im_end|>, <|eot_id>
    r"|<[ \t]{0,4}/[ \t]{0,4}-[\w-]{1,40}[ \t]{0,4}>"  # </-KEY>: a closing keyed tag
    r"|\[(?:system_prompt|available_tools|tool_calls|tool_results|eos|bos|sep|cls|eot)\]"
    r"|<(?:eot|eos|bos|sep|cls|pad|unk)>"
    r"|<(?:extra_id_|unused)\d{1,4}>"  # T5 sentinels, Gemma's unused tokens
    # a closing tag opened by a bracket: [/response], {/response}, ]/response> (not a URL or
    # a path: https://example.com, ./responses/)
    r"|[\[\]{}()|>\"'`][ \t]{0,8}/[\s/]{0,8}[\w-]{0,20}?" + _BLOCKS + r"[^<>\n]{0,40}"
    r"|\[\s{0,3}/?\s{0,3}inst\s{0,3}\]"  # [INST] [/INST]
    r"|<<\s{0,3}/?\s{0,3}sys\s{0,3}>>"  # <<SYS>>
    r"|</?s>"  # sentence-piece BOS/EOS
    r"|(?:start|end)_of_turn"  # Gemma's turn tokens, even without brackets
)
# A comment inside a tag's name ("</res<!---->ponse>", "</respo/**/nse>"): a model may read
# the name across it. Removed only when the name it splits then reads as structure.
_SPLIT_COMMENT = re.compile(r"(?<=[\w/<])(?:<!--[^<>]{0,60}?-->|/\*[^<>*]{0,60}\*/)(?=[\w/>])")
# Unicode tag characters spell ASCII invisibly ("ASCII smuggling"); some models read them.
# Judged text loses them all, before anything else.
_TAG_CHARACTERS = re.compile("[\U000e0000-\U000e007f]")


def structure_spans(text: str, labels: bool = False) -> list[tuple[int, int]]:
    """Spans of ``text`` that a model may read as a tag or chat-template token.

    ``labels``: also turn labels and prompt headings at line starts, and other tag names (the
    whole list of earlier versions, for text shown without spotlighting).
    """
    v = view(text)
    pattern = _legacy() if labels else _TOKENS
    return [v.span(m.start(), m.end()) for m in pattern.finditer(v.text)]


def fence(text: object, labels: bool = False) -> str:
    """Judged text with every tag-like span removed (the layer under spotlighting).

    Adjacent spans become one marker (so a run of ``<|<|<|`` cannot multiply the text's
    length), and the removal repeats until nothing reads as structure: taking out one tag
    can join its neighbours into another (``</s>/response`` leaves ``]/response``).
    ``labels``: the whole list of earlier versions, for text shown without spotlighting.
    """
    out = _join_split_names(_TAG_CHARACTERS.sub("", str(text)), labels)
    for marker in (REMOVED,) * _FENCE_PASSES + ("",) * _FENCE_PASSES:
        spans = structure_spans(out, labels)
        if not spans:
            return out
        out = _replace_spans(out, spans, marker)
    return out  # unreachable in practice: each empty-marker pass only shortens the text


def _join_split_names(text: str, labels: bool) -> str:
    """``text`` without the comments that split a tag's name, if the joined name is one."""
    v = view(text)
    spans = [v.span(m.start(), m.end()) for m in _SPLIT_COMMENT.finditer(v.text)]
    if not spans:
        return text
    parts: list[str] = []
    joins: list[int] = []
    pos = length = 0
    for a, b in spans:
        if a < pos:
            continue
        parts.append(text[pos:a])
        length += a - pos
        joins.append(length)
        pos = b
    parts.append(text[pos:])
    joined = "".join(parts)
    found = structure_spans(joined, labels)
    return joined if any(a < j < b for a, b in found for j in joins) else text


def legacy_fence(text: object) -> str:
    """The whole removal list (a jinja2 filter for templates that do not spotlight)."""
    return fence(text, labels=True)


# Passes with the marker, then (should structure persist) passes that delete the spans.
_FENCE_PASSES = 4


def _replace_spans(text: str, spans: list[tuple[int, int]], marker: str) -> str:
    """``text`` with each run of adjacent ``spans`` replaced by one ``marker``."""
    out: list[str] = []
    pos = 0
    for a, b in spans:
        if a > pos or not out:  # a new run (adjacent spans extend the previous one)
            out.append(text[pos:a])
            out.append(marker)
        pos = max(pos, b)
    out.append(text[pos:])
    return "".join(out)


def shown(text: object, mode: str, key: str, name: str, label: bool = False) -> str:
    """Sample text as the judge reads it in block ``name``: fenced, then spotlighted."""
    return present(fence(text, labels=mode == "off"), mode, key, name, label)


# A key's length, for sizes measured before a request (and its key) exists.
_KEY_CHARS = 16


def judged_size(text: str, mode: str) -> int:
    """How many characters of ``text`` the judge reads (markers and removal marks included).

    A response of many short lines grows by a marker a line; the guard's ``max_chars`` and
    the group split bound this size, not the raw one, so no response grows past the limit
    on its way to the judge.
    """
    return len(shown(text, mode, "0" * _KEY_CHARS, "r10"))


def _spotlight_filter(
    context: jinja2.runtime.Context, text: object, name: str, label: bool = False
) -> str:
    """``{{ text | spotlight("resp") }}``: the request's key and mode come from the context.

    Registered with ``jinja2.pass_context`` when the environment is built.
    """
    return shown(text, str(context["spotlight"]), str(context["key"]), name, label)


def role_label(role: object) -> str:
    """A dataset role as the judge sees it: a known role, else ``other`` (roles are data)."""
    name = view(str(role)).text.strip()
    return name if name in KNOWN_ROLES else "other"


@dataclass(frozen=True)
class Turn:
    """One conversation turn as the judge sees it."""

    role: str
    text: str


@dataclass(frozen=True)
class JudgeInput:
    """What one judgement is about: the conversation, the response and any reference."""

    conversation: tuple[Turn, ...]
    response: str
    reference: str | None = None


def fence_key(secret: bytes, item: JudgeInput) -> str:
    """The request's delimiter key: an HMAC of the sample under the secret.

    A policy cannot predict it, and the same sample still renders the same request, so the
    verdict cache keeps hitting.
    """
    material = json.dumps(
        [[t.role, t.text] for t in item.conversation] + [item.response, item.reference],
        ensure_ascii=True,
    )
    return hmac.new(secret, material.encode("ascii"), hashlib.sha256).hexdigest()[:16]


def _loader(directory: Path, sources: dict[str, bytes]) -> jinja2.BaseLoader:
    """Serves the bytes read at start-up for the hashed templates, other files from disk."""
    import jinja2

    class Loader(jinja2.FileSystemLoader):
        def get_source(
            self, environment: jinja2.Environment, template: str
        ) -> tuple[str, str, Callable[[], bool]]:
            if template in sources:
                return sources[template].decode("utf-8"), str(directory / template), _fresh
            return super().get_source(environment, template)

    return Loader(str(directory))


def _fresh() -> bool:
    """A served template is never reloaded: it is the one that was hashed."""
    return True


class Templates:
    """The prompt templates of one folder: read and hashed once, each compiled on first use.

    The templates' bytes are read (and hashed) here; compiling waits for the first request
    of a kind, so a cold start pays neither jinja2 nor a template that kind of request never
    uses, and what is compiled is exactly what was hashed. A missing ``system.j2`` or
    ``user.j2`` is an error here; a template's syntax error is one when it is first rendered
    (``judge lint`` renders every template).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        for name in (SYSTEM_TEMPLATE, USER_TEMPLATE):
            if not (directory / name).is_file():
                raise SourceError(
                    directory / name, "template not found", fix=f"create it in {directory}"
                )
        self._sources = {
            name: (directory / name).read_bytes()
            for name in (*TEMPLATES, GROUP_TEMPLATE)
            if (directory / name).is_file()
        }
        # Only combined mode, checklists and group mode need these; a prompts folder from
        # before they existed still works for everything else.
        self.optional = frozenset(
            n for n in (COMBINED_TEMPLATE, CHECKLIST_TEMPLATE, GROUP_TEMPLATE) if n in self._sources
        )
        self._compiled: dict[str, jinja2.Template] = {}
        digest = hashlib.sha256()
        for name in TEMPLATES:
            digest.update(self._sources.get(name, b""))
        self.template_hash = digest.hexdigest()

    @cached_property
    def env(self) -> jinja2.Environment:
        """The jinja2 environment, built (and jinja2 imported) on the first render."""
        import jinja2

        env = jinja2.Environment(
            loader=_loader(self.directory, self._sources),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=False,
        )
        env.filters["spotlight"] = jinja2.pass_context(_spotlight_filter)
        env.filters["line_mark"] = mark_of
        env.filters["fence"] = legacy_fence  # templates written before spotlighting
        env.filters["role"] = role_label
        return env

    def get(self, name: str) -> jinja2.Template:
        """A template, compiled once; a syntax error names the file, the line and the fix."""
        if (done := self._compiled.get(name)) is not None:
            return done
        import jinja2

        try:
            template = self._compiled[name] = self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise SourceError(
                exc.filename or self.directory,
                exc.message or "syntax error",
                line=exc.lineno,
                fix="correct the jinja2 syntax",
            ) from None
        except jinja2.TemplateNotFound as exc:
            raise SourceError(
                self.directory / str(exc.name),
                "template not found",
                fix=f"create it in {self.directory}",
            ) from None
        return template

    def source(self, name: str) -> bytes | None:
        """A template's bytes (read once: what is compiled is what was hashed), None if absent."""
        if name not in self._sources and (self.directory / name).is_file():
            self._sources[name] = (self.directory / name).read_bytes()
        return self._sources.get(name)

    def hash_with(self, names: Sequence[str]) -> str:
        """The hash of the shared templates plus ``names`` (a request kind's own templates).

        A kind with templates of its own (group, pairwise) also depends on them; the others
        do not (editing ``group.j2`` must not invalidate every pointwise verdict and map).
        """
        if not names:
            return self.template_hash
        extra = b"".join(self.source(n) or b"" for n in names)
        return hashlib.sha256(self.template_hash.encode() + extra).hexdigest()

    def get_optional(self, name: str, needed_by: str) -> jinja2.Template:
        """An optional template, or a clear error naming what needs it."""
        if self.source(name) is None:
            raise SourceError(
                self.directory / name,
                f"template not found ({needed_by} need it)",
                fix=f"copy prompts/{name} from the project",
            )
        return self.get(name)

    def render(self, template: jinja2.Template, values: dict[str, Any]) -> str:
        """``template`` rendered; a value it lacks names the file and what it may use."""
        try:
            return template.render(values)
        except Exception as exc:
            import jinja2  # loaded already: ``template`` is one of its templates

            if not isinstance(exc, jinja2.UndefinedError):
                raise
            raise SourceError(
                self.directory / (template.name or ""),
                f"template uses an undefined value ({exc.message})",
                fix=_GROUP_VALUES if template.name == GROUP_TEMPLATE else _VALUES,
            ) from None


class PromptRenderer:
    """Renders judge requests (every kind) from a folder's ``Templates``."""

    def __init__(self, directory: Path, secret: bytes = b"") -> None:
        self.templates = Templates(directory)
        self.directory = directory
        self.secret = secret
        self.optional = self.templates.optional
        self.template_hash = self.templates.template_hash
        # The system prompt and tool schema depend on the rubrics and settings only: rendered
        # once each, not per sample (they are also the cacheable prefix of every request).
        self._static: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}
        # (the key: rubric hashes, verdict mode, spotlight, then the kind or g<N> for a group)

    @property
    def env(self) -> jinja2.Environment:
        """The templates' jinja2 environment (for templates outside the five: pairwise...)."""
        return self.templates.env

    @property
    def system(self) -> jinja2.Template:
        """``system.j2``: the system prompt of a one-rubric request."""
        return self.templates.get(SYSTEM_TEMPLATE)

    @property
    def user(self) -> jinja2.Template:
        """``user.j2``: the user turn of every pointwise request."""
        return self.templates.get(USER_TEMPLATE)

    def key(self, item: JudgeInput) -> str:
        """The delimiter (and text-verdict) key of ``item``'s requests."""
        return fence_key(self.secret, item)

    def hash_for(self, kind: str) -> str:
        """The hash of the templates a ``kind`` request is rendered from (``judge.kinds``).

        A mode names its kind: ``pointwise`` (one rubric or several), ``group``.
        """
        from judge.kinds import kind as kind_named  # the kinds render with this module

        return self.templates.hash_with(kind_named(kind).templates)

    def group_key(self, context: JudgeInput, responses: Sequence[str]) -> str:
        """The delimiter key of a request about several responses: over each, in this order."""
        return fence_key(self.secret, replace(context, response=json.dumps(list(responses))))

    def system_values(self, rubrics: Sequence[Answer], settings: JudgeSettings) -> dict[str, Any]:
        """What a system template sees: the same for every sample (so it renders once)."""
        return {
            "rubric": rubrics[0],
            "rubrics": rubrics,
            "verdict_mode": settings.verdict_mode,
            "spotlight": settings.spotlight,
            "tool_name": TOOL_NAME,
        }

    @staticmethod
    def mode_of(settings: JudgeSettings) -> tuple[str, str]:
        """The settings a request's static part depends on besides its rubrics and kind."""
        return settings.verdict_mode, settings.spotlight

    def static(
        self, key: tuple[Any, ...], build: Callable[[], tuple[str, dict[str, Any]]]
    ) -> tuple[str, dict[str, Any]]:
        """A request's system prompt and tool, built once per ``key`` (rubrics, mode, kind).

        They depend on no sample: built once each, not per sample (they are also the
        cacheable prefix of every request).
        """
        if (hit := self._static.get(key)) is not None:
            return hit
        if len(self._static) >= _STATIC_CACHE_SIZE:  # per-sample rubrics are all different
            self._static.clear()
        built = self._static[key] = build()
        return built

    def render(self, rubric: Rubric, item: JudgeInput, settings: JudgeSettings) -> dict[str, Any]:
        """The Converse request (without ``modelId``) for one rubric and one input."""
        return self.render_many((rubric,), item, settings)

    def render_many(
        self,
        rubrics: Sequence[Answer],
        item: JudgeInput,
        settings: JudgeSettings,
        kind: str | None = None,
    ) -> dict[str, Any]:
        """The request judging ``item`` on every one of ``rubrics`` in one call.

        ``kind``: a ``judge.kinds`` name (``single`` is ``pointwise``); by default pointwise
        for one rubric, combined for several.
        """
        from judge.kinds import Ask
        from judge.kinds import kind as kind_named

        name = kind or ("pointwise" if len(rubrics) == 1 else "combined")
        ask = Ask(tuple(rubrics), item)
        return (
            kind_named("pointwise" if name == "single" else name)
            .render(self, ask, settings)
            .request
        )

    def render_group(
        self,
        rubric: Rubric,
        context: JudgeInput,
        responses: Sequence[str],
        labels: Sequence[Answer],
        settings: JudgeSettings,
    ) -> dict[str, Any]:
        """The request grading ``responses`` (to ``context``'s conversation) in one call.

        ``labels`` (``judge.group.answer_labels``) are made by the group kind itself.
        """
        from judge.kinds import Ask
        from judge.kinds import kind as kind_named

        ask = Ask((rubric,), context, tuple(str(r) for r in responses))
        return kind_named("group").render(self, ask, settings).request

    def assemble(
        self,
        system: str,
        user: str,
        tool: dict[str, Any],
        settings: JudgeSettings,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        """A Converse request (without ``modelId``) from its rendered parts.

        Every request kind (single, combined, checklist, group, pairwise) is assembled here,
        so they share inference settings, the forced tool and the prompt-cache point.
        """
        request: dict[str, Any] = {
            "system": [{"text": system}],
            "messages": [{"role": "user", "content": [{"text": user}]}],
            "inferenceConfig": settings.inference_config(),
            # Lets invocation logs be filtered by rubric.
            "requestMetadata": metadata,
        }
        if fields := settings.request_fields():
            request["additionalModelRequestFields"] = fields
        if settings.verdict_mode == "tool":
            request["toolConfig"] = {
                "tools": [{"toolSpec": tool}],
                "toolChoice": {"tool": {"name": TOOL_NAME}},
            }
        if settings.prompt_cache:  # only where the prefix reaches the model's minimum
            from judge.prompt_cache import add_cache_point  # its table: only when configured

            add_cache_point(request, settings.model_id)
        return request


_VALUES = (
    "system templates see only rubric, rubrics, verdict_mode, spotlight and tool_name (they are "
    "the same for every sample); user.j2 also sees key, conversation, response and reference"
)
_GROUP_VALUES = (
    'group.j2\'s system part (part == "system") sees only rubric, verdict_mode, spotlight and '
    "tool_name; its user part sees part, key, rubric, conversation, reference, responses, "
    "verdict_mode and spotlight"
)


def combined_tool_spec(
    rubrics: Sequence[Answer],
    description: str = "Record the verdict on each quality for the response.",
) -> dict[str, Any]:
    """The forced tool for several rubrics (or responses): per name, reasoning then a score."""
    return forced_tool(
        description, {r.name: verdict_tool_spec(r)["inputSchema"]["json"] for r in rubrics}
    )


def verdict_tool_spec(rubric: Answer) -> dict[str, Any]:
    """The forced tool whose input schema is the verdict: reasoning first, then the score."""
    return reasoned_tool(
        f"Record the {rubric.title} verdict for the response.",
        "Evidence from the response, written before the score.",
        "score",
        {
            "type": "integer",
            "enum": list(rubric.scores),
            "description": f"{rubric.title}, {rubric.scale_min} to {rubric.scale_max}.",
        },
    )


def reasoned_tool(
    description: str, reasoning: str, field: str, schema: dict[str, Any]
) -> dict[str, Any]:
    """A forced tool whose input is a ``reasoning`` string, then ``field`` (its JSON schema).

    The reasoning comes first so the model writes its evidence before committing to an answer.
    """
    return forced_tool(
        description, {"reasoning": {"type": "string", "description": reasoning}, field: schema}
    )


def forced_tool(description: str, properties: dict[str, Any]) -> dict[str, Any]:
    """The ``submit_verdict`` tool spec: an object of exactly these (required) properties."""
    return {
        "name": TOOL_NAME,
        "description": description,
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": properties,
                "required": list(properties),
                "additionalProperties": False,
            }
        },
    }
