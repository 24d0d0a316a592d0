"""Metadata filters in Haystack 2.x syntax, validated up front and evaluated as a boolean mask over documents.

Syntax
------
A comparison::

    {"field": "meta.year", "operator": ">=", "value": 2020}

``field`` is ``"content"``, ``"id"`` or ``"meta.<key>"`` (``"meta.a.b"`` reads ``meta["a"]["b"]``);
``operator`` is one of ``==``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``in``, ``not in``.
A logic node combines a non-empty list of nodes::

    {"operator": "AND", "conditions": [{...}, {"operator": "OR", "conditions": [...]}]}

``AND`` and ``OR`` are the usual; ``NOT`` negates the AND of its conditions (as in Haystack).

A malformed filter raises :class:`~docqa.errors.FilterError` before anything is evaluated, naming the node
(``filters.conditions[1].conditions[0]``) and what is wrong with it.

Semantics
---------
These are Haystack 2.x's (its document-store test suite, ``haystack/testing/document_store.py``, passes here; see
``tests/document_stores/test_haystack_filter_suite.py``), with the points Haystack leaves open made exact:

* **No filter**: ``None`` and ``{}`` (at the top level) both mean "every document".
* **Missing field** (the key is absent, or an intermediate value is not a dict) reads as ``None``, as in
  Haystack's in-memory store: ``== None`` is true for a missing or None field, ``!= None`` for a field that is
  present and not None; ``==`` with any other value is false and ``!=`` true. ``!=`` is exactly ``NOT ==`` and
  ``not in`` exactly ``NOT in``, for every document. A missing or None field is ``in`` a list containing
  ``None``.
* **Ordering with None** (``{"operator": ">", "value": None}``, and ``>=``, ``<``, ``<=``) matches nothing (no
  error). Ordering comparisons of a missing or None *field* are false.
* **Equality** is Python's ``==`` (so ``1 == 1.0 == True``), except that two ISO-8601 date strings are equal
  when they denote the same instant (``"2020-01-01"`` equals ``"2020-01-01T00:00:00Z"``).
* **Lists**: ``==`` / ``!=`` against a list value compare whole lists. ``in`` / ``not in`` need a list value
  (else FilterError; a tuple is not a list): a scalar field is ``in`` it when it equals one of its elements; a
  **list-valued field** is ``in`` it when *any* of its elements is (e.g. tags), and ``not in`` it when none is.
* **Ordering** (``>``, ``>=``, ``<``, ``<=``) needs a number (not a bool, not NaN), an ISO-8601 date string or
  ``None`` as the filter value, else FilterError (``"1"`` and ``[1]`` are errors, as in Haystack). Numbers
  compare with numbers (ints and floats alike; bools are not numbers here), dates with dates (both sides
  parsed; a naive date-time is taken as UTC). A document whose field has another type (a plain string, a list,
  a bool...) simply does not match: heterogeneous metadata never makes a query fail. Haystack raises in that
  case instead.
* **Dates** are strings of the form ``YYYY-MM-DD[THH:MM[:SS[.ffffff]]][Z|±HH:MM]``.
* **Malformed trees** (no ``operator``, a logic node without ``conditions``, a comparison without ``field`` or
  ``value``, an unknown operator or field) raise :class:`~docqa.errors.FilterError` naming the node.

Evaluation works column-wise: each field used is gathered once into codes over its distinct values (cached
until the documents change), each comparison is decided once per distinct value and scattered with numpy.

>>> from docqa.schema import Document
>>> docs = [Document("a", meta={"year": 2019}), Document("b", meta={"year": 2021}), Document("c")]
>>> filter_mask({"field": "meta.year", "operator": ">", "value": 2020}, docs).tolist()
[False, True, False]
>>> filter_mask({"operator": "NOT", "conditions": [{"field": "meta.year", "operator": "==", "value": 2019}]},
...             docs).tolist()
[False, True, True]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import numpy as np

from docqa.errors import FilterError
from docqa.schema import Document

LOGIC_OPERATORS = ("AND", "OR", "NOT")
COMPARISON_OPERATORS = ("==", "!=", ">", ">=", "<", "<=", "in", "not in")
_ORDERING = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:?\d{2})?")
MISSING = object()


def parse_date(value: Any) -> float | None:
    """The POSIX timestamp of an ISO-8601 date string (naive = UTC), or None if ``value`` is not one."""
    if not isinstance(value, str) or not _DATE_SHAPE.fullmatch(value):
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Comparison:
    field: str
    path: tuple[str, ...]
    operator: str
    value: Any


@dataclass(frozen=True)
class Logic:
    operator: str
    conditions: tuple[Comparison | Logic, ...]


Node = Comparison | Logic


def validate_filters(filters: Any, where: str = "filters") -> Node:
    """Check ``filters`` completely and return its parsed tree; raise FilterError naming the bad node."""
    if not isinstance(filters, dict):
        raise FilterError(f"invalid filter at {where}: expected a mapping, got {type(filters).__name__}")
    if not filters and where == "filters":  # ``{}`` at the top: no filter, an AND of nothing
        return Logic("AND", ())
    if "operator" not in filters:
        raise FilterError(f"invalid filter at {where}: missing 'operator' (Haystack 2.x syntax is required)")
    operator = filters["operator"]
    if operator in LOGIC_OPERATORS:
        return _validate_logic(filters, operator, where)
    if operator in COMPARISON_OPERATORS:
        return _validate_comparison(filters, operator, where)
    known = ", ".join(LOGIC_OPERATORS + COMPARISON_OPERATORS)
    raise FilterError(f"invalid filter at {where}: unknown operator {operator!r} (expected one of {known})")


def _validate_logic(node: dict[str, Any], operator: str, where: str) -> Logic:
    extra = sorted(set(node) - {"operator", "conditions"})
    if extra:
        raise FilterError(
            f"invalid filter at {where}: logic operator {operator!r} takes only 'conditions', got {extra}"
        )
    conditions = node.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        raise FilterError(f"invalid filter at {where}: {operator!r} needs 'conditions', a non-empty list")
    children = tuple(validate_filters(child, f"{where}.conditions[{i}]") for i, child in enumerate(conditions))
    return Logic(operator, children)


def _validate_comparison(node: dict[str, Any], operator: str, where: str) -> Comparison:
    extra = sorted(set(node) - {"operator", "field", "value"})
    if extra:
        raise FilterError(f"invalid filter at {where}: comparison takes 'field' and 'value', got extra keys {extra}")
    if "field" not in node:
        raise FilterError(f"invalid filter at {where}: comparison {operator!r} is missing 'field'")
    if "value" not in node:
        raise FilterError(f"invalid filter at {where}: comparison {operator!r} is missing 'value'")
    field, value = node["field"], node["value"]
    path = _field_path(field, where)
    if operator in ("in", "not in") and not isinstance(value, list):
        raise FilterError(f"invalid filter at {where}: {operator!r} needs a list value, got {value!r}")
    if operator in _ORDERING and value is not None:
        valid_number = _is_number(value) and not math.isnan(value)
        if not valid_number and parse_date(value) is None:
            raise FilterError(
                f"invalid filter at {where}: {operator!r} needs a number, an ISO-8601 date string or null, "
                f"got {value!r}"
            )
    return Comparison(field, path, operator, value)


def _field_path(field: Any, where: str) -> tuple[str, ...]:
    if not isinstance(field, str):
        raise FilterError(f"invalid filter at {where}: 'field' must be a string, got {field!r}")
    if field in ("content", "id"):
        return (field,)
    parts = field.split(".")
    if parts[0] == "meta" and len(parts) > 1 and all(parts[1:]):
        return tuple(parts)
    raise FilterError(
        f"invalid filter at {where}: unknown field {field!r} (use 'content', 'id' or 'meta.<key>', e.g. 'meta.{field}')"
    )


class FieldColumn:
    """One field over all rows: ``codes[row]`` indexes ``uniques`` (-1: missing); per-unique caches."""

    def __init__(self, values: Sequence[Any] = ()) -> None:
        index: dict[Any, int] = {}
        uniques: list[Any] = []
        codes = np.empty(len(values), dtype=np.int64)
        for row, value in enumerate(values):
            if value is MISSING:
                codes[row] = -1
                continue
            key = factor_key(value)
            code = index.get(key)
            if code is None:
                code = index[key] = len(uniques)
                uniques.append(value)
            codes[row] = code
        self.codes = codes
        self.uniques = uniques
        self._numbers: np.ndarray | None = None
        self._dates: np.ndarray | None = None

    @classmethod
    def from_codes(cls, codes: np.ndarray, uniques: list[Any]) -> FieldColumn:
        """A column already factorized (a saved segment's): ``codes`` index ``uniques``, -1 is missing."""
        column = cls()
        column.codes, column.uniques = codes, uniques
        return column

    @property
    def numbers(self) -> np.ndarray:
        if self._numbers is None:
            self._numbers = np.array([float(u) if _is_number(u) else np.nan for u in self.uniques], dtype=np.float64)
        return self._numbers

    @property
    def dates(self) -> np.ndarray:
        if self._dates is None:
            parsed = (parse_date(u) for u in self.uniques)
            self._dates = np.array([np.nan if ts is None else ts for ts in parsed], dtype=np.float64)
        return self._dates

    def scatter(self, per_unique: np.ndarray, missing: bool) -> np.ndarray:
        """Per-row booleans from per-unique ones; missing rows get ``missing``."""
        return np.append(per_unique.astype(bool, copy=False), missing)[self.codes]


def factor_key(value: Any) -> Any:
    """The key that tells distinct field values apart (``1``, ``1.0`` and ``True`` stay three values)."""
    try:
        hash(value)
    except TypeError:
        return (type(value), repr(value))
    return (type(value), value)


def read_field(document: Document | None, path: tuple[str, ...]) -> Any:
    """The value at ``path`` of ``document`` (:data:`MISSING` where there is none)."""
    if document is None:
        return MISSING
    if path[0] == "content":
        return document.content
    if path[0] == "id":
        return document.id
    value: Any = document.meta
    for key in path[1:]:
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


class ColumnSource(Protocol):
    """Field columns over a fixed sequence of rows, as :func:`evaluate` reads them."""

    def __len__(self) -> int: ...

    def column(self, path: tuple[str, ...]) -> FieldColumn: ...


class DocumentColumns:
    """Field columns over a fixed sequence of rows (``None`` rows are deleted: every field is missing there).

    Build a new one whenever the rows change; columns are gathered lazily, once per field.
    """

    def __init__(self, rows: Sequence[Document | None]) -> None:
        self._rows = rows
        self._columns: dict[tuple[str, ...], FieldColumn] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def column(self, path: tuple[str, ...]) -> FieldColumn:
        column = self._columns.get(path)
        if column is None:
            column = self._columns[path] = FieldColumn([read_field(doc, path) for doc in self._rows])
        return column


def evaluate(node: Node, columns: ColumnSource) -> np.ndarray:
    """The boolean mask of rows matching the validated filter ``node``."""
    if isinstance(node, Logic):
        if not node.conditions:  # only the top-level ``{}``
            return np.ones(len(columns), dtype=bool)
        masks = [evaluate(child, columns) for child in node.conditions]
        if node.operator == "OR":
            return np.logical_or.reduce(masks)
        combined = np.logical_and.reduce(masks)
        return ~combined if node.operator == "NOT" else combined
    column = columns.column(node.path)
    operator, value = node.operator, node.value
    if operator in _ORDERING:
        if value is None:
            return np.zeros(len(columns), dtype=bool)
        return column.scatter(_ordering(column, operator, value), missing=False)
    if operator in ("==", "!="):
        equal = _per_unique(column.uniques, lambda unique: _equal(unique, value))
        missing_equal = value is None  # a missing field reads as None
        return column.scatter(equal if operator == "==" else ~equal, missing=missing_equal == (operator == "=="))
    member = _Membership(value)
    inside = _per_unique(column.uniques, member.contains)
    missing_inside = member.contains(None)
    return column.scatter(inside if operator == "in" else ~inside, missing=missing_inside == (operator == "in"))


def _ordering(column: FieldColumn, operator: str, value: Any) -> np.ndarray:
    compare = _ORDERING[operator]
    if _is_number(value):
        numbers = column.numbers
        return ~np.isnan(numbers) & compare(np.nan_to_num(numbers), value)
    dates, target = column.dates, parse_date(value)
    assert target is not None  # validated: the value is a number or a date
    return ~np.isnan(dates) & compare(np.nan_to_num(dates), target)


def _per_unique(uniques: list[Any], predicate: Callable[[Any], bool]) -> np.ndarray:
    return np.fromiter((predicate(u) for u in uniques), dtype=bool, count=len(uniques))


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str) and left != right:
        left_date, right_date = parse_date(left), parse_date(right)
        if left_date is not None and right_date is not None:
            return left_date == right_date
    try:
        return bool(left == right)
    except (TypeError, ValueError):  # e.g. numpy arrays in meta: ambiguous truth value
        return False


