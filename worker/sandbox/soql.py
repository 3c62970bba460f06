"""A tiny SOQL parser and evaluator: enough of the language for the sandbox Salesforce.

Supported: ``SELECT f1, f2 | COUNT() FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
[LIMIT n] [OFFSET n]``. Conditions: ``field op literal`` (op in ``= != <> < <= > >= LIKE``),
``field [NOT] IN (...)``, ``AND``, ``OR``, ``NOT`` and parentheses; like real SOQL, mixing AND and OR
at one level without parentheses is rejected. Literals: quoted strings, numbers, ``TRUE``/``FALSE`` (so
``IsDeleted = true`` works), ``NULL``, dates and datetimes. Keywords and field names are case-insensitive; string
equality, IN, LIKE and ordering are case-insensitive (Salesforce semantics for text fields); Id
literals may be 15 or 18 characters; datetime literals compare as instants.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from worker.core.ids import try_to_18

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_QUOTED_TYPES = {"id", "string", "picklist", "textarea"}
_SF_TYPE_NAMES = {"id": "id", "string": "string", "picklist": "string", "textarea": "string",
                  "currency": "double", "double": "double", "int": "int", "boolean": "boolean",
                  "datetime": "dateTime", "date": "date"}
_LITERAL_FITS = {"id": {"string"}, "string": {"string"}, "picklist": {"string"}, "textarea": {"string"},
                 "currency": {"number"}, "double": {"number"}, "int": {"number"},
                 "boolean": {"boolean"}, "datetime": {"datetime"}, "date": {"date"}}


class SoqlError(Exception):
    """A query Salesforce would reject; ``code`` is the Salesforce errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Schema:
    """An sObject's queryable fields: canonical name -> field type (Salesforce describe type)."""

    name: str
    fields: Mapping[str, str]

    def resolve(self, name: str) -> str:
        """Return the canonical field name, or raise INVALID_FIELD."""
        bare = name
        if "." in name:
            prefix, _, bare = name.partition(".")
            if prefix.lower() != self.name.lower() or "." in bare:
                raise _no_such_column(name, self.name)
        for canonical in self.fields:
            if canonical.lower() == bare.lower():
                return canonical
        raise _no_such_column(name, self.name)



