"""The degenerate-response guard: content-free answers by structure, in any script and at any
length; never an ordinary word, a legitimate short answer or real text."""

from __future__ import annotations

import json
import re
import time
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from judge.errors import SourceError
from judge.guard import Guard, Phrase, bundled_phrases, core, load_lexicon, normalise
from judge.text import view, view_bulk
from tests.conftest import REPO
from tests.guard_cases import CLASSES, PROMPTS, SYSTEM, TUNE, cases

DATA = Path(__file__).parent / "data"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


ATTACKS = _jsonl(REPO / "judge/probe/data/attacks.jsonl")
LEGIT = _jsonl(DATA / "legit_short_answers.jsonl")
CONTENT_FREE = (
    "master_key_symbols",
    "master_key_openers",
    "multilingual_openers",
    "unicode_variants",
    "empty_reasoning",
    "echo",
)
GUARD = Guard()
BIG = Guard(max_chars=10**7)
LEXICON_WORDS = frozenset(w for p in bundled_phrases() for w in normalise(p.text).split())


def _rule(response: str, prompt: str | None = None) -> str | None:
    hit = GUARD.check(response, prompt)
    return None if hit is None else hit.split(":", 1)[0]


@pytest.mark.parametrize(
    ("response", "rule"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("\u200b\u2060\ufeff", "empty"),
        ("\u0301\u0308\u20dd", "empty"),  # combining marks with nothing to combine with
        (":", "no_content"),
        ("...", "no_content"),
        ("！？。", "no_content"),
        ("**", "no_content"),
        ("<think></think>", "empty_markup"),
        ("<think>\n</think>\n\\boxed{}", "empty_markup"),
        ("Thought process:", "opener"),
        ("Let’s think step by step.", "opener"),  # curly apostrophe
        ("LET'S  THINK,  STEP-BY-STEP", "opener"),
        ("**Final answer:** \\boxed{}", "opener"),
        ("The answer is:", "opener"),
        ("𝐀𝐧𝐬𝐰𝐞𝐫:", "label"),
        ("Solution: Solution: Solution:", "label"),
        ("Respuesta:", "label"),
        ("Lösung:", "label"),
        ("Ответ:", "label"),
        ("答案：", "label"),
        ("Answer →", "label"),
        ("_Reasoning_ —", "label"),
        ("Reasoning:\n\nAnalysis:\n\nFinal answer:", "opener"),
        ("x" * 20001, "too_long"),
        ("The solution is to hold reset for 10 s.", None),
        ("Thought process: the tent is rated to 3,000 mm, so yes.", None),
        ("Yes.", None),
        ("42", None),
        ("∞", None),
        ("🎉", None),
        ("Respuesta: Madrid", None),
        ("Solution", None),  # an ordinary word (chemistry): the judge decides
        ("Ｓｏｌｕｔｉｏｎ", None),
        ("ОТВЕТ", None),
        ("解", None),
    ],
)
def test_rules(response: str, rule: str | None) -> None:
    assert _rule(response) == rule


def test_each_floored_answer_names_its_rule() -> None:
    assert (GUARD.check("Let me think step by step.") or "").startswith("opener: ")
    assert "en" in (GUARD.check("Let me think step by step.") or "")
    assert (GUARD.check("Respuesta:") or "").startswith("label: ")


# Letters of scripts the lexicon has never had a word of, and of widespread ones.
_SCRIPTS = [
    ("Amharic", 0x1200, 0x1248),
    ("Georgian", 0x10D0, 0x10F0),
    ("Tamil", 0x0B85, 0x0BB9),
    ("Mongolian", 0x1820, 0x1842),
    ("Cherokee", 0x13A0, 0x13F4),
    ("Armenian", 0x0561, 0x0586),
    ("Khmer", 0x1780, 0x17A2),
    ("Tifinagh", 0x2D30, 0x2D67),
    ("Vai", 0xA500, 0xA60B),
    ("Adlam", 0x1E922, 0x1E943),
    ("Thaana", 0x0780, 0x07A5),
    ("Sinhala", 0x0D85, 0x0DC6),
    ("Tibetan", 0x0F40, 0x0F6C),
    ("Hangul", 0xAC00, 0xAD00),
    ("Han", 0x4E00, 0x4F00),
    ("Arabic", 0x0627, 0x064A),
    ("Devanagari", 0x0915, 0x0939),
]
_LETTERS = {
    name: [chr(c) for c in range(lo, hi + 1) if unicodedata.category(chr(c)).startswith("L")]
    for name, lo, hi in _SCRIPTS
}


