"""Group mode: the batch's responses to one prompt, judged together in one call.

Judges rank more reliably side by side than they score in isolation (the argument behind
OpenPipe's RULER), and GRPO only needs a prompt's rollouts ranked correctly. A group is the
distinct responses that share a conversation and reference: identical responses are judged
once. Their order is a keyed hash of the content (a policy cannot choose to be shown first),
groups above the size limit are split into near-equal parts, and a part of one response is
judged pointwise. With two orders, every part is also judged reversed: a judge's position
bias then moves each response's two scores in opposite directions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Callable

from judge.label import Answer, Label
from judge.prompt import JudgeInput

ANSWER_PREFIX = "response_"


def context_key(item: JudgeInput) -> str:
    """What responses must share to be judged together: the conversation and reference."""
    return json.dumps([[[t.role, t.text] for t in item.conversation], item.reference])


def shuffled(secret: bytes, context: JudgeInput, responses: list[str]) -> list[str]:
    """The distinct ``responses`` in a keyed, content-determined order.

    The same group renders the same request (so the verdict cache hits), and without the
    secret a policy cannot tell where its response will stand.
    """
    salt = context_key(context).encode("utf-8", "surrogatepass")

    def rank(response: str) -> bytes:
        material = salt + b"\x00" + response.encode("utf-8", "surrogatepass")
        return hmac.new(secret, material, hashlib.sha256).digest()

    return sorted(dict.fromkeys(responses), key=lambda r: (rank(r), r))


def split(
    responses: list[str],
    max_size: int,
    max_chars: int | None = None,
    size: Callable[[str], int] = len,
) -> list[list[str]]:
    """``responses`` in consecutive parts of near-equal size, none above ``max_size``.

    A part longer than ``max_chars`` in total (each response measured by ``size``: the
    pipeline counts the fenced text the judge reads) is halved until it fits or is one
    response: one long response must not push its group past the judge's context, where
    the whole call (every response in it) would fail.
    """
    if not responses:
        return []
    parts = math.ceil(len(responses) / max_size)
    base, extra = divmod(len(responses), parts)
    out: list[list[str]] = []
    start = 0
    for i in range(parts):
        count = base + (i < extra)
        out += _fit(responses[start : start + count], max_chars, size)
        start += count
    return out


def _fit(part: list[str], max_chars: int | None, size: Callable[[str], int]) -> list[list[str]]:
    if max_chars is None or len(part) < 2 or sum(map(size, part)) <= max_chars:
        return [part]
    half = (len(part) + 1) // 2
    return _fit(part[:half], max_chars, size) + _fit(part[half:], max_chars, size)


def orders(responses: list[str], count: int) -> list[list[str]]:
    """The orders a part is judged in: as shuffled, then (``count`` 2) reversed."""
    return [responses, responses[::-1]][:count]


def answer_name(position: int) -> str:
    """The label of the response at 0-based ``position`` in a group request."""
    return f"{ANSWER_PREFIX}{position + 1}"


def answer_labels(rubric: Answer, size: int) -> tuple[Label, ...]:
    """One label per response of a group request, on ``rubric``'s scale."""
    return tuple(
        Label(answer_name(i), rubric.title, rubric.scale_min, rubric.scale_max) for i in range(size)
    )


answer_rubrics = answer_labels  # the name tooling used before labels had a type
