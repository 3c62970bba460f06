"""Rule conditions over Salesforce fields: parsing from YAML and evaluation with an explanation.

A condition is ``{any: [...]}``, ``{all: [...]}``, ``{not: {...}}`` or a field test
``{field: Name, <op>: value}`` with one operator among ``eq ne gt gte lt lte in not_in is_null``.
String comparisons ignore case and surrounding whitespace, like ``salesforce_values``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from worker.core.model import field_value

Scalar = str | int | float | bool | None
MAX_NESTING = 20  # any/all/not levels; a readable rule uses two or three
_OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "is_null")
_SYMBOLS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "in": "in",
            "not_in": "not in", "is_null": "is null"}


class DataError(ValueError):
    """A Salesforce value cannot be compared as the rule asks (e.g. text where a number is needed)."""


@dataclass(frozen=True)
class FieldTest:
    """``field <op> value``."""

    field: str
    op: str
    value: Scalar | tuple[Scalar, ...]

    def fields(self) -> Iterator[str]:
        """Fields this condition reads."""
        yield self.field

    def evaluate(self, record: Mapping[str, Any]) -> tuple[bool, str]:
        """Return whether the test holds and a one-line explanation."""
        actual = field_value(record, self.field)
        result = _compare(self.op, actual, self.value, self.field)
        shown = self.value if not isinstance(self.value, tuple) else list(self.value)
        return result, f"{self.field}={actual!r} {_SYMBOLS[self.op]} {shown!r}: {'yes' if result else 'no'}"


@dataclass(frozen=True)
class Combination:
    """``any`` / ``all`` of sub-conditions, or ``not`` of one."""

    kind: str
    parts: tuple[Condition, ...]

    def fields(self) -> Iterator[str]:
        """Fields this condition reads."""
        for part in self.parts:
            yield from part.fields()

    def evaluate(self, record: Mapping[str, Any]) -> tuple[bool, str]:
        """Return whether the combination holds and the explanation of the deciding parts."""
        if self.kind == "not":
            inner, why = self.parts[0].evaluate(record)
            return (not inner), f"not ({why})"
        results = [part.evaluate(record) for part in self.parts]
        if self.kind == "any":
            hits = [why for ok, why in results if ok]
            return (bool(hits), " or ".join(hits) if hits else "none of: " + "; ".join(w for _, w in results))
        misses = [why for ok, why in results if not ok]
        return (not misses, " and ".join(w for _, w in results) if not misses else "failed: " + "; ".join(misses))


Condition = FieldTest | Combination


def _as_number(value: Any, field: str) -> float:
    if isinstance(value, bool):
        raise DataError(f"{field}={value!r} is a boolean, not a number")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise DataError(f"{field}={value!r} is not a number") from None


def _equal(actual: Any, expected: Scalar) -> bool:
    if expected is None or actual is None:
        return actual is None and expected is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(actual).strip().lower() == str(expected).lower()
    if isinstance(expected, int | float):
        try:
            return float(actual) == float(expected)
        except (TypeError, ValueError):
            return False
    return str(actual).strip().casefold() == str(expected).strip().casefold()


def _compare(op: str, actual: Any, expected: Any, field: str) -> bool:
    if op == "is_null":
        return (actual is None or actual == "") == bool(expected)
    if op in ("eq", "ne"):
        return _equal(actual, expected) == (op == "eq")
    if op in ("in", "not_in"):
        return any(_equal(actual, item) for item in expected) == (op == "in")
    if actual is None:
        return False
    left, right = _as_number(actual, field), _as_number(expected, field)
    return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]


def _scalar(value: Any, where: str) -> Scalar:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: must be a finite number, not .nan or .inf")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"{where}: must be a string, number, boolean or null, not {type(value).__name__}")


def parse_condition(node: Any, where: str) -> Condition:
    """Parse a condition from YAML data; errors read ``"<key path>: <problem>"``.

    ``any`` / ``all`` / ``not`` may nest at most :data:`MAX_NESTING` levels, so that parsing, evaluating and
    explaining a condition never run out of stack.
    """
    return _parse(node, where, 0)


def _parse(node: Any, where: str, depth: int) -> Condition:
    if depth > MAX_NESTING:
        raise ValueError(f"{where}: conditions are nested more than {MAX_NESTING} levels deep; flatten them")
    if not isinstance(node, dict) or not node:
        raise ValueError(f"{where}: must be a mapping such as {{field: X, eq: Y}} or {{any: [...]}}")
    combinators = [key for key in ("any", "all", "not") if key in node]
    if combinators:
        kind = combinators[0]
        if len(node) != 1:
            raise ValueError(f"{where}: '{kind}' must be the only key of its mapping")
        if kind == "not":
            return Combination("not", (_parse(node["not"], f"{where}.not", depth + 1),))
        items = node[kind]
        if not isinstance(items, list) or not items:
            raise ValueError(f"{where}.{kind}: must be a non-empty list of conditions")
        return Combination(kind, tuple(_parse(item, f"{where}.{kind}[{i}]", depth + 1) for i, item in enumerate(items)))
    if "field" not in node or not isinstance(node["field"], str):
        raise ValueError(f"{where}: a field test needs 'field' and one of {', '.join(_OPERATORS)}")
    unknown = set(node) - {"field", *_OPERATORS}
    if unknown:
        raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}; operators are {', '.join(_OPERATORS)}")
    ops = [key for key in _OPERATORS if key in node]
    if len(ops) != 1:
        raise ValueError(f"{where}: give exactly one operator ({', '.join(_OPERATORS)})")
    op = ops[0]
    value = node[op]
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ValueError(f"{where}.{op}: must be a non-empty list")
        return FieldTest(node["field"], op, tuple(_scalar(v, f"{where}.{op}") for v in value))
    if op in ("gt", "gte", "lt", "lte") and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"{where}.{op}: must be a number")
    if op == "is_null" and not isinstance(value, bool):
        raise ValueError(f"{where}.is_null: must be true or false")
    return FieldTest(node["field"], op, _scalar(value, f"{where}.{op}"))