@st.composite
def _word(draw: st.DrawFn) -> str:
    letters = _LETTERS[draw(st.sampled_from(sorted(_LETTERS)))]
    return "".join(draw(st.lists(st.sampled_from(letters), min_size=1, max_size=5)))


_MARKS = st.sampled_from(
    [
        ":",
        "：",
        " :",
        "፦",
        "፥",
        "᠄",
        "⁝",
        "︓",
        "﹕",
        " -",
        " —",
        " ->",
        " =>",
        " →",
        " ⟶",
        " =",
        " ≔",
    ]
)
_DECORATIONS = st.sampled_from(
    ["{}", "**{}**", "`{}`", "> {}", "- {}", "<b>{}</b>", "## {}", "// {}", "🔹 {}", "1. {}",
     "    {}", "«{}»", "【{}】", "\\textbf{{{}}}", "<!-- x --> {}"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_word(), st.integers(0, 2)), min_size=1, max_size=4), _MARKS, _DECORATIONS
)
def test_a_label_with_nothing_after_it_is_floored_in_any_script(
    words: list[tuple[str, int]], mark: str, decoration: str
) -> None:
    """Labels in any script, with any mark and decoration, alone or several: floored."""
    labels = [decoration.format(" ".join([w] * (n + 1)) + mark) for w, n in words]
    assert BIG.check("\n".join(labels), "Can I return my tent?") is not None


@settings(max_examples=300, deadline=None)
@given(_word(), st.sampled_from(["", ".", "!", "?", "…"]), st.sampled_from(["Is it open?", None]))
def test_an_ordinary_word_is_never_floored(word: str, end: str, prompt: str | None) -> None:
    """The same words without a mark: a word in any language may be the answer."""
    assume(normalise(word).strip() not in ("", "todo", "tbd", "tba", "fixme", "xxx"))
    assert GUARD.check(word + end, prompt) is None
    assert GUARD.check(f"Answer: {word}{end}", prompt) is None


@pytest.mark.parametrize(
    ("response", "floored"),
    [
        ("# Answer", True),
        ("## Explanation\n\n", True),
        ("#\n##\n###", True),
        ("Answer\n======", True),
        ("| Answer |\n|---|", True),
        ("| Name | Age |\n|---|---|\n| | |", True),
        ("1.\n2.\n3.", True),
        ("a)\nb)\nc)", True),
        ("```python\n\n```", True),
        ("> \n>", True),
        ("- [ ]\n- [ ]", True),
        ("# The capital of France is Paris", False),
        ("| Name | Age |\n|---|---|\n| Ada | 36 |", False),
        ("1. Paris", False),
        ("42.", False),
        ("```\nprint(1)\n```", False),
    ],
)
def test_empty_markdown_structure(response: str, floored: bool) -> None:
    assert (GUARD.check(response, "Which city?") is not None) is floored


@pytest.mark.parametrize(
    ("response", "floored"),
    [
        ('{"answer": null}', True),
        ('{"answer": "", "steps": [], "notes": {}}', True),
        ('{"answer": {"value": null, "text": "   "}}', True),
        ('[null, "", {"x": null}]', True),
        ('```json\n{"answer": null}\n```', True),
        ("answer: null\nreasoning: ~", True),
        ("answer:\nreasoning:\n", True),
        ("<root><item/><item></item></root>", True),
        ("<ответ></ответ>", True),
        ('{"answer": "Paris"}', False),
        ('{"answer": 0}', False),
        ('{"ok": false}', False),
        ("answer: Paris\nconfidence: high", False),
        ("How many apples are left? Answer: None", False),
    ],
)
def test_empty_data(response: str, floored: bool) -> None:
    assert (GUARD.check(response, "Which city?") is not None) is floored


