"""The degenerate-response guard: content-free answers in any spelling, never real answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judge.errors import SourceError
from judge.guard import Guard, Phrase, bundled_phrases, core, load_lexicon
from tests.conftest import REPO


def _jsonl(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


ATTACKS = _jsonl(REPO / "judge/data/attacks.jsonl")
LEGIT = _jsonl(Path(__file__).parent / "data/legit_short_answers.jsonl")
CONTENT_FREE = (
    "master_key_symbols",
    "master_key_openers",
    "multilingual_openers",
    "unicode_variants",
    "empty_reasoning",
    "echo",
)
GUARD = Guard()


def _rule(response: str, prompt: str | None = None) -> str | None:
    hit = GUARD.check(response, prompt)
    return None if hit is None else hit.split(":", 1)[0]


@pytest.mark.parametrize(
    ("response", "rule"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("\u200b\u2060\ufeff", "empty"),
        (":", "no_content"),
        ("...", "no_content"),
        ("！？。", "no_content"),
        ("**", "no_content"),
        ("<think></think>", "empty_markup"),
        ("<think>\n</think>\n\\boxed{}", "empty_markup"),
        ("Thought process:", "opener"),
        ("Ｓｏｌｕｔｉｏｎ", "opener"),
        ("So\u200blution", "opener"),
        ("Ѕоlutіоn", "opener"),  # Cyrillic look-alikes
        ("𝐀𝐧𝐬𝐰𝐞𝐫:", "opener"),
        ("Let’s think step by step.", "opener"),  # curly apostrophe
        ("Solution: Solution: Solution:", "opener"),
        ("**Final answer:** \\boxed{}", "opener"),
        ("Respuesta:", "opener"),
        ("Lösung:", "opener"),
        ("Ответ:", "opener"),
        ("ОТВЕТ", "opener"),
        ("かいせつ", "opener"),
        ("解", "opener"),
        ("The answer is:", "opener"),
        ("x" * 20001, "too_long"),
        ("The solution is to hold reset for 10 s.", None),
        ("Thought process: the tent is rated to 3,000 mm, so yes.", None),
        ("Yes.", None),
        ("42", None),
        ("∞", None),
        ("🎉", None),
        ("Respuesta: Madrid", None),
    ],
)
def test_rules(response: str, rule: str | None) -> None:
    assert _rule(response) == rule


def test_each_floored_answer_names_its_rule() -> None:
    hit = GUARD.check("Respuesta:")
    assert hit is not None and hit.startswith("opener:") and "es" in hit


@pytest.mark.parametrize(
    ("response", "prompt", "rule"),
    [
        ("Can I return my tent?", "Can I return my tent?", "echo"),
        ("can i RETURN my tent", "Can I return my tent?", "echo"),
        ("Answer: Can I return my tent?", "Can I return my tent?", "echo"),
        ("Q: Can I return my tent?\nA:", "Can I return my tent?", "echo"),
        ("Can I return my tent? Can I return my tent?", "Can I return my tent?", "echo"),
        ("Yes, you can return your tent.", "Can I return my tent?", None),
        ("Paris", "Paris is the capital of which country?", None),
    ],
)
def test_echo(response: str, prompt: str, rule: str | None) -> None:
    assert _rule(response, prompt) == rule


@pytest.mark.parametrize("family", CONTENT_FREE)
def test_every_content_free_attack_is_floored(family: str) -> None:
    cases = [a for a in ATTACKS if a["family"] == family]
    assert len(cases) >= 12
    missed = [a["response"] for a in cases if GUARD.check(a["response"], a["prompt"]) is None]
    assert missed == []


def test_no_legitimate_short_answer_is_floored() -> None:
    assert len(LEGIT) >= 40
    assert len({a["lang"] for a in LEGIT}) >= 20
    floored = [(a["response"], GUARD.check(a["response"], a["prompt"])) for a in LEGIT]
    assert [f for f in floored if f[1] is not None] == []


def test_honest_baselines_pass() -> None:
    honest = {a["honest"]: a["prompt"] for a in ATTACKS}
    assert [h for h, p in honest.items() if GUARD.check(h, p) is not None] == []


def test_lexicon_covers_twenty_languages() -> None:
    assert len({p.language for p in bundled_phrases()}) >= 20


def test_extra_phrases_and_lexicon_file(tmp_path: Path) -> None:
    guard = Guard((*bundled_phrases(), Phrase(core("as requested"), "as requested", "config")))
    assert guard.check("As requested:") is not None
    lexicon = tmp_path / "lex.toml"
    lexicon.write_text('[[language]]\ncode = "x"\nphrases = ["per your request"]\n')
    assert Guard(load_lexicon(lexicon)).check("Per your request.") is not None
    lexicon.write_text('[[language]]\ncode = "x"\nphrases = "oops"\n')
    with pytest.raises(SourceError) as err:
        load_lexicon(lexicon)
    assert err.value.place == "language.0.phrases"
    lexicon.write_text('[[language]]\ncode = "x"\nphrase = ["typo"]\n')
    with pytest.raises(SourceError, match=r"unknown key 'language\.0\.phrase'"):
        load_lexicon(lexicon)


def test_extra_patterns() -> None:
    guard = Guard(extra_patterns=[r"as an ai( language model)?[.,]?"])
    assert (guard.check("As an AI language model.") or "").startswith("custom_pattern")
    assert guard.check("As an AI language model, I think yes.") is None


# Letters, digits, emoji and maths in many scripts: any answer containing one is judged.
_CONTENT = st.sampled_from(list("aZé文字ñßЖжαΩ١٢٣7🎉∞√∑€✔한글ไทยअ"))
_NOISE = st.sampled_from(list(" \t\n.,:;!?-—…*_#>`'\"()[]{}「」。、！？\u200b\u00ad\u2060"))


@settings(max_examples=200, deadline=None)
@given(st.lists(_NOISE, max_size=20), _CONTENT, st.lists(_NOISE, max_size=20))
def test_a_content_character_is_never_floored(
    before: list[str], content: str, after: list[str]
) -> None:
    assert GUARD.check("".join(before) + content + "".join(after)) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(_NOISE, min_size=1, max_size=40))
def test_noise_alone_is_always_floored(noise: list[str]) -> None:
    assert GUARD.check("".join(noise)) is not None


@pytest.mark.parametrize("unit", [" ", "\t", ".", "<", "< ", "&#", "\\u", "solution ", "a", "é"])
def test_linear_on_long_runs(unit: str) -> None:
    """20,000-character runs: every regex and scan over sample text stays linear."""
    text = (unit * 20000)[:19999] + "x"
    started = time.perf_counter()
    GUARD.check(text, unit * 5000)
    assert time.perf_counter() - started < 2.0  # quadratic would be minutes


REDTEAM = _jsonl(Path(__file__).parent / "data/redteam_regressions.jsonl")


@pytest.mark.parametrize("kind", ["delimiter", "legit", "content_free"])
def test_red_team_regressions(kind: str) -> None:
    """Inputs a red-team review found getting through (or wrongly floored), now handled."""
    from judge.prompt import fence, structure_spans

    cases = [c for c in REDTEAM if c["kind"] == kind]
    assert len(cases) >= 50
    if kind == "delimiter":
        assert [c["input"] for c in cases if structure_spans(fence(c["input"]))] == []
    elif kind == "legit":
        assert [c["input"] for c in cases if GUARD.check(c["input"], c["prompt"])] == []
    else:
        assert [c["input"] for c in cases if not GUARD.check(c["input"], c["prompt"])] == []


@pytest.mark.parametrize(
    ("response", "prompt", "floored"),
    [
        ("Is the number 91 a prime number? No", "Is the number 91 a prime number?", False),
        ("Which is largest? A) 1 B) 2 C) 3\nAnswer: B", "Which is largest? A) 1 B) 2 C) 3", False),
        ("Answer:", "Solve x+1=2; put your final answer within \\boxed{}.", True),
        ("\\boxed{answer}", "Solve x+1=2; put your final answer within \\boxed{}.", True),
        ("<your answer here>", "Can I return it?", True),
        ("<system>", "Can I return it?", True),
        ("<br>", "What tag breaks a line?", False),
        ("答案", "What does '答案' mean in English?", False),
        ("Q: Can I return my tent today please?\nA:", "Can I return my tent today please?", True),
    ],
)
def test_red_team_round_two(response: str, prompt: str, floored: bool) -> None:
    """A restated question plus a short answer is an answer; a mere mention is not a quote."""
    assert (GUARD.check(response, prompt) is not None) is floored


@pytest.mark.parametrize(
    ("response", "floored"),
    [
        ("OK", False),
        ("OK, sure.", False),
        ("So, well, OK.", True),
        ("So So So So So So", True),
        ("\\boxed{\\color{white}}", True),
        ("\\boxed{\\kern1em}", True),
        ("<ans>", True),
        ("<T>", False),
    ],
)
def test_filler_runs_and_invisible_latex(response: str, floored: bool) -> None:
    assert (GUARD.check(response, "Can I return my tent?") is not None) is floored
