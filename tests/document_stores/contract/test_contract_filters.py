"""Every filter operator on every store, each case's expected ids from an independent Python predicate.

The predicates spell out the documented semantics (a missing field reads as None; ordering with None matches
nothing; list-valued fields are ``in`` when any element is; dates compare as instants), so a store passes only
by implementing them, not by agreeing with another store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from docqa.errors import FilterError
from docqa.schema import Document

MISSING = object()


def _corpus() -> list[Document]:
    metas: list[dict[str, Any]] = [
        {"year": 2019, "lang": "en", "tags": ["news", "sport"], "date": "2019-06-01", "info": {"rank": 1}},
        {"year": 2021, "lang": "de", "tags": ["news"], "date": "2021-01-01T12:00:00Z", "score": 0.5},
        {"year": 2021.0, "lang": None, "tags": [], "date": "2021-01-01T13:00:00+01:00", "flag": True},
        {"year": "2020", "lang": "en", "date": "not a date", "flag": False, "info": {"rank": 3}},
        {"lang": "fr", "tags": ["sport"], "score": 1, "flag": 1},
        {"year": None, "date": "2020-02-30", "info": "flat"},
        {},
    ]
    return [Document(f"document number {i}", meta=meta, id=f"d{i}") for i, meta in enumerate(metas)]


def _get(doc: Document, *path: str) -> Any:
    value: Any = doc.meta
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None  # missing reads as None
        value = value[key]
    return value


def _instant(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _eq(a: Any, b: Any) -> bool:
    if _instant(a) is not None and _instant(b) is not None:
        return _instant(a) == _instant(b)
    return bool(a == b)


def _in(field: Any, values: list[Any]) -> bool:
    items = field if isinstance(field, list) else [field]
    return any(_eq(item, value) for item in items for value in values)


Case = tuple[str, dict[str, Any], Callable[[Document], bool]]


def _cmp(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "operator": op, "value": value}


CASES: list[Case] = [
    ("eq_string", _cmp("meta.lang", "==", "en"), lambda d: _get(d, "lang") == "en"),
    ("eq_number_int_float", _cmp("meta.year", "==", 2021), lambda d: _get(d, "year") == 2021),
    ("eq_true_is_one", _cmp("meta.flag", "==", True), lambda d: _get(d, "flag") == True),  # noqa: E712
    ("eq_none_missing_or_none", _cmp("meta.lang", "==", None), lambda d: _get(d, "lang") is None),
    ("ne_none_present", _cmp("meta.lang", "!=", None), lambda d: _get(d, "lang") is not None),
    ("ne_value_includes_missing", _cmp("meta.lang", "!=", "en"), lambda d: _get(d, "lang") != "en"),
    ("eq_whole_list", _cmp("meta.tags", "==", ["news"]), lambda d: _get(d, "tags") == ["news"]),
    ("eq_nested", _cmp("meta.info.rank", "==", 3), lambda d: _get(d, "info", "rank") == 3),
    ("eq_dict", _cmp("meta.info", "==", {"rank": 1}), lambda d: _get(d, "info") == {"rank": 1}),
    ("eq_same_instant", _cmp("meta.date", "==", "2021-01-01T12:00:00+00:00"),
     lambda d: _eq(_get(d, "date"), "2021-01-01T12:00:00+00:00")),
    ("eq_id", _cmp("id", "==", "d3"), lambda d: d.id == "d3"),
    ("eq_content", _cmp("content", "==", "document number 4"), lambda d: d.content == "document number 4"),
    ("gt_number", _cmp("meta.year", ">", 2019), lambda d: _num(_get(d, "year")) and _get(d, "year") > 2019),
    ("ge_number", _cmp("meta.year", ">=", 2019), lambda d: _num(_get(d, "year")) and _get(d, "year") >= 2019),
    ("lt_float", _cmp("meta.score", "<", 0.75), lambda d: _num(_get(d, "score")) and _get(d, "score") < 0.75),
    ("le_number", _cmp("meta.score", "<=", 1), lambda d: _num(_get(d, "score")) and _get(d, "score") <= 1),
    ("gt_none_matches_nothing", _cmp("meta.year", ">", None), lambda d: False),
    ("le_none_matches_nothing", _cmp("meta.year", "<=", None), lambda d: False),
    ("gt_date", _cmp("meta.date", ">", "2020-12-31"),
     lambda d: _instant(_get(d, "date")) is not None and _instant(_get(d, "date")) > _instant("2020-12-31")),
    ("lt_date_with_offset", _cmp("meta.date", "<", "2021-01-01T12:30:00Z"),
     lambda d: _instant(_get(d, "date")) is not None and _instant(_get(d, "date")) < _instant("2021-01-01T12:30Z")),
    ("in_scalar", _cmp("meta.lang", "in", ["en", "fr"]), lambda d: _in(_get(d, "lang"), ["en", "fr"])),
    ("in_list_field_any", _cmp("meta.tags", "in", ["sport"]), lambda d: _in(_get(d, "tags"), ["sport"])),
    ("in_with_none", _cmp("meta.lang", "in", [None, "de"]), lambda d: _in(_get(d, "lang"), [None, "de"])),
    ("in_empty", _cmp("meta.lang", "in", []), lambda d: False),
    ("not_in", _cmp("meta.lang", "not in", ["en"]), lambda d: not _in(_get(d, "lang"), ["en"])),
    ("not_in_list_field", _cmp("meta.tags", "not in", ["news"]), lambda d: not _in(_get(d, "tags"), ["news"])),
    ("in_numbers", _cmp("meta.year", "in", [2021, 2019]), lambda d: _in(_get(d, "year"), [2021, 2019])),
    ("empty_filter", {}, lambda d: True),
    (
        "and_or_not_precedence",
        {"operator": "AND", "conditions": [
            _cmp("meta.lang", "!=", None),
            {"operator": "OR", "conditions": [_cmp("meta.year", "==", 2019), _cmp("meta.score", ">", 0.9)]},
        ]},
        lambda d: _get(d, "lang") is not None and (_get(d, "year") == 2019 or (_num(_get(d, "score")) and
                                                                                _get(d, "score") > 0.9)),
    ),
    (
        "not_in_inside_and",  # Haystack pgvector PR #3586: an ungrouped NOT IN escaping an AND
        {"operator": "AND", "conditions": [_cmp("meta.lang", "not in", ["en", "de"]), _cmp("meta.flag", "!=", None)]},
        lambda d: not _in(_get(d, "lang"), ["en", "de"]) and _get(d, "flag") is not None,
    ),
    (
        "not_of_or",
        {"operator": "NOT", "conditions": [
            {"operator": "OR", "conditions": [_cmp("meta.lang", "==", "en"), _cmp("meta.lang", "==", "de")]}]},
        lambda d: _get(d, "lang") not in ("en", "de"),
    ),
    (
        "not_is_nand",
        {"operator": "NOT", "conditions": [_cmp("meta.lang", "==", "en"), _cmp("meta.year", "==", 2019)]},
        lambda d: not (_get(d, "lang") == "en" and _get(d, "year") == 2019),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("name", "filters", "expected"), CASES, ids=[case[0] for case in CASES])
def test_filter_case(store: Any, name: str, filters: dict[str, Any], expected: Callable[[Document], bool]) -> None:
    docs = _corpus()
    store.write_documents(docs)
    wanted = [doc.id for doc in docs if expected(doc)]
    assert [doc.id for doc in store.filter_documents(filters)] == wanted


@pytest.mark.parametrize(
    "filters",
    [
        {"field": "meta.x", "operator": "in", "value": "en"},
        {"field": "meta.x", "operator": ">", "value": "soon"},
        {"field": "lang", "operator": "==", "value": 1},
        {"operator": "AND", "conditions": []},
        {"field": "meta.x", "operator": "~", "value": 1},
    ],
)
def test_malformed_filters_raise(store: Any, filters: dict[str, Any]) -> None:
    store.write_documents(_corpus())
    with pytest.raises(FilterError):
        store.filter_documents(filters)