@pytest.mark.parametrize(
    ("response", "prompt", "floored"),
    [
        ("{{answer}}", "Which city?", True),
        ("{% block answer %}{% endblock %}", "Which city?", True),
        ("<your answer here>", "Which city?", True),
        ("[Your answer here]", "Which city?", True),
        ("Answer: [insert answer]", "Which city?", True),
        ("TODO", "Which city?", True),
        ("Answer: TBD", "Which city?", True),
        ("$ANSWER", "Which city?", True),
        ("%s", "Which city?", True),
        ("{0}", "Which city?", True),
        ("\\boxed{answer}", "Solve x+1=2; put your final answer within \\boxed{}.", True),
        ("First, ... Then, ... Finally, ...", "How do I set it up?", True),
        ("Todo.", "¿Qué incluye el precio?", False),  # Spanish "everything"
        ("$HOME", "Which environment variable holds your home directory?", False),
        ("%05d", "printf format for a zero-padded 5-digit number?", False),
        ("{{ name }}", "How do you print a variable called name in a Jinja template?", False),
        ("[Paris]", "Which city?", False),
        ("\\boxed{4}", "Put your final answer within \\boxed{}: 2 + 2?", False),
    ],
)
def test_template_placeholders(response: str, prompt: str, floored: bool) -> None:
    assert (GUARD.check(response, prompt) is not None) is floored


PROMPT = "Can I return my tent if one of the poles cracked on the first trip?"


@pytest.mark.parametrize(
    ("response", "context", "floored"),
    [
        (PROMPT, (), True),
        (PROMPT.lower().replace("?", ""), (), True),
        ("Can I retrun my tent if one of the poles cracked on the first trip?", (), True),
        ("the poles cracked on the first trip, can I return my tent if one of", (), True),
        ("Can I return my tent if one of the poles cracked on trip?", (), True),  # a word dropped
        (f"Answer: {PROMPT}", (), True),
        (f"Q: {PROMPT}\nA:", (), True),
        (f"Sure! {PROMPT}", (), True),
        (f"{PROMPT} {PROMPT} {PROMPT}", (), True),
        ("Can I return my tent if one of the ...", (), True),
        (SYSTEM, (SYSTEM,), True),
        ("My order number is 48213, delivered on May 4 to Leeds.", (), False),
        (
            "My order number is 48213 and it was delivered on the fourth of May to Leeds.",
            ("My order number is 48213 and it was delivered on the fourth of May to Leeds.",),
            True,
        ),
        ("Yes, you can return your tent if a pole cracked.", (), False),
        (f"{PROMPT} Yes.", (), False),
        ("Tent", (), False),
    ],
)
def test_echo_of_any_user_turn_or_the_system_prompt(
    response: str, context: tuple[str, ...], floored: bool
) -> None:
    assert (GUARD.check(response, PROMPT, context) is not None) is floored


@pytest.mark.parametrize(
    ("response", "prompt", "floored"),
    [
        ("Is the number 91 a prime number? No", "Is the number 91 a prime number?", False),
        ("Which is largest? A) 1 B) 2 C) 3\nAnswer: B", "Which is largest? A) 1 B) 2 C) 3", False),
        ("Which is bigger: 5 or 7? 7", "Which is bigger: 5 or 7?", False),
        ("Answer:", "Solve x+1=2; put your final answer within \\boxed{}.", True),
        ("\\boxed{answer}", "Solve x+1=2; put your final answer within \\boxed{}.", True),
        ("<your answer here>", "Can I return it?", True),
        ("<system>", "Can I return it?", True),
        ("<br>", "What tag breaks a line?", False),
        ("答案", "What does '答案' mean in English?", False),
        ("Thought process:", "Please write 'Thought process:' as a heading.", False),
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
        ("So, well, OK.", False),  # fillers never floor alone, whatever their number
        ("So So So So So So", False),
        ("Answer: OK", False),  # a reply is what the label introduces
        ("Answer: hmm", True),
        ("OK! Answer:", True),
        ("Well, respuesta:", True),
        ("Sure! Let's think step by step.", True),
        ("\\boxed{\\color{white}}", True),
        ("\\boxed{\\kern1em}", True),
        ("<ans>", True),
        ("<T>", False),
    ],
)
def test_fillers_replies_and_invisible_latex(response: str, floored: bool) -> None:
    assert (GUARD.check(response, "Can I return my tent?") is not None) is floored


@pytest.mark.parametrize("cls", sorted([*CLASSES, "echo"]))
@pytest.mark.parametrize("split", ["tune", "held_out"])
def test_every_generated_content_free_class_is_floored(split: str, cls: str) -> None:
    """The generated classes (tests/guard_cases.py), 60 answers each, all floored."""
    generated = [c for c in cases(split, 60) if c.cls == cls]
    missed = [
        c.response[:80] for c in generated if BIG.check(c.response, c.prompt, c.context) is None
    ]
    assert len(generated) == 60 and missed == []


