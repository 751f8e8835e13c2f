"""Request kinds, one module each, and their registry (``judge.kinds.base``).

Importing the package registers the built-in kinds: pointwise, combined, checklist, group
and pairwise. A new kind is a module defining an object with the ``Kind`` members that
calls ``register`` (see ``tests/test_kinds.py``).
"""

from judge.kinds import checklist, combined, group, pairwise, pointwise
from judge.kinds.base import Ask, Kind, Outcomes, Rendered, kind, kinds, register, unregister

__all__ = [
    "Ask",
    "Kind",
    "Outcomes",
    "Rendered",
    "checklist",
    "combined",
    "group",
    "kind",
    "kinds",
    "pairwise",
    "pointwise",
    "register",
    "unregister",
]
