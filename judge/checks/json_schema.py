"""JSON Schema validation for the ``json`` check, safe on hostile data.

``jsonschema`` (Draft 2020-12) with the keywords that would run Python's backtracking ``re``
on the data (``pattern``, ``patternProperties``, ``additionalProperties`` beside them)
replaced by RE2 versions, and ``uniqueItems`` by a hashing one (jsonschema compares every
pair of unhashable items). What cannot be made safe or needs the network is refused when the
schema loads: a pattern RE2 rejects, ``unevaluatedProperties`` beside ``patternProperties``,
a remote ``$ref``. ``jsonschema`` is imported when a schema is first checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from judge.checks.pattern import compile_pattern
from judge.text import clean

MAX_SCHEMA_DEPTH = 100
PATH_CHARS = 100  # of an error's JSON path in the details (keys come from the response)
# Keywords whose values are data, not schemas: their contents are not walked.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})


@lru_cache(maxsize=1024)
def _re2(pattern: str) -> Any:
    return compile_pattern(pattern, "pattern", ignore_case=False)


def _pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema import ValidationError

    if validator.is_type(instance, "string") and not _re2(patrn).search(clean(instance)):
        yield ValidationError(f"does not match {patrn!r}")


def _pattern_properties(validator: Any, pp: Mapping[str, Any], instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pp.items():
        compiled = _re2(pattern)
        for key, value in instance.items():
            if compiled.search(clean(key)):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, ap: Any, instance: Any, schema: Any) -> Any:
    from jsonschema import ValidationError

    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = [_re2(p) for p in schema.get("patternProperties", {})]
    extras = [
        k for k in instance if k not in known and not any(c.search(clean(k)) for c in patterns)
    ]
    if validator.is_type(ap, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], ap, path=extra)
    elif not ap and extras:
        yield ValidationError(f"{len(extras)} additional properties are not allowed")


def _hashable(value: Any) -> Any:
    """A key equal for values JSON Schema calls equal (1 == 1.0, true != 1, key order)."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("l", tuple(map(_hashable, value)))
    return ("o", frozenset((k, _hashable(v)) for k, v in value.items()))


def _unique_items(validator: Any, unique: bool, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema import ValidationError

    array = unique and validator.is_type(instance, "array")
    if array and len(set(map(_hashable, instance))) < len(instance):
        yield ValidationError("has non-unique elements")


def _walk(node: Any, path: str, depth: int) -> Iterator[str]:
    """Problems of the schema ``node`` RE2 or a Lambda without network cannot take."""
    if depth > MAX_SCHEMA_DEPTH:
        yield f"{path}: nested deeper than {MAX_SCHEMA_DEPTH}. Fix: flatten it with $defs"
        return
    if isinstance(node, list):
        for i, each in enumerate(node):
            yield from _walk(each, f"{path}/{i}", depth + 1)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        at = f"{path}/{key}"
        if key in _DATA_KEYWORDS:
            continue
        if key == "pattern" and isinstance(value, str):
            yield from _compiles(value, at)
        elif key == "patternProperties" and isinstance(value, dict):
            for each in value:
                yield from _compiles(each, f"{at}/{each}")
        elif key in ("$ref", "$dynamicRef") and not str(value).startswith("#"):
            yield f"{at}: {value!r} is not in this schema. Fix: inline it under $defs"
        yield from _walk(value, at, depth + 1)
    if "patternProperties" in node and "unevaluatedProperties" in node:
        yield (
            f"{path or '/'}: unevaluatedProperties beside patternProperties. Fix: use "
            "additionalProperties there (it runs on RE2)"
        )


def _compiles(pattern: str, at: str) -> Iterator[str]:
    try:
        _re2(pattern)
    except ValueError as exc:
        yield f"{at}: {str(exc).removeprefix('pattern: ')}"


def schema_problem(schema: object) -> str:
    """What is wrong with ``schema``, where, and the fix; "" for a schema the check can use."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, dict | bool):
        return f"a schema is an object or a boolean, not {type(schema).__name__}"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/" + "/".join(map(str, exc.absolute_path))
        return f"{where}: {exc.message}. Fix: correct the schema there (JSON Schema 2020-12)"
    return next(_walk(schema, "", 0), "")


class SchemaValidator:
    """A checked schema's validator, with the RE2 and hashing keywords."""

    def __init__(self, schema: dict[str, Any] | bool) -> None:
        from jsonschema import Draft202012Validator, validators

        cls = validators.extend(
            Draft202012Validator,
            {
                "pattern": _pattern,
                "patternProperties": _pattern_properties,
                "additionalProperties": _additional_properties,
                "uniqueItems": _unique_items,
            },
        )
        self.validator = cls(schema)

    def errors(self, value: Any) -> Iterator[dict[str, str]]:
        """Each violation's keyword and JSON path (no values: they are the response's)."""
        for error in self.validator.iter_errors(value):
            yield {"keyword": str(error.validator), "path": clean(error.json_path)[:PATH_CHARS]}
