"""Answers a request asks for that are not rubrics of their own.

A group request scores each response (``response_1``...) on the group's rubric; an explicit
checklist asks, per criterion (``criterion_1``...), whether it is true of the response (0 or
1). Each such answer is a ``Label``: a name in the answer, what it is about and its scale,
which is what the tool spec and the parser need. A request's answers are its rubrics or its
labels (``Answer``).
"""

from __future__ import annotations

from dataclasses import dataclass

from judge.rubric import Rubric


@dataclass(frozen=True)
class Label:
    """One answer of a request about several responses or criteria."""

    name: str  # its name in the answer (and in the outcomes)
    title: str  # what it is about: the rubric's title, or the criterion's text
    scale_min: int
    scale_max: int
    definition: str = ""  # what templates show for it (a criterion's text)
    content_hash: str = ""  # identifies its content (cache keys)

    @property
    def scores(self) -> list[int]:
        """Every valid score, lowest first."""
        return list(range(self.scale_min, self.scale_max + 1))


Answer = Rubric | Label  # what a request asks for: a rubric, or a label