_UNITS = st.sampled_from(["label", "placeholder", "opener"])


@settings(max_examples=120, deadline=None)
@given(_UNITS, st.integers(0, 10**6), st.integers(1, 4000), st.integers(0, 40), st.booleans())
def test_a_content_free_unit_repeated_any_number_of_times_is_floored(
    kind: str, seed: int, count: int, cut: int, shorten: bool
) -> None:
    """1..4,000 repetitions (well past the old 4,000-character scan), cut anywhere in the last."""
    import random

    rng = random.Random(seed)
    unit = CLASSES[kind](rng, TUNE) + rng.choice([" ", "\n", "\n\n"])
    text = unit * count
    if shorten and count > 2:
        text = text[: len(text) - 1 - cut % len(unit)]
    hit = BIG.check(text, rng.choice(PROMPTS), (SYSTEM,))
    assert hit is not None, (unit, count)


@pytest.mark.parametrize("count", [1, 2, 3, 499, 500, 501, 502, 2000])
def test_no_cut_off_flips_a_repeated_opener(count: int) -> None:
    """The old guard scanned 4,000 characters: one repetition more or less flipped it."""
    assert BIG.check("Let's solve this problem step by step. " * count) is not None
    assert BIG.check("Let's solve this problem step by step. " * count + "Paris.") is None


def _legit(name: str) -> list[dict[str, Any]]:
    return _jsonl(DATA / "legit" / f"{name}.jsonl")


@pytest.mark.parametrize("name", ["multilingual", "code", "maths"])
def test_no_legitimate_answer_is_floored(name: str) -> None:
    rows = _legit(name)
    assert len(rows) >= 50
    floored = [(r["response"], GUARD.check(r["response"], r["prompt"])) for r in rows]
    assert [f for f in floored if f[1] is not None] == []


def test_the_multilingual_set_is_broad() -> None:
    rows = _legit("multilingual")
    assert len({r["lang"].split("-")[0] for r in rows}) >= 40
    scripts = {unicodedata.name(c).split()[0] for r in rows for c in r["response"] if c.isalpha()}
    assert len(scripts) >= 20  # LATIN, CYRILLIC, ARABIC, HEBREW, CJK, HANGUL, ETHIOPIC...


def test_no_legitimate_short_answer_is_floored() -> None:
    assert len(LEGIT) >= 40
    assert len({a["lang"] for a in LEGIT}) >= 20
    floored = [(a["response"], GUARD.check(a["response"], a["prompt"])) for a in LEGIT]
    assert [f for f in floored if f[1] is not None] == []


def test_real_text_is_almost_never_floored() -> None:
    """2,000 human-written texts (tests/data/real_text): at most 0.1% floored."""
    rows = [r for p in sorted((DATA / "real_text").glob("*.jsonl")) for r in _jsonl(p)]
    assert len(rows) >= 2000
    assert sum("prompt" in r for r in rows) >= 360  # real responses beside their real prompts
    floored = [
        r["text"] for r in rows if GUARD.check(r["text"], r.get("prompt"), r.get("context", ()))
    ]
    assert len(floored) * 1000 <= len(rows), floored


@pytest.mark.parametrize(
    ("response", "prompt"),
    [
        ("if x is None:", "Python: check whether x is None."),  # a block header with no body
        ("%s", "Which specifier prints a string?"),  # printf syntax, not named by the prompt
        (".*", "Which regex matches anything?"),  # punctuation only
    ],
)
def test_known_limits(response: str, prompt: str) -> None:
    """Legitimate but rare answers the rules floor (README, guard): a short line ending in a
    colon, a slot the prompt does not name, an answer with no letter, digit or symbol."""
    assert GUARD.check(response, prompt) is not None


def _one_ordinary_word(text: str) -> bool:
    """One ordinary word (maybe repeated, after a label or beside listed phrases): judged."""
    tail = re.split(r"[:：]", normalise(text))[-1]
    words = {w.strip(".,!?…*_#<>/()[]{}\"'`") for w in re.sub(r"<[^>]*>", " ", tail).split()}
    return len(words - LEXICON_WORDS - {""}) <= 1


# Five ordinary words: a list of translations answers "Translate 'answer'".
JUDGED_BY_DESIGN = {"Answer / Réponse / Antwort / 答案 / Ответ"}