def _sort_key(name: str, null_flag: int, norm: Callable[[Any], Any]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """Sort key for one ORDER BY column: nulls grouped by ``null_flag``, values normalised."""

    def key(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return (null_flag,) if row.get(name) is None else (1, norm(row[name]))

    return key

def _no_such_column(name: str, entity: str) -> SoqlError:
    return SoqlError(
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom field, be sure "
        "to append the '__c' after the custom field name. Please reference your WSDL or the describe call "
        "for the appropriate names.",
    )


@dataclass
class Query:
    """A parsed query, ready to run over records of its object."""

    object_name: str
    fields: list[str]
    count_only: bool = False
    where: Predicate | None = None
    order_by: list[tuple[str, bool, bool]] = field(default_factory=list)  # (field, descending, nulls_first)
    limit: int | None = None
    offset: int = 0

    def run(self, records: Iterable[Mapping[str, Any]], types: Mapping[str, str]) -> list[Mapping[str, Any]]:
        """Filter, sort and slice ``records``."""
        rows = [r for r in records if self.where is None or self.where(r)]
        for name, descending, nulls_first in reversed(self.order_by):
            null_flag = 0 if nulls_first != descending else 2
            norm = _normalizer(types[name])
            rows.sort(key=_sort_key(name, null_flag, norm), reverse=descending)
        end = None if self.limit is None else self.offset + self.limit
        return rows[self.offset:end]


@lru_cache(maxsize=65536)
def parse_datetime(text: str) -> datetime:
    """Parse a Salesforce/ISO datetime (``Z``, ``+00:00`` or ``+0000`` offsets) into an aware datetime."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    match = re.fullmatch(r"(.*[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2}):?(\d{2})", value)
    if match:
        value = f"{match.group(1)}{match.group(2)}:{match.group(3)}"
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _normalizer(ftype: str) -> Callable[[Any], Any]:
    if ftype in ("string", "picklist", "textarea"):
        return lambda v: str(v).casefold()
    if ftype == "datetime":
        return lambda v: parse_datetime(v) if isinstance(v, str) else v
    if ftype == "date":
        return lambda v: date.fromisoformat(v) if isinstance(v, str) else v
    if ftype in ("currency", "double", "int"):
        return float
    return lambda v: v


class _Parser:
    def __init__(self, text: str, schemas: Mapping[str, Schema]) -> None:
        self.text = text
        self.schemas = {k.lower(): v for k, v in schemas.items()}
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.schema: Schema | None = None

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN_RE.match(text, pos)
            if not match:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text[pos:pos + 10]}'")
            kind = match.lastgroup or ""
            if kind != "ws":
                tokens.append((kind, match.group()))
            pos = match.end()
        return tokens

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("eof", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "eof":
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.pos += 1
        return token

    def at_kw(self, *words: str) -> bool:
        kind, value = self.peek()
        return kind == "ident" and value.upper() in words

    def expect_kw(self, word: str) -> None:
        kind, value = self.take()
        if kind != "ident" or value.upper() != word:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{value}' (expected {word})")

    def expect_punct(self, char: str) -> None:
        kind, value = self.take()
        if kind != "punct" or value != char:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{value}' (expected '{char}')")

    def parse(self) -> Query:
        self.expect_kw("SELECT")
        raw_fields: list[str] = []
        count_only = False
        if self.at_kw("COUNT") and self.peek(1) == ("punct", "("):
            self.pos += 1
            self.expect_punct("(")
            self.expect_punct(")")
            count_only = True
        else:
            while True:
                kind, value = self.take()
                if kind != "ident" or value.upper() == "FROM":
                    raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{value}'")
                raw_fields.append(value)
                if self.peek() != ("punct", ","):
                    break
                self.pos += 1
        self.expect_kw("FROM")
        kind, object_name = self.take()
        if kind != "ident":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{object_name}'")
        self.schema = self.schemas.get(object_name.lower())
        if self.schema is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"sObject type '{object_name}' is not supported. If you are attempting to use a custom object, "
                "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            )
        query = Query(self.schema.name, list(dict.fromkeys(self.schema.resolve(f) for f in raw_fields)),
                      count_only=count_only)
        if self.at_kw("WHERE"):
            self.pos += 1
            query.where = self.parse_or()
        if self.at_kw("ORDER"):
            self.pos += 1
            self.expect_kw("BY")
            query.order_by = self.parse_order()
        if self.at_kw("LIMIT"):
            self.pos += 1
            query.limit = self.parse_int()
        if self.at_kw("OFFSET"):
            self.pos += 1
            query.offset = self.parse_int()
        if self.peek()[0] != "eof":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{self.peek()[1]}'")
        return query

    def parse_int(self) -> int:
        kind, value = self.take()
        if kind != "number" or not value.isdigit():
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{value}' (expected an integer)")
        return int(value)

    def parse_order(self) -> list[tuple[str, bool, bool]]:
        assert self.schema is not None
        items = []
        while True:
            kind, value = self.take()
            if kind != "ident":
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{value}'")
            name = self.schema.resolve(value)
            descending = False
            if self.at_kw("ASC", "DESC"):
                descending = self.take()[1].upper() == "DESC"
            nulls_first = not descending
            if self.at_kw("NULLS"):
                self.pos += 1
                kind, value = self.take()
                if value.upper() not in ("FIRST", "LAST"):
                    raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{value}'")
                nulls_first = value.upper() == "FIRST"
            items.append((name, descending, nulls_first))
            if self.peek() != ("punct", ","):
                return items
            self.pos += 1

    def parse_or(self) -> Predicate:
        parts = [self.parse_not()]
        joiner = None
        while self.at_kw("AND", "OR"):
            word = self.take()[1].upper()
            if joiner and word != joiner:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{word}' (use parentheses to mix AND/OR)")
            joiner = word
            parts.append(self.parse_not())
        if len(parts) == 1:
            return parts[0]
        if joiner == "AND":
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)

    def parse_not(self) -> Predicate:
        if self.at_kw("NOT"):
            self.pos += 1
            inner = self.parse_not()
            return lambda r: not inner(r)
        if self.peek() == ("punct", "("):
            self.pos += 1
            inner = self.parse_or()
            self.expect_punct(")")
            return inner
        return self.parse_comparison()

    def parse_comparison(self) -> Predicate:
        assert self.schema is not None
        kind, value = self.take()
        if kind != "ident":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{value}'")
        name = self.schema.resolve(value)
        ftype = self.schema.fields[name]
        negate = False
        if self.at_kw("NOT") and self.peek(1)[1].upper() == "IN":
            self.pos += 1
            negate = True
        if self.at_kw("IN"):
            self.pos += 1
            self.expect_punct("(")
            values = [self.literal(name, ftype, "IN")]
            while self.peek() == ("punct", ","):
                self.pos += 1
                values.append(self.literal(name, ftype, "IN"))
            self.expect_punct(")")
            norm = _normalizer(ftype)
            wanted = {norm(v) for v in values if v is not None}
            has_null = any(v is None for v in values)

            def member(r: Mapping[str, Any]) -> bool:
                current = r.get(name)
                found = has_null if current is None else norm(current) in wanted
                return found != negate

            return member
        if self.at_kw("LIKE"):
            self.pos += 1
            kind, raw = self.take()
            if kind != "string" or ftype not in ("string", "picklist", "textarea", "id"):
                raise SoqlError("INVALID_FIELD", f"invalid operator on field '{name}': LIKE")
            pattern = _like_regex(raw)
            return lambda r: r.get(name) is not None and pattern.fullmatch(str(r[name])) is not None
        kind, op = self.take()
        if kind != "op":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{op}'")
        literal = self.literal(name, ftype, op)
        return _comparison(name, ftype, op, literal)

    def literal(self, name: str, ftype: str, op: str) -> Any:
        kind, raw = self.take()
        value: Any
        if kind == "ident" and raw.upper() in ("TRUE", "FALSE"):
            kind, value = "boolean", raw.upper() == "TRUE"
        elif kind == "ident" and raw.upper() == "NULL":
            return None
        elif kind == "string":
            value = _unescape(raw)
        elif kind == "number":
            value = float(raw) if "." in raw else int(raw)
        elif kind == "datetime":
            value = parse_datetime(raw)
        elif kind == "date":
            value = date.fromisoformat(raw)
        else:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{raw}'")
        if kind not in _LITERAL_FITS.get(ftype, {kind}):
            quoted = ftype in _QUOTED_TYPES
            raise SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{name}' must be of type {_SF_TYPE_NAMES.get(ftype, ftype)} "
                f"and should {'' if quoted else 'not '}be enclosed in quotes",
            )
        if ftype == "id":
            canonical = try_to_18(value)
            if canonical is None:
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value}")
            return canonical
        return value


def _comparison(name: str, ftype: str, op: str, literal: Any) -> Predicate:
    if literal is None:
        if op == "=":
            return lambda r: r.get(name) is None
        if op in ("!=", "<>"):
            return lambda r: r.get(name) is not None
        raise SoqlError("MALFORMED_QUERY", f"invalid operator {op} with null")
    norm = _normalizer(ftype)
    target = norm(literal)
    compare: Callable[[Any, Any], bool] = {
        "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<>": lambda a, b: a != b,
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    }[op]
    if op in ("!=", "<>"):
        return lambda r: r.get(name) is None or compare(norm(r[name]), target)
    return lambda r: r.get(name) is not None and compare(norm(r[name]), target)


def _unescape(raw: str, like: bool = False) -> str:
    out = []
    body = raw[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            nxt = body[i + 1]
            if like and nxt in "%_":
                out.append("\\" + nxt)
            elif nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            else:
                raise SoqlError("MALFORMED_QUERY",
                                f"Invalid string literal {raw}. Illegal character sequence '\\{nxt}'")
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _like_regex(raw: str) -> re.Pattern[str]:
    text = _unescape(raw, like=True)
    parts = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "%_":
            parts.append(re.escape(text[i + 1]))
            i += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def parse(text: str, schemas: Mapping[str, Schema]) -> Query:
    """Parse ``text`` against the known sObject ``schemas`` (keyed by object name); raises SoqlError."""
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "empty query")
    return _Parser(text, schemas).parse()
