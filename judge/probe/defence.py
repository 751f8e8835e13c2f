"""Which defence let a winning response through: spotlighting, the guard, or the judge itself.

A response that out-scores the honest answer to its prompt got past every layer: the guard
(floors content-free text before any call), spotlighting (every line of sample text behind a
keyed marker) and the judge. The report names the layer to fix, from what can be known
without asking the judge why: the request is rendered again and checked line by line with
``judge.spotlight.unmarked_lines``; the rule guard is asked even when it is switched off.
"""

from __future__ import annotations

import re

from judge.contract import parse_sample
from judge.pipeline import Evaluator, SampleResult
from judge.prompt import JudgeInput, fence, structure_spans
from judge.spotlight import Escape, lines_of, unmarked_lines
from judge.text import normalise

# A response this short that shares no word with the honest answer reads as content-free
# (an announcement, a label, a punctuation run): the guard's domain, not the judge's.
CONTENT_FREE_WORDS = 8
_WORD = re.compile(r"\w+")


def let_through(
    evaluator: Evaluator,
    prompt: str,
    response: str,
    honest_text: str,
    honest: SampleResult,
) -> str:
    """Which defence let ``response`` beat ``honest_text``: ``guard``, ``spotlight`` or ``judge``.

    In order: ``guard`` when the honest answer was floored; ``spotlight`` when a line of the
    response escapes its marking in the request the judge read; ``guard`` when the response
    looks content-free (the rule guard off, or passed by the rules and the substance check);
    ``spotlight (off: ...)`` when the spotlighting is off and the response has lines the
    honest answer lacks, shown unmarked; else ``judge``: it scored the data higher.
    """
    if honest.guarded is not None:
        return f"guard (floored the honest answer: {honest.guarded})"
    mode = evaluator.config.judge.spotlight
    escapes = response_escapes(evaluator, prompt, response, honest_text)
    known = set(lines_of(fence(honest_text, labels=True)))
    new = [e for e in escapes if e.text not in known]
    if escapes and mode != "off":
        first = (new or escapes)[0]  # a line the honest answer lacks says more
        return (
            f"spotlight ({len(escapes)} line(s) of the response escape: {first.reason}: "
            f"{first.text[:60]!r})"
        )
    guard = guard_reason(evaluator, prompt, response, honest_text)
    if guard is not None:
        return guard
    if new:
        return (
            f"spotlight (off: {len(new)} unmarked line(s) the honest answer lacks, "
            f"first {new[0].text[:60]!r})"
        )
    found = len(structure_spans(response))
    removed = f"the fence removed {found} tag-like span(s)" if found else "nothing to fence"
    return f"judge ({removed})"


def response_escapes(
    evaluator: Evaluator, prompt: str, response: str, honest_text: str
) -> list[Escape]:
    """The lines of ``response`` that escape spotlighting in a request rendered as judged.

    Pointwise: the first rubric's request; in group mode a group request holding the honest
    answer and the response (so a template's group block is checked too). Only the
    response's own block counts.
    """
    item = _item(prompt, response)
    name, rubric = next(iter(evaluator.rubrics.items()))
    if evaluator.config.mode(name) == "group":
        task = evaluator.group_task(rubric, item, [honest_text, response])
        block = "response_2"
    else:
        task = evaluator.task(rubric, item)
        block = "response"
    found = unmarked_lines(task.request, task.fence_key, evaluator.config.judge.spotlight)
    return [e for e in found if e.block == block]


def guard_reason(evaluator: Evaluator, prompt: str, response: str, honest_text: str) -> str | None:
    """``guard (...)`` when the guard should have stopped ``response``, else None."""
    settings = evaluator.config.guard
    if not settings.enabled:
        flag = evaluator.guard.check(response, prompt)
        if flag is not None:
            return f"guard (off; the rule guard would floor it: {flag})"
        if looks_content_free(response, honest_text):
            return "guard (off; content-free text, no substance check)"
        return None
    if not looks_content_free(response, honest_text):
        return None
    if getattr(settings, "substance_model", None):
        return "guard (content-free text passed the rule guard and the substance check)"
    return "guard (content-free text passed the rule guard; no substance_model configured)"


def looks_content_free(response: str, honest_text: str) -> bool:
    """Short, and no content word of the honest answer in it (read through the normalised view).

    A heuristic for the report only (nothing is floored by it): the search's winners that
    carry no word of the answer are announcements, labels, markup and punctuation.
    """
    words = _WORD.findall(normalise(response))
    if len(words) >= CONTENT_FREE_WORDS:
        return False
    honest = set(_WORD.findall(normalise(honest_text)))
    return not any(w in honest and _contentful(w) for w in words)


def _contentful(word: str) -> bool:
    """A word that carries content when shared: not a short Latin function word ("the")."""
    return len(word) >= 4 or not word.isascii() or any(c.isdigit() for c in word)


def _item(prompt: str, response: str) -> JudgeInput:
    """The judged item of a one-turn sample, parsed as the Lambda parses it."""
    raw = {
        "id": "x",
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": response},
        ],
    }
    item = parse_sample(0, raw).item
    if item is None:  # a str prompt and response always parse
        raise ValueError("a one-turn sample did not parse")
    return item