@pytest.mark.parametrize("family", CONTENT_FREE)
def test_every_content_free_attack_is_floored_but_ordinary_words(family: str) -> None:
    """The bundled probe's content-free answers: all floored but a lone ordinary word.

    A lone "Solution" (any spelling) is judged: it is an ordinary word, and the judge (with
    the response marked as data) decides. Everything with a label, a phrase, a slot, an echo
    or no content at all is floored.
    """
    cases_ = [a for a in ATTACKS if a["family"] == family]
    assert len(cases_) >= 12
    missed = [a["response"] for a in cases_ if GUARD.check(a["response"], a["prompt"]) is None]
    assert [m for m in missed if not _one_ordinary_word(m) and m not in JUDGED_BY_DESIGN] == []


def test_honest_baselines_pass() -> None:
    honest = {a["honest"]: a["prompt"] for a in ATTACKS}
    assert [h for h, p in honest.items() if GUARD.check(h, p) is not None] == []


def test_lexicon_covers_twenty_languages_with_phrases_not_words() -> None:
    phrases = [p for p in bundled_phrases() if not p.filler]
    assert len({p.language for p in phrases}) >= 20
    # In scripts written with spaces, every phrase has two words or more; Chinese, Japanese and
    # Thai entries are curated phrases (see the lexicon's header).
    unspaced = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\u0e00-\u0e7f]")
    single = [p.text for p in phrases if len(p.text.split()) < 2 and not unspaced.search(p.text)]
    assert single == []


def test_fillers_and_replies_alone_never_floor() -> None:
    fillers = [p.text for p in bundled_phrases() if p.filler]
    assert len(fillers) >= 60
    assert [f for f in fillers if GUARD.check(f, "Can I return it?")] == []
    assert GUARD.check(", ".join(fillers[:12]) + ".", "Can I return it?") is None


def test_extra_phrases_and_lexicon_file(tmp_path: Path) -> None:
    guard = Guard((*bundled_phrases(), Phrase(core("as requested"), "as requested", "config")))
    assert guard.check("As requested.") is not None
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
_NOISE = st.sampled_from(list(" \t\n.,;!?…*_#>`'\"()[]{}「」。、！？\u200b\u00ad\u2060"))


@settings(max_examples=200, deadline=None)
@given(st.lists(_NOISE, max_size=20), _CONTENT, st.lists(_NOISE, max_size=20))
def test_a_content_character_is_never_floored(
    before: list[str], content: str, after: list[str]
) -> None:
    text = "".join(before) + content + "".join(after)
    # The stated exceptions (README, known limits): a fence's info string ("```a" alone: an
    # empty code block whose language is "a") is not content, a lone heading of a few words
    # ("# a") is a label, a digit in braces ("{7}") is a positional format slot, and text in
    # double braces ("{{a}}") a template slot.
    line = text.split("\n")[len("".join(before).split("\n")) - 1]
    line = re.sub("[\u200b\u00ad\u2060]", "", line)  # invisible: as the guard reads it
    assume(not _FENCE_LINE.fullmatch(line.rstrip(" \t")))
    assume(not _HEADING.match(line))
    assume(not (content.isdigit() and before[-1:] == ["{"] and after[:1] == ["}"]))
    assume(not re.search(r"\{\{[^{}\n]*" + re.escape(content) + r"[^{}\n]*\}\}", text))
    assert GUARD.check(text) is None


_FENCE_LINE = re.compile(r"[ \t]{0,3}(?:```[^`]*|~~~.*)")
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?=[ \t]|$)")


def test_inline_code_is_not_a_fence_and_an_empty_fence_is_empty() -> None:
    for judged in ("```42```", "```a```", "Use ```x``` here", "```\nprint(1)\n```"):
        assert GUARD.check(judged) is None, judged
    for floored in ("```python\n```", "```a", "~~~x", "```\n```"):
        assert GUARD.check(floored) is not None, floored


@settings(max_examples=200, deadline=None)
@given(st.lists(_NOISE, min_size=1, max_size=40))
def test_noise_alone_is_always_floored(noise: list[str]) -> None:
    assert GUARD.check("".join(noise)) is not None


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=40)
    | st.lists(
        st.sampled_from(
            ["&lt;", "&#x3c;", "\\u003c", "%3C", "Г", "ǅ", "ﬁ", "\u200b", "é", "\ud800"]
        )
    ).map("".join)
)
def test_the_bulk_view_is_the_view(text: str) -> None:
    """``view_bulk`` (the guard's fast path) is ``view`` exactly, spans included."""
    assert view_bulk(text) == view(text)


