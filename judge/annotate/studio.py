"""Label Studio's side of the loop: a labelling config from a rubric, and the tasks.

The config shows the conversation and the response as data (Label Studio renders its
``Paragraphs`` and ``Text`` tags as text, never as HTML) and asks for one score with a
choice per level of the rubric's scale: its label, with its description as the hint. The
rubric's definition and levels are the project's instructions (HTML, escaped). Rubric text
is user data too: everything is XML-escaped, characters XML cannot carry are dropped, and
``$`` becomes a full-width dollar sign in the config, where Label Studio would read
``$name`` as a task field.

Each task's data carries the item id, the rubric name and its content hash (the version
the label will be made under); the judge's score and reasoning are a prediction with
``model_version`` set to the evaluator version, for comparison in the Data Manager
(create the project with ``show_collab_predictions`` off so annotators do not see it).
"""

from __future__ import annotations

import html
import re
from typing import Any
from xml.sax.saxutils import quoteattr

from judge.annotate.items import prompt_value
from judge.annotate.select import Chosen
from judge.rubric import Rubric

SCORE = "score"  # the control's name (``from_name`` in the export)
NOTE = "note"  # an optional free-text reason
RESPONSE = "response"
DIALOGUE = "dialogue"
# Characters XML 1.0 cannot carry (controls, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HINT_CHARS = 300  # a level's description in its hint; the instructions have it all


def _text(value: str, limit: int | None = None) -> str:
    """Rubric text as it may appear in the config: XML-safe and without ``$`` fields."""
    clean = _NOT_XML.sub("", value).replace("$", "\uff04")
    if limit is not None and len(clean) > limit:
        clean = clean[: limit - 1] + "\u2026"
    return clean


def _attr(value: str, limit: int | None = None) -> str:
    return quoteattr(_text(value, limit), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def level_value(score: int) -> str:
    """A level's stored value (the choice's alias): the score as written."""
    return str(score)


def labelling_config(rubric: Rubric) -> str:
    """The project's labelling config (XML) for ``rubric``: one single choice per level."""
    title = f"{rubric.title} ({rubric.name}, version {rubric.content_hash[:12]})"
    choices = "\n".join(
        f"    <Choice value={_attr(_choice_label(level.score, level.label))} "
        f"alias={_attr(level_value(level.score))} hint={_attr(level.description, _HINT_CHARS)}/>"
        for level in rubric.levels
    )
    return (
        "<View>\n"
        f"  <Header value={_attr(title)}/>\n"
        f'  <Paragraphs name="{DIALOGUE}" value="${DIALOGUE}" layout="dialogue" '
        'nameKey="role" textKey="text"/>\n'
        '  <Header value="Response to score"/>\n'
        f'  <Text name="{RESPONSE}" value="${RESPONSE}"/>\n'
        f'  <Choices name="{SCORE}" toName="{RESPONSE}" choice="single" required="true" '
        'showInline="false">\n'
        f"{choices}\n"
        "  </Choices>\n"
        f'  <TextArea name="{NOTE}" toName="{RESPONSE}" rows="2" maxSubmissions="1" '
        'placeholder="Optional: why this score"/>\n'
        "</View>\n"
    )


def _choice_label(score: int, label: str) -> str:
    return f"{score} - {label}" if label else str(score)


def instructions(rubric: Rubric) -> str:
    """The project's instructions (``expert_instruction``, HTML): definition and levels."""
    esc = html.escape
    levels = "".join(
        f"<li><b>{level.score}{' - ' + esc(level.label) if level.label else ''}</b>: "
        f"{esc(level.description)}</li>"
        for level in rubric.levels
    )
    return (
        f"<h3>{esc(rubric.title)}</h3><p>{esc(rubric.definition)}</p>"
        f"<p>Score the response on {rubric.scale_min}..{rubric.scale_max}:</p><ul>{levels}</ul>"
        f"<p><small>Rubric {esc(rubric.name)}, version {rubric.content_hash}.</small></p>"
    )


def task(chosen: Chosen, rubric: Rubric, model_version: str) -> dict[str, Any]:
    """One Label Studio task: the item as data, the judge's verdict as a prediction."""
    item, signals = chosen.candidate.item, chosen.candidate.signals
    data: dict[str, Any] = {
        "item": item.id,
        "key": item.key,
        "rubric": rubric.name,
        "rubric_hash": rubric.content_hash,
        "selected_by": chosen.selected_by,
        DIALOGUE: [{"role": t.role, "text": t.text} for t in item.item.conversation],
        RESPONSE: item.item.response,
    }
    out: dict[str, Any] = {"data": data}
    raw = signals.raw
    if raw is not None:
        level = min(rubric.levels, key=lambda lv: abs(lv.score - raw))
        result: list[dict[str, Any]] = [
            {
                "from_name": SCORE,
                "to_name": RESPONSE,
                "type": "choices",
                "value": {"choices": [level_value(level.score)]},
            }
        ]
        if signals.reasoning:
            result.append(
                {
                    "from_name": NOTE,
                    "to_name": RESPONSE,
                    "type": "textarea",
                    "value": {"text": [signals.reasoning]},
                }
            )
        out["predictions"] = [{"model_version": model_version, "result": result}]
    return out


def plain(chosen: Chosen, rubric: Rubric, model_version: str) -> dict[str, Any]:
    """The same item as one plain JSONL line (an anchor without labels, plus the judge's)."""
    item, signals = chosen.candidate.item, chosen.candidate.signals
    return {
        "id": item.id,
        "prompt": prompt_value(item.item.conversation),
        "response": item.item.response,
        "rubric": rubric.name,
        "rubric_hash": rubric.content_hash,
        "selected_by": chosen.selected_by,
        "reasons": {
            "disagreement": signals.disagreement,
            "uncertainty": signals.uncertainty,
            "near_gate": signals.near_gate,
        },
        "judge": {
            "raw": signals.raw,
            "normalized": signals.normalized,
            "reasoning": signals.reasoning,
            "model_version": model_version,
        },
    }
