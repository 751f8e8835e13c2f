"""Parse markdown rubrics: YAML front matter plus Definition, Scale and Examples sections.

A rubric is data a user edits, so every way it can be wrong is reported with the file,
the line and the section, and what to write instead.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.errors import SourceError, read_text
from judge.frontmatter import FrontMatterError, safe_load

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_DECIMAL = re.compile(r"^-?\d+[.,]\d")  # "### 3.5" is not level 3 with label "5"
_LEVEL_HEADING = re.compile(r"^(-?\d+)\s*(?:[-–—:.]\s*(.*))?$")
_EXAMPLE_SCORE = re.compile(r"score\s*[:=]?\s*(-?\d+)\s*\)?\s*$", re.IGNORECASE)
_FIELD = re.compile(
    r"^\s*\*{0,2}(prompt|response|why|reference)\*{0,2}\s*:\s*\*{0,2}\s?(.*)$", re.I
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED_SECTIONS = ("Definition", "Scale", "Examples")
REFERENCE_USES = ("required", "optional", "ignore")
FRONT_MATTER_KEYS = ("name", "title", "scale", "reference")


@dataclass(frozen=True)
class Level:
    """One point of the scale and what it means."""

    score: int
    label: str
    description: str


@dataclass(frozen=True)
class Example:
    """A scored example shown to the judge (few-shot anchoring)."""

    score: int
    prompt: str
    response: str
    why: str
    reference: str = ""


@dataclass(frozen=True)
class Section:
    """A free-form section (e.g. a brand voice guide) passed to the judge verbatim."""

    title: str
    body: str


@dataclass(frozen=True)
class Rubric:
    """A parsed rubric; ``content_hash`` identifies the exact file content."""

    name: str
    title: str
    path: Path
    scale_min: int
    scale_max: int
    definition: str
    levels: tuple[Level, ...]
    examples: tuple[Example, ...]
    sections: tuple[Section, ...] = field(default=())
    content_hash: str = ""
    # Whether the judge needs the dataset's reference answer: "required" leaves the rubric
    # unscored without one (never judged blind), "ignore" keeps it out of the prompt.
    reference: str = "optional"

    @property
    def scores(self) -> list[int]:
        """Every valid score, lowest first."""
        return list(range(self.scale_min, self.scale_max + 1))


@dataclass
class _RawSection:
    title: str
    line: int
    lines: list[tuple[int, str]]


def load_rubric(path: Path) -> Rubric:
    """Read and validate one rubric file."""
    return parse_rubric(read_text(path, "rubric"), path)


def load_rubrics(directory: Path, names: list[str] | None = None) -> dict[str, Rubric]:
    """Load the named rubrics (or every ``*.md`` in ``directory``), keyed by name."""
    if names is None:
        paths = sorted(p for p in directory.glob("*.md") if p.name.lower() != "readme.md")
    else:
        paths = [directory / f"{n}.md" for n in names]
    out: dict[str, Rubric] = {}
    for p in paths:
        if not p.is_file():
            raise SourceError(p, "rubric file not found", fix=f"create {p.name} in {directory}")
        rubric = load_rubric(p)
        out[rubric.name] = rubric
    return out


def parse_rubric(text: str, path: Path, *, name_as: str | None = None) -> Rubric:
    """Parse rubric ``text``; ``path`` is used for messages and to check the name.

    ``name_as`` names a rubric that has no file (a sample's own), whatever its front matter.
    """
    meta, body_start = _front_matter(text, path)
    head = text.splitlines()[:body_start]

    def line(key: str) -> int:
        return _meta_line(head, key)

    _no_key_typos(meta, path, line)
    if name_as is not None:
        meta = {**meta, "name": name_as}
        path = path.with_name(f"{name_as}.md")
    name = _name(meta, path, line)
    lo, hi = _scale(meta, path, line("scale"))
    title, reference = _title_and_reference(meta, name, path, line)
    body = text.splitlines()[body_start:]
    definition, levels, examples, extra = _body(body, body_start, path, lo, hi)
    return Rubric(
        name=name,
        title=title,
        path=path,
        scale_min=lo,
        scale_max=hi,
        definition=definition,
        levels=levels,
        examples=examples,
        sections=extra,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        reference=reference,
    )


def _no_key_typos(meta: dict[str, Any], path: Path, line: Callable[[str], int]) -> None:
    """A near-miss of a front matter key this parser reads is an error.

    Other keys (version, brand...) are the author's notes; a typo of a known one would
    silently change how the rubric is judged.
    """
    for key in meta:
        close = difflib.get_close_matches(str(key), FRONT_MATTER_KEYS, n=1, cutoff=0.75)
        if key not in FRONT_MATTER_KEYS and close:
            raise SourceError(
                path,
                f"unknown front matter key {key!r}",
                line=line(str(key)),
                place="front matter",
                fix=f"did you mean '{close[0]}'?",
            )


def _name(meta: dict[str, Any], path: Path, line: Callable[[str], int]) -> str:
    """The rubric's name: a lowercase identifier, the file's own name."""
    name = meta.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SourceError(
            path,
            f"front matter 'name' is {name!r}",
            line=line("name"),
            place="front matter",
            fix="set 'name:' to a lowercase identifier such as 'tone'",
        )
    if name != path.stem:
        raise SourceError(
            path,
            f"front matter name {name!r} differs from the file name",
            line=line("name"),
            place="front matter",
            fix=f"rename the file to {name}.md or set 'name: {path.stem}'",
        )
    return name


def _title_and_reference(
    meta: dict[str, Any], name: str, path: Path, line: Callable[[str], int]
) -> tuple[str, str]:
    """The title (default: from the name) and how the rubric uses the reference answer."""
    title = meta.get("title", name.replace("_", " ").title())
    if not isinstance(title, str):
        raise SourceError(
            path,
            "'title' is not text",
            line=line("title"),
            place="front matter",
            fix="write 'title: Some Title'",
        )
    reference = meta.get("reference", "optional")
    if reference not in REFERENCE_USES:
        close = difflib.get_close_matches(str(reference), REFERENCE_USES, n=1)
        raise SourceError(
            path,
            f"front matter 'reference' is {reference!r}",
            line=line("reference"),
            place="front matter",
            fix=(f"did you mean '{close[0]}'? " if close else "")
            + "write 'reference: required', 'optional' or 'ignore'",
        )
    return title, str(reference)


def _body(
    body: list[str], body_start: int, path: Path, lo: int, hi: int
) -> tuple[str, tuple[Level, ...], tuple[Example, ...], tuple[Section, ...]]:
    """The definition, levels, examples and other sections of the markdown body."""
    sections = _sections(body, body_start, path)
    _no_near_misses(sections, path)
    by_title = {s.title.lower(): s for s in sections}
    for required in _REQUIRED_SECTIONS:
        if required.lower() not in by_title:
            raise _missing_section(required, body, body_start, path)
    definition = _text(by_title["definition"].lines)
    if not definition:
        raise SourceError(
            path,
            "the Definition section is empty",
            line=by_title["definition"].line,
            place="## Definition",
            fix="describe what the quality means",
        )
    levels = _levels(by_title["scale"], lo, hi, path)
    examples = _examples(by_title["examples"], lo, hi, path)
    extra = tuple(
        Section(s.title, _text(s.lines))
        for s in sections
        if s.title.lower() not in {r.lower() for r in _REQUIRED_SECTIONS} and _text(s.lines)
    )
    return definition, levels, examples, extra


_SECTION_HELP = {
    "Definition": "what the quality means",
    "Scale": "one '### N' heading with a description per score level",
    "Examples": "'### Example (score N)' headings with Prompt:, Response: and Why: fields",
}


def _meta_line(head: list[str], key: str) -> int:
    """The line of ``key:`` in the front matter (``head``), else 1 (the front matter)."""
    pattern = re.compile(rf"^\s*['\"]?{re.escape(key)}['\"]?\s*:")
    return next((i for i, text in enumerate(head, start=1) if pattern.match(text)), 1)


def _no_near_misses(sections: list[_RawSection], path: Path) -> None:
    """A '##' heading one typo away from a section the parser reads is an error, not prose.

    Other sections are passed to the judge verbatim, so '## Scael' would otherwise be judged
    as free text and the error would only say that '## Scale' is missing.
    """
    known = {r.lower(): r for r in _REQUIRED_SECTIONS}
    for s in sections:
        if s.title.lower() in known:
            continue
        close = difflib.get_close_matches(s.title.lower(), list(known), n=1, cutoff=0.75)
        if close:
            right = known[close[0]]
            raise SourceError(
                path,
                f"unknown section '{s.title}'",
                line=s.line,
                place=f"## {s.title}",
                fix=f"did you mean '{right}'? write '## {right}'",
            )


def _missing_section(required: str, body: list[str], offset: int, path: Path) -> SourceError:
    """No '## required': point at a heading of another level that names it, if one does."""
    help_text = f"add a '## {required}' section ({_SECTION_HELP[required]})"
    for number, level, title in _headings(body, offset):
        if level != 2 and title.lower() == required.lower():
            return SourceError(
                path,
                f"'{'#' * level} {title}' is a level-{level} heading, so there is no "
                f"'## {required}' section",
                line=number,
                place=f"## {required}",
                fix=f"write '## {required}' (two #)",
            )
    return SourceError(path, f"no '## {required}' section", place=f"## {required}", fix=help_text)


def _headings(lines: list[str], offset: int) -> list[tuple[int, int, str]]:
    """(line, level, title) of every markdown heading outside fenced code."""
    out: list[tuple[int, int, str]] = []
    in_fence = False
    for number, text in enumerate(lines, start=offset + 1):
        if _FENCE.match(text):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(text)
        if m:
            out.append((number, len(m.group(1)), m.group(2)))
    return out


def _front_matter(text: str, path: Path) -> tuple[dict[str, Any], int]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise SourceError(
            path,
            "no YAML front matter",
            line=1,
            place="front matter",
            fix="start the file with '---', 'name: ...', 'scale: {min: 1, max: 5}', '---'",
        )
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise SourceError(
            path,
            "front matter is not closed",
            line=1,
            place="front matter",
            fix="add a line '---' after the front matter",
        ) from None
    try:
        meta = safe_load("\n".join(lines[1:end])) or {}
    except FrontMatterError as exc:
        raise SourceError(
            path,
            f"front matter is not valid YAML ({exc.problem})",
            line=exc.line + 2 if exc.line is not None else 1,
            place="front matter",
            fix="correct the YAML syntax",
        ) from None
    if not isinstance(meta, dict):
        raise SourceError(
            path,
            "front matter is not a mapping",
            line=2,
            place="front matter",
            fix="write 'key: value' lines",
        )
    return meta, end + 1


def _scale(meta: dict[str, Any], path: Path, line: int) -> tuple[int, int]:
    scale = meta.get("scale")
    fix = "write 'scale: {min: 1, max: 5}' with integer bounds, min < max, at most 11 levels"
    if not isinstance(scale, dict):
        raise SourceError(
            path, "front matter has no 'scale' mapping", line=line, place="front matter", fix=fix
        )
    lo, hi = scale.get("min"), scale.get("max")
    if (
        not isinstance(lo, int)
        or not isinstance(hi, int)
        or isinstance(lo, bool)
        or isinstance(hi, bool)
        or lo >= hi
        or hi - lo > 10
    ):
        raise SourceError(
            path, f"invalid scale min={lo!r} max={hi!r}", line=line, place="front matter", fix=fix
        )
    return lo, hi


def _sections(lines: list[str], offset: int, path: Path) -> list[_RawSection]:
    """Split the body on '## ' headings, ignoring headings inside fenced code."""
    out: list[_RawSection] = []
    in_fence = False
    for i, line in enumerate(lines, start=offset + 1):
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line)
        if m and len(m.group(1)) == 2:
            out.append(_RawSection(m.group(2), i, []))
        elif out:
            out[-1].lines.append((i, line))
    titles = [s.title.lower() for s in out]
    for s in out:
        if titles.count(s.title.lower()) > 1:
            raise SourceError(
                path,
                f"section '## {s.title}' appears twice",
                line=s.line,
                place=f"## {s.title}",
                fix="merge the two sections",
            )
    return out


def _subsections(section: _RawSection) -> list[_RawSection]:
    out: list[_RawSection] = []
    for i, line in section.lines:
        m = _HEADING.match(line)
        if m and len(m.group(1)) == 3:
            out.append(_RawSection(m.group(2), i, []))
        elif out:
            out[-1].lines.append((i, line))
    return out


def _text(lines: list[tuple[int, str]]) -> str:
    return "\n".join(line for _, line in lines).strip()


def _levels(section: _RawSection, lo: int, hi: int, path: Path) -> tuple[Level, ...]:
    found: dict[int, Level] = {}
    for sub in _subsections(section):
        m = None if _DECIMAL.match(sub.title) else _LEVEL_HEADING.match(sub.title)
        if not m:
            raise SourceError(
                path,
                f"scale heading '### {sub.title}' does not start with a score",
                line=sub.line,
                place="## Scale",
                fix="write '### N - Short label' with N an integer on the scale",
            )
        score = int(m.group(1))
        if not lo <= score <= hi:
            raise SourceError(
                path,
                f"level {score} is outside the scale {lo}..{hi}",
                line=sub.line,
                place="## Scale",
                fix=f"use levels {lo}..{hi} or widen 'scale'",
            )
        if score in found:
            raise SourceError(
                path,
                f"level {score} is described twice",
                line=sub.line,
                place="## Scale",
                fix=f"keep one '### {score}' heading",
            )
        desc = _text(sub.lines)
        if not desc:
            raise SourceError(
                path,
                f"level {score} has no description",
                line=sub.line,
                place="## Scale",
                fix=f"describe what a {score} looks like",
            )
        found[score] = Level(score, (m.group(2) or "").strip(), desc)
    missing = [s for s in range(lo, hi + 1) if s not in found]
    if missing:
        raise SourceError(
            path,
            f"levels {missing} have no description",
            line=section.line,
            place="## Scale",
            fix="add a '### N - label' heading and description for each of them",
        )
    return tuple(found[s] for s in range(lo, hi + 1))


_LABEL = re.compile(r"^\s*\*{0,2}([A-Za-z][\w ]{0,20}?)\*{0,2}\s*:")


def _no_misspelt_field(sub: _RawSection, required: str, path: Path) -> None:
    """An example field that is missing because its label is misspelt ('**Promt:**')."""
    for number, text in sub.lines:
        m = _LABEL.match(text)
        label = m.group(1).strip() if m else ""
        near = difflib.get_close_matches(label.lower(), [required], n=1, cutoff=0.75)
        if near and label.lower() != required:
            raise SourceError(
                path,
                f"unknown field '{label}:' in example '{sub.title}'",
                line=number,
                place="## Examples",
                fix=f"did you mean '{required.title()}:'? write '**{required.title()}:** ...'",
            )


def _examples(section: _RawSection, lo: int, hi: int, path: Path) -> tuple[Example, ...]:
    out: list[Example] = []
    for sub in _subsections(section):
        m = _EXAMPLE_SCORE.search(sub.title)
        if not m:
            raise SourceError(
                path,
                f"example heading '### {sub.title}' has no score",
                line=sub.line,
                place="## Examples",
                fix="end the heading with '(score N)'",
            )
        score = int(m.group(1))
        if not lo <= score <= hi:
            raise SourceError(
                path,
                f"example score {score} is outside the scale {lo}..{hi}",
                line=sub.line,
                place="## Examples",
                fix="use a score on the scale",
            )
        fields: dict[str, list[str]] = {}
        current: str | None = None
        for _, line in sub.lines:
            fm = _FIELD.match(line)
            if fm:
                current = fm.group(1).lower()
                fields[current] = [fm.group(2)]
            elif current is not None:
                fields[current].append(line)
        values = {k: "\n".join(v).strip() for k, v in fields.items()}
        for required in ("prompt", "response", "why"):
            if not values.get(required):
                _no_misspelt_field(sub, required, path)
                raise SourceError(
                    path,
                    f"example '{sub.title}' has no {required.title()}:",
                    line=sub.line,
                    place="## Examples",
                    fix=f"add a line '**{required.title()}:** ...'",
                )
        out.append(
            Example(
                score,
                values["prompt"],
                values["response"],
                values["why"],
                values.get("reference", ""),
            )
        )
    if not out:
        raise SourceError(
            path,
            "no scored examples",
            line=section.line,
            place="## Examples",
            fix="add at least one '### Example (score N)' with Prompt/Response/Why",
        )
    return tuple(out)