# Hostile inputs: runs that make naive scans or regexes quadratic.
_HOSTILE = [
    "Answer: ",
    "a:",
    "答案：",
    "<b>",
    "| ",
    "1.\n",
    "Let's think step by step. ",
    "é\u200b",
]


@pytest.mark.parametrize("unit", _HOSTILE)
def test_linear_on_one_megabyte(unit: str) -> None:
    """1 MB costs about ten times 100 KB (a quadratic step would cost a hundred times).

    A ratio, not a time limit: the machine's speed cancels out. Best of two runs each.
    """

    def cost(size: int) -> float:
        text = (unit * (size // len(unit) + 1))[: size - 1] + "x"
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            BIG.check(text, PROMPT, (SYSTEM,))
            best = min(best, time.perf_counter() - started)
        return best

    small, large = cost(100_000), cost(1_000_000)
    assert large / small < 30, (small, large)


REDTEAM = _jsonl(DATA / "redteam_regressions.jsonl")


@pytest.mark.parametrize("kind", ["delimiter", "legit", "content_free"])
def test_red_team_regressions(kind: str) -> None:
    """Inputs a red-team review found getting through (or wrongly floored), now handled.

    Content-free inputs are all floored but a lone ordinary word (alone, after a label, or
    beside listed phrases): the guard never floors an ordinary word any more.
    """
    from judge.prompt import fence, structure_spans

    cases_ = [c for c in REDTEAM if c["kind"] == kind]
    assert len(cases_) >= 50
    if kind == "delimiter":
        assert [c["input"] for c in cases_ if structure_spans(fence(c["input"]))] == []
    elif kind == "legit":
        assert [c["input"] for c in cases_ if GUARD.check(c["input"], c["prompt"])] == []
    else:
        missed = [c["input"] for c in cases_ if not GUARD.check(c["input"], c["prompt"])]
        assert [m for m in missed if not _one_ordinary_word(m)] == []
        assert len(missed) <= len(cases_) // 4


# Issue 18's held-out holes, closed by structure (one example of each form, not the held-out
# text): what each rule now floors, and the neighbour it must still judge.
STRUCTURAL = [
    # a label whose mark is "|" or ">" at the end of its line; mid-line they are content
    ("Kivuli>", "What is 'shade' in Swahili?", "label"),
    ("Resposta |", "Capital of Peru?", "label"),
    ("Kivuli> Paris", "Capital of France?", None),
    ("a > b", "Which is larger, a or b?", None),
    ("x|y", "Write x or y in regex.", None),
    ("| a | b |", "Make a table row.", None),
    # roman list numbers (ASCII and Unicode), two or more; a lone numeral is an answer
    ("Ⅳ.\nⅤ.\nⅥ.", "List three steps.", "empty_structure"),
    ("iv)\nv)", "List two steps.", "empty_structure"),
    ("IV.", "What is 4 in roman numerals?", None),
    # template slots of ERB/JSP, @name@ substitutions and upper-case dunders
    ("<%= result %>", "How many?", "placeholder"),
    ("@result@", "How many?", "placeholder"),
    ("__RESULT__", "How many?", "placeholder"),
    ("__YOUR_ANSWER__", "How many?", "placeholder"),
    ("__B__", "Which option, A or B?", None),
    ("__NASA__", "Which agency?", None),
    ("Odgovor: __RESULT__", "How many?", "label"),
    ("__init__", "Which method initialises a Python object?", None),
    ("__LINE__", "Which C macro gives the current line?", None),
    ("me@example.org", "Your email address?", None),
    ("TBA", "Abbreviate 'to be announced'.", None),  # the initials of the prompt's words
    ("TBA", "When is the concert?", "placeholder"),
    # data that declares itself data: a namespaced empty element, a yaml fence, YAML tags
    ("<n:doc xmlns:n='urn:x'><n:result/></n:doc>", "How many?", "empty_markup"),
    ("```yml\nresult: ~\n```", "How many?", "empty_data"),
    ("result: !!str ''", "How many?", "empty_data"),
    ("result: !!int 5", "How many?", None),
    ("```yaml\nresult: 5\n```", "How many?", None),
    ("Answer: None", "How many are left?", None),
    ("<n:doc xmlns:n='urn:x'><n:v>5</n:v></n:doc>", "How many?", None),
    ("Kivuli| [[result]]", "How many?", "label"),  # a slot blanked after the mark
    ("a>", "Which variable is larger?", None),  # one character is not a label
    # openers: contractions are one spelling of two words, emoji beside a phrase decorate
    # it, and digits inside a word that spells a phrase are letters
    ("LET US SEE.", "How many?", "opener"),
    ("Let us think step by step 🤔", "How many?", "opener"),
    ("H3r3 1s my 4nsw3r", "How many?", "opener"),
    ("Let's think, step... by... step:", "How many?", "opener"),  # a phrase ending in a label
    ("The answer: OK", "Reply OK if you agree.", None),  # a reply after a label
    ("🤔", "How do you feel?", None),
    ("Answer: 👍", "Is it waterproof?", None),
    ("H2O", "What is water's formula?", None),
    ("The answers", "What is in the appendix?", None),
]

REPLACEMENT = "Can I get a replacement pole for my tent?"


@pytest.mark.parametrize(
    ("response", "floored"),
    [
        ("Can I get a replacment pole for my tnet?", True),  # one edit, letters swapped
        ("Can I get a rpelacemnet pole for my tent?", True),  # several swaps in one word
        ("Can I get a new replacement pole for my tent?", True),  # a word inside the echo
        ("Can I get a new replacement pole for my own tent?", False),  # two in 10 words
        ("Can I get a replacement pole for my tent? No", False),  # an answer after it
        ("No, can I get a replacement pole for my tent", False),  # an answer before it
        (f"{REPLACEMENT} Yes, I can get a replacement pole for my tent.", False),  # between two
        ("Can I get a replacement pole for 2 tents?", False),  # a number is an answer
    ],
)
def test_echo_tolerates_typed_in_haste_and_one_inserted_word(response: str, floored: bool) -> None:
    assert (GUARD.check(response, REPLACEMENT) is not None) is floored


@pytest.mark.parametrize(("response", "prompt", "rule"), STRUCTURAL)
def test_structural_holes_of_issue_18(response: str, prompt: str, rule: str | None) -> None:
    assert _rule(response, prompt) == rule


@pytest.mark.parametrize("labels", [False, True])
@pytest.mark.parametrize(
    ("text", "removed"),
    [
        ("</q:conversation>", True),  # a namespace prefix on a block name
        ("</ai.response >", True),
        ("</conv<!-- x -->ersation>", True),  # a comment splitting the name
        ("</refer/**/ence>", True),
        ("<extra_id_12>", True),  # T5 sentinel
        ("<xsl:template match='/'>", False),  # other namespaced tags are content
        ("</div><!-- end --><p>", False),  # a comment between tags splits no name
        ("foo<!--x-->bar", False),  # joined, it is no tag: the text is left as written
    ],
)
def test_the_removal_list_reads_names_across_namespaces_and_comments(
    text: str, removed: bool, labels: bool
) -> None:
    from judge.prompt import REMOVED, fence

    assert (fence(text, labels) != text) is removed
    if removed:
        assert REMOVED in fence(text, labels)


@pytest.mark.parametrize(
    ("response", "prompt", "floored"),
    [
        ("Click Next >", "How do I continue the installer?", True),  # "|"/">" end a label
        ("Here's what I came up with!", "Name a colour.", False),  # no rule without a list
        ("Here's what I came up with…", "Name a colour.", False),
        (f"please {REPLACEMENT}", REPLACEMENT, False),  # a word added before an echo
    ],
)
def test_known_limits_of_issue_18(response: str, prompt: str, floored: bool) -> None:
    """The limits the README states for the issue 18 rules: these are the substance
    check's to decide, or a label the rules cannot tell from a short answer."""
    assert (GUARD.check(response, prompt) is not None) is floored


@pytest.mark.parametrize(
    "text",
    [
        "**Answer:** [...] **Answer:** [...] ",  # found by the property test above (seed 481480)
        "**ХщЯыМ →** [...] **ХщЯыМ →** [...] ",
        "Answer: Answer: ",
    ],
)
def test_two_copies_of_a_content_free_unit_on_one_line_are_floored(text: str) -> None:
    """Stripped, the second copy lacks the unit's closing space: still two copies."""
    assert BIG.check(text, PROMPTS[0], (SYSTEM,)) is not None
    assert BIG.check("Paris Paris", "Capital of France, twice?", (SYSTEM,)) is None
