"""Checklist: per criterion of a sample's checklist, whether it is true of the response.

The answer is a 0/1 per criterion (``judge.checklist.criterion_rubrics``), parsed as a
combined answer (each criterion cached under its own key, a missing one unscored);
``judge.checklist`` turns the answers into a score.
"""

from __future__ import annotations

from judge.kinds.base import OneResponse, register
from judge.kinds.combined import Combined
from judge.prompt import CHECKLIST_TEMPLATE


class Checklist(Combined):
    """``checklist.j2`` with the combined tool and parser, one 0/1 answer per criterion."""

    name = "checklist"
    how = OneResponse(CHECKLIST_TEMPLATE, "checklists", combined=True, checklist=True)


CHECKLIST = register(Checklist())
