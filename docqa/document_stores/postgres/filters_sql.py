"""Filters compiled to parameterized PostgreSQL, with the semantics of :mod:`docqa.document_stores.filters`.

Values and field paths travel as query parameters, never inside the SQL text; the tree's grouping is kept by
parenthesizing every node, so an ``AND`` over a ``NOT``/``OR`` means what the tree says. A missing field reads as
JSON ``null`` (as in the in-memory store), so ``== None`` matches missing-or-None fields and ``!=`` is exactly
``NOT ==``.

>>> text, params = compile_filters({"field": "meta.year", "operator": ">", "value": 2020})
>>> "%s" in text and "2020" not in text
True
>>> params
[['year'], ['year'], 2020]
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from docqa.document_stores.filters import Comparison, Logic, Node, _is_number, parse_date, validate_filters

_ORDERING = (">", ">=", "<", "<=")


class _Sql:
    """SQL text with ``%s`` placeholders and their parameters, in order."""

    def __init__(self, text: str = "", params: list[Any] | None = None) -> None:
        self.text = text
        self.params: list[Any] = [] if params is None else params

    def __add__(self, other: _Sql | str) -> _Sql:
        if isinstance(other, str):
            return _Sql(self.text + other, list(self.params))
        return _Sql(self.text + other.text, self.params + other.params)


def compile_filters(filters: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """A SQL boolean expression over the documents table and its parameters (``TRUE`` for no filter)."""
    if filters is None:
        return "TRUE", []
    compiled = _node(validate_filters(filters))
    return compiled.text, compiled.params


def _node(node: Node) -> _Sql:
    if isinstance(node, Comparison):
        return _comparison(node)
    return _logic(node)


def _logic(node: Logic) -> _Sql:
    if not node.conditions:  # the top-level {}: no filter
        return _Sql("TRUE")
    joiner = " OR " if node.operator == "OR" else " AND "
    combined = _Sql("(")
    for position, child in enumerate(node.conditions):
        combined = combined + (joiner if position else "") + _node(child)
    combined = combined + ")"
    return _Sql("(NOT ") + combined + ")" if node.operator == "NOT" else combined


def _field(node: Comparison) -> _Sql:
    if node.path[0] in ("id", "content"):
        return _Sql(f"to_jsonb({node.path[0]})")  # a fixed column name from the validated path, never user text
    return _Sql("COALESCE(meta #> %s::text[], 'null'::jsonb)", [list(node.path[1:])])


def _comparison(node: Comparison) -> _Sql:
    field, operator, value = _field(node), node.operator, node.value
    if operator in _ORDERING:
        return _ordering(field, operator, value)
    if operator in ("==", "!="):
        equal = _equal(field, value)
        return equal if operator == "==" else _Sql("(NOT ") + equal + ")"
    inside = _membership(field, value)
    return inside if operator == "in" else _Sql("(NOT ") + inside + ")"


def _equal(field: _Sql, value: Any) -> _Sql:
    """``field == value`` in docqa's sense: jsonb equality (numbers numerically), bool ~ 0/1, same-instant dates."""
    clauses = [field + " = %s::jsonb" if value is not None else field + " = 'null'::jsonb"]
    if value is not None:
        clauses[0].params.append(Jsonb(value))
    if isinstance(value, bool):
        clauses.append(_when(field, "number", "(", "::numeric = %s)", int(value)))
    elif _is_number(value) and value in (0, 1):
        clauses.append(field + " = %s::jsonb")
        clauses[-1].params.append(Jsonb(bool(value)))
    instant = parse_date(value)
    if instant is not None:
        clauses.append(_when(field, "string", "docqa_parse_date(", " #>> '{}') = %s", instant))
    combined = _Sql("COALESCE((")
    for position, clause in enumerate(clauses):
        combined = combined + (" OR " if position else "") + clause
    return combined + "), FALSE)"


def _when(field: _Sql, json_type: str, before: str, after: str, param: Any) -> _Sql:
    """``CASE WHEN jsonb_typeof(field) = json_type THEN before field after ELSE FALSE END`` (cast-safe)."""
    test = _Sql("CASE WHEN jsonb_typeof(") + field + f") = '{json_type}' THEN "
    return test + before + field + _Sql(after, [param]) + " ELSE FALSE END"


def _ordering(field: _Sql, operator: str, value: Any) -> _Sql:
    if value is None:
        return _Sql("FALSE")
    if _is_number(value):
        return _Sql("(") + _when(field, "number", "(", f")::numeric {operator} %s", value) + ")"
    return (
        _Sql("COALESCE(")
        + _when(field, "string", "docqa_parse_date(", f" #>> '{{}}') {operator} %s", parse_date(value))
        + ", FALSE)"
    )


def _membership(field: _Sql, values: list[Any]) -> _Sql:
    """A scalar field equal to one of ``values``, or a list-valued field with any element that is."""
    if not values:
        return _Sql("FALSE")
    elements = _Sql("EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(") + field + ") = 'array' "
    elements = elements + "THEN " + field + " ELSE jsonb_build_array(" + field + ") END) AS element(value) WHERE "
    element = _Sql("element.value")
    for position, value in enumerate(values):
        elements = elements + (" OR " if position else "") + _equal(element, value)
    return elements + ")"
