"""Request kinds, one module each, and their registry (``judge.kinds.base``).

The built-in kinds (pointwise, combined, checklist, group and pairwise) are registered
when first asked for by name (``judge.kinds.base.BUILT_IN``): a Lambda imports only the kinds
its config uses. A new kind is a module defining an object with the ``Kind`` members that
calls ``register`` (see ``tests/test_kinds.py``); a new built-in one is also named in
``BUILT_IN``.
"""

from judge.kinds.base import Ask, Kind, Outcomes, Rendered, kind, kinds, register, unregister

__all__ = [
    "Ask",
    "Kind",
    "Outcomes",
    "Rendered",
    "kind",
    "kinds",
    "register",
    "unregister",
]
