"""Generated content-free answers, by class, for the guard's tests and its measurement.

Each class is a family of answers with no content by any reading, written from the classes
in issue 18 (labels, empty structure, empty data, template slots, invisible text, echoes,
repetition, disguised multi-word openers), not from the guard's lists.

Two splits that share no vocabulary and no seeds:

- ``tune``: the words, marks and disguises the rules were developed against (seeds 0..);
- ``held_out``: label words in other languages and scripts (none of them in the lexicon),
  other marks, other decorations and other disguises (seeds from 100_000). The rules were
  not changed after measuring this split; ``bench/guard_measure.py`` reports both.

Run ``python -m tests.guard_cases`` to print a sample.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

SPLITS = ("tune", "held_out", "fresh")
SEED_BASE = {"tune": 0, "held_out": 100_000, "fresh": 200_000}


@dataclass(frozen=True)
class Case:
    """One generated answer with the conversation it answers."""

    cls: str
    response: str
    prompt: str
    context: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Vocabulary:
    """What one split draws from."""

    labels: tuple[str, ...]
    marks: tuple[str, ...]
    decorations: tuple[str, ...]
    scripts: tuple[tuple[int, int], ...]
    disguises: tuple[str, ...]
    phrases: tuple[str, ...]
    prompts: tuple[str, ...] = field(default=())


PROMPTS = (
    "Hi, I bought a tent from your shop three weeks ago and one of the poles cracked. Can I "
    "get a replacement?",
    "How do I reset my account password if I no longer have access to my email?",
    "¿Cuál es el horario de atención al cliente durante los días festivos?",
    "What is the limit of sin(x)/x as x approaches 0?",
    "A train travels 180 km in 2 hours. What is its average speed in km/h?",
    "Quels sont les délais de livraison pour une commande passée le vendredi soir ?",
    "Wie lange dauert die Rückerstattung, wenn ich das Paket heute zurückschicke?",
    "请问这个耳机的保修期是多久，可以在国外使用吗？",
    "この商品は海外に発送できますか？送料はいくらですか？",
    "Как отменить подписку до следующего списания средств?",
)
SYSTEM = (
    "You are a helpful support assistant for an outdoor equipment shop. Answer briefly and "
    "politely, and never promise refunds without an order number."
)
EARLIER = "My order number is 48213 and it was delivered on the fourth of May to Leeds."

# fmt: off
TUNE = Vocabulary(
    labels=(
        "Answer", "Solution", "Reasoning", "Explanation", "Final answer", "Result", "Steps",
        "Thought process", "Respuesta", "Solución", "Réponse", "Antwort", "Lösung", "Ответ",
        "Решение", "答案", "解答", "回答", "解説", "الإجابة", "الحل", "उत्तर", "정답", "풀이",
        "Here is my answer", "The answer is",
    ),
    marks=(":", "：", " :", " -", " —", " ->", " =>", " →", " ="),
    decorations=("{}", "**{}**", "`{}`", "> {}", "- {}", "<b>{}</b>", "_{}_", "## {}"),
    scripts=((0x0041, 0x005A), (0x0410, 0x044F), (0x4E00, 0x4FFF), (0x0627, 0x064A)),
    disguises=("upper", "fullwidth", "zero_width", "title"),
    phrases=(
        "Let's think step by step", "Let me think step by step", "Here is my answer",
        "Thought process", "Let's solve this problem step by step", "Pensemos paso a paso",
        "Давайте подумаем шаг за шагом", "让我们一步一步地思考", "Final answer",
    ),
)
HELD_OUT = Vocabulary(
    labels=(
        "Ìdáhùn", "Svarið", "Ateb", "Freagra", "Përgjigje", "Odgovor", "Жооп", "Ҷавоб", "ལན",
        "उत्तरम्", "ଉତ୍ତର", "ᠬᠠᠷᠢᠭᠤ", "ᏗᏓᏛᏁᏗ", "ᑭᐅᔾᔪᑎ", "Azịza", "Valiny", "Whakautu", "Pane",
        "Tali", "መልሲ", "ޖަވާބު", "ܦܘܢܝܐ", "Giải pháp", "Lời đáp", "Erantzuna", "Atsakymas",
        "Cavab", "Jawaab", "Tweġiba", "Ответот", "Разсъждение", "Rozwiązanie zadania",
        "Mi válaszom", "Vores svar", "Meine Überlegung", "Sonuç", "Kết luận",
    ),
    marks=("፦", "፥", "᠄", "︓", "﹕", " ⇒", " ⟶", " ➔", " ―", " –", "::", " :=", " ==>"),
    decorations=(
        "🔹 {}", "👉 {}", "// {}", "<!-- note --> {}", "<em>{}</em>", "    {}", "~~{}~~",
        "* {}", "1. {}", "«{}»", "【{}】", "<span>{}</span>", "### {}",
    ),
    scripts=(
        (0x1200, 0x1248), (0x10D0, 0x10F0), (0x0B85, 0x0BB9), (0x1820, 0x1842),
        (0x13A0, 0x13F4), (0x0531, 0x0556), (0x1780, 0x17A2), (0x1401, 0x1676),
        (0x0780, 0x07A5), (0x2D30, 0x2D67), (0xA500, 0xA60B), (0x1E900, 0x1E943),
    ),
    disguises=(
        "confusable", "small_caps", "circled", "spaced", "math_bold", "strike", "soft_hyphen",
    ),
    phrases=(
        "Let's think step by step", "Here is my answer", "Let me think step by step",
        "Réfléchissons étape par étape", "Lass uns Schritt für Schritt denken",
        "Vamos pensar passo a passo", "Laten we stap voor stap denken", "Adım adım düşünelim",
        "段階的に考えましょう", "단계별로 생각해 봅시다", "Hãy suy nghĩ từng bước",
    ),
)
# Written after the held-out split had been measured (and its misses fixed), before those
# fixes were measured again: new words, marks, decorations and disguises, measured once.
FRESH = Vocabulary(
    labels=(
        "Odpověď zní", "Svaret er", "Vastaus on", "Atbilde ir", "Odgovor je", "Ответ таков",
        "Відповідь така", "Cevap şudur", "پاسخ این است", "ጥያቄው", "Jibu ni", "Antwurd",
        "Resposto", "Freagairt", "Bersvar", "Antwoord hierop", "回答如下", "答えは次のとおり",
        "답변은 다음과 같습니다", "คำตอบมีดังนี้", "उत्तर यह है", "উত্তরটি হল", "பதில் இதுதான்",
        "ಉತ್ತರ ಇಲ್ಲಿದೆ", "ഉത്തരം ഇതാണ്", "ಪರಿಹಾರ", "ቃል", "Ìdáhùn rẹ", "Ihe azịza", "Karabo",
    ),
    marks=("⁝", "⁚", ":-", " -->", " —>", " ⟹", " ↦", " ⇨", "：：", " ᎓", "꞉", " ≔"),
    decorations=(
        "-- {}", "; {}", "% {}", "/* {} */", "(* {} *)", "｢{}｣", "〔{}〕", "▶ {}", "✅ {}",
        "a) {}", "(1) {}", "Ⅰ. {}", "\t{}", "<strong>{}</strong>", "<p>{}</p>",
        "\\textbf{{{}}}", "$\\text{{{}}}$", "- [ ] {}", "#### {}", "> > {}",
    ),
    scripts=(
        (0x0E01, 0x0E2E), (0x0C85, 0x0CB9), (0x0D85, 0x0DC6), (0x0F40, 0x0F6C),
        (0x1A00, 0x1A16), (0x07CA, 0x07EA), (0x1C5A, 0x1C77), (0xA840, 0xA873),
    ),
    disguises=("upper", "zero_width", "confusable", "spaced", "strike", "small_caps"),
    phrases=(
        "Here is my answer", "Let's think step by step", "Let me think",
        "Resolvamos esto paso a paso", "Lass mich nachdenken", "Давай подумаем шаг за шагом",
        "让我想想", "Pomyślmy krok po kroku", "Düşüneyim",
    ),
)
# fmt: on
VOCABULARY = {"tune": TUNE, "held_out": HELD_OUT, "fresh": FRESH}


def _word(rng: random.Random, vocab: Vocabulary) -> str:
    """A label word: a real one from the split, or letters of one of its scripts."""
    if rng.random() < 0.6:
        return rng.choice(vocab.labels)
    lo, hi = rng.choice(vocab.scripts)
    letters = [chr(c) for c in range(lo, hi + 1) if unicodedata.category(chr(c)).startswith("L")]
    return "".join(rng.choice(letters) for _ in range(rng.randint(2, 7)))


def _label(rng: random.Random, vocab: Vocabulary) -> str:
    return rng.choice(vocab.decorations).format(_word(rng, vocab) + rng.choice(vocab.marks))


def _sep(rng: random.Random) -> str:
    return rng.choice([" ", "\n", "\n\n", "  ", "\t", " \n"])


def label(rng: random.Random, vocab: Vocabulary) -> str:
    """One to four labels with nothing after them."""
    return _sep(rng).join(_label(rng, vocab) for _ in range(rng.randint(1, 4)))


def structure(rng: random.Random, vocab: Vocabulary) -> str:
    """Headings, tables, lists, quotes and fences with nothing in them."""
    word = _word(rng, vocab)
    forms = [
        "#\n##\n###",
        f"# {word}",
        f"## {word}\n\n### {_word(rng, vocab)}\n",
        f"{word}\n=====",
        f"| {word} |\n|---|",
        f"| {word} | {_word(rng, vocab)} |\n|---|---|\n| | |\n| | |",
        "1.\n2.\n3.",
        "1)\n2)\n3)\n4)",
        "a.\nb.\nc.",
        ">\n>\n>",
        "```\n```",
        "```python\n\n```",
        "- \n- \n- ",
        "* [ ]\n* [ ]",
        "---\n***\n___",
    ]
    return rng.choice(forms)


def data(rng: random.Random, vocab: Vocabulary) -> str:
    """JSON, YAML-like and XML documents whose every value is empty."""
    key, other = _word(rng, vocab).lower(), _word(rng, vocab).lower()
    empty = rng.choice(["null", '""', '"   "', "[]", "{}", '"\\n"'])
    forms = [
        f'{{"{key}": {empty}}}',
        f'{{"{key}": {empty}, "{other}": []}}',
        f'{{"{key}": {{"value": null, "notes": ""}}}}',
        f'[null, "", {{"{key}": null}}]',
        f'```json\n{{"{key}": null}}\n```',
        f"{key}: null\n{other}: ~",
        f"{key}:\n{other}:\n",
        f'{key}: ""\n{other}: []',
        f"<{key}></{key}>",
        "<root><item/><item></item></root>",
        "<response><text></text><reason/></response>",
    ]
    return rng.choice(forms)


def placeholder(rng: random.Random, vocab: Vocabulary) -> str:
    """Template slots, alone or behind a label."""
    slot = rng.choice(
        [
            "{{answer}}",
            "{{ response }}",
            "{% block answer %}{% endblock %}",
            "${ANSWER}",
            "<placeholder>",
            "<your answer here>",
            "[Your answer here]",
            "[insert answer]",
            "TODO",
            "TBD",
            "FIXME",
            "...",
            "…",
            "$VAR",
            "$ANSWER",
            "%s",
            "%d",
            "{0}",
            "{}",
            "{answer}",
            "<<ANSWER>>",
            "\\boxed{answer}",
            "____",
            "[...]",
            "<insert text>",
        ]
    )
    if rng.random() < 0.4:
        return _label(rng, vocab) + " " + slot
    return slot


# fmt: off
INVISIBLE = (
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u202c", "\u2066",
    "\u2069", "\u180e", "\u3164", "\u2800", "\ufe0f", "\U000e0041", "\U000e0020", "\u0301",
    "\u0308", "\u0336", "\u20dd", "\u034f", "\u115f",
)
# fmt: on


def invisible(rng: random.Random, _: Vocabulary) -> str:
    """Zero-width, bidi, tag and variation characters, combining marks alone, blank fillers."""
    return "".join(rng.choice((*INVISIBLE, " ", "\n")) for _ in range(rng.randint(1, 30)))


def _typo(rng: random.Random, text: str) -> str:
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    k = rng.randint(1, len(w) - 3)
    words[i] = w[:k] + w[k + 1] + w[k] + w[k + 2 :]
    return " ".join(words)


def echo(rng: random.Random, vocab: Vocabulary) -> tuple[str, str, tuple[str, ...]]:
    """The prompt, an earlier user turn or the system prompt, back, with small edits."""
    prompt = rng.choice(PROMPTS)
    source = rng.choice([prompt, prompt, EARLIER, SYSTEM])
    text = source
    edit = rng.choice(["same", "case", "shuffle", "drop", "typo", "punct", "wrap"])
    words = text.split()
    if edit == "case":
        text = text.swapcase() if rng.random() < 0.5 else text.lower()
    elif edit == "shuffle" and len(words) > 3:
        rng.shuffle(words)
        text = " ".join(words)
    elif edit == "drop" and len(words) >= 8:
        del words[rng.randrange(len(words))]
        text = " ".join(words)
    elif edit == "typo":
        text = _typo(rng, text)
    elif edit == "punct":
        text = "".join(c for c in text if c.isalnum() or c.isspace())
    elif edit == "wrap":
        text = rng.choice(["Q: {}\nA:", "You asked: {}", "> {}", "**{}**", '"{}"', "{}\n{}"])
        text = text.format(source, source)
    return text, prompt, (EARLIER, SYSTEM)


def _disguise(rng: random.Random, text: str, how: str) -> str:
    if how == "upper":
        return text.upper()
    if how == "title":
        return text.title()
    if how == "fullwidth":
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    if how == "zero_width":
        return "\u200b".join(text)
    if how == "soft_hyphen":
        return "\u00ad".join(text)
    if how == "strike":
        return "".join(c + "\u0336" for c in text)
    if how == "spaced":
        return " ".join(text)
    if how == "confusable":
        table = str.maketrans("aeopcxyiAEOPCXHKMT", "аеорсхуіАЕОРСХНКМТ")
        return text.translate(table)
    if how == "small_caps":
        table = str.maketrans("abdeghijklmnoprtuwy", "ᴀʙᴅᴇɢʜɪᴊᴋʟᴍɴᴏᴘʀᴛᴜᴡʏ")
        return text.lower().translate(table)
    if how == "circled":
        return "".join(chr(ord(c) - 0x61 + 0x24D0) if "a" <= c <= "z" else c for c in text.lower())
    if how == "math_bold":
        return "".join(chr(ord(c) - 0x61 + 0x1D41A) if "a" <= c <= "z" else c for c in text.lower())
    raise ValueError(how)


def opener(rng: random.Random, vocab: Vocabulary) -> str:
    """Multi-word openers in disguise, alone, after a filler, or before a label."""
    text = _disguise(rng, rng.choice(vocab.phrases), rng.choice(vocab.disguises))
    form = rng.choice(["{}", "{}.", "{}...", "Well, {}.", "{}\n\n"])
    return form.format(text) + (_label(rng, vocab) if form == "{}\n\n" else "")


def repetition(rng: random.Random, vocab: Vocabulary) -> str:
    """A content-free unit repeated 1..N times (past 12,000 characters), maybe cut short.

    A cut leaves at least two whole copies: one copy and a fragment of it is not a
    repetition ("Answer: A" is an answer, not "Answer: " cut short).
    """
    unit = rng.choice([label, placeholder, opener])(rng, vocab) + _sep(rng)
    target = rng.choice([10, 100, 1000, 3990, 4000, 4010, 6000, 12000])
    count = max(1, target // max(1, len(unit)) + rng.randint(-1, 1))
    text = unit * count
    if count > 2 and rng.random() < 0.5:  # cut inside the last copy: two or more stay whole
        text = text[: len(text) - rng.randrange(1, len(unit))]
    return text


Generator = Callable[[random.Random, Vocabulary], str]
CLASSES: dict[str, Generator] = {
    "label": label,
    "structure": structure,
    "data": data,
    "placeholder": placeholder,
    "invisible": invisible,
    "opener": opener,
    "repetition": repetition,
}
ALL_CLASSES = (*CLASSES, "echo")


def cases(split: str, per_class: int = 100) -> Iterator[Case]:
    """``per_class`` answers of every class from ``split``, deterministic."""
    vocab = VOCABULARY[split]
    for n, cls in enumerate(ALL_CLASSES):
        for i in range(per_class):
            rng = random.Random(SEED_BASE[split] + 1000 * n + i)
            if cls == "echo":
                text, prompt, context = echo(rng, vocab)
                yield Case(cls, text, prompt, context)
            else:
                yield Case(cls, CLASSES[cls](rng, vocab), rng.choice(PROMPTS), (SYSTEM,))


if __name__ == "__main__":
    for case in cases("held_out", 3):
        print(f"{case.cls:12} {case.response[:70]!r}")