class _Membership:
    """``x in values`` with docqa's equality; list-valued ``x`` is in when any of its elements is."""

    def __init__(self, values: list[Any]) -> None:
        self._hashable: set[Any] = set()
        self._others: list[Any] = []
        for value in values:
            try:
                self._hashable.add(value)
            except TypeError:
                self._others.append(value)
        self._dates = {ts for ts in (parse_date(v) for v in values) if ts is not None}

    def contains(self, value: Any) -> bool:
        if isinstance(value, list):
            return any(self._contains_one(item) for item in value)
        return self._contains_one(value)

    def _contains_one(self, value: Any) -> bool:
        if self._dates and isinstance(value, str) and parse_date(value) in self._dates:
            return True
        try:
            if value in self._hashable:
                return True
        except TypeError:
            pass
        return any(_equal(value, other) for other in self._others)


def filter_mask(filters: dict[str, Any] | None, documents: Sequence[Document | None]) -> np.ndarray:
    """Which of ``documents`` match ``filters`` (all if ``filters`` is None), as a boolean array."""
    if filters is None:
        return np.array([doc is not None for doc in documents], dtype=bool)
    node = validate_filters(filters)
    live = np.array([doc is not None for doc in documents], dtype=bool)
    return evaluate(node, DocumentColumns(documents)) & live


def document_matches(filters: dict[str, Any] | None, document: Document) -> bool:
    """Whether one document matches ``filters``."""
    return bool(filter_mask(filters, [document])[0])
