from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest

from docqa.document_stores import InMemoryDocumentStore, document_matches, filter_mask
from docqa.errors import FilterError
from docqa.schema import Document

MISSING = object()


# ----------------------------------------------------------------------------- reference implementation
# A direct per-document transcription of the semantics documented in docqa.document_stores.filters.
def ref_date(value: Any) -> float | None:
    if not isinstance(value, str) or len(value) < 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def ref_field(doc: Document, field: str) -> Any:
    if field in ("content", "id"):
        return getattr(doc, field)
    value: Any = doc.meta
    for key in field.split(".")[1:]:
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def ref_equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str) and ref_date(a) is not None and ref_date(b) is not None:
        return ref_date(a) == ref_date(b)
    return bool(a == b)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def ref_order(value: Any, operator: str, target: Any) -> bool:
    if is_number(target):
        if not is_number(value):
            return False
        left, right = value, target
    else:
        left, right = ref_date(value), ref_date(target)
        if left is None:
            return False
    return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[operator]


def ref_match(node: dict, doc: Document) -> bool:
    operator = node["operator"]
    if operator in ("AND", "OR", "NOT"):
        results = [ref_match(child, doc) for child in node["conditions"]]
        return {"AND": all(results), "OR": any(results), "NOT": not all(results)}[operator]
    value, target = ref_field(doc, node["field"]), node["value"]
    value = None if value is MISSING else value  # a missing field reads as None (Haystack's in-memory store)
    if operator in ("==", "!="):
        equal = ref_equal(value, target)
        return equal if operator == "==" else not equal
    if operator in ("in", "not in"):
        items = value if isinstance(value, list) else [value]
        inside = any(ref_equal(item, t) for item in items for t in target)
        return inside if operator == "in" else not inside
    return value is not None and target is not None and ref_order(value, operator, target)


# ---------------------------------------------------------------------------------------------- data
def make_documents() -> list[Document]:
    rng = np.random.default_rng(0)
    years = [1999, 2000, 2000.0, 2001.5, 2024, True, None, "2000", MISSING]
    dates = ["2020-01-01", "2020-01-01T00:00:00Z", "2020-06-15T12:30:00+02:00", "2021-03-01T08:00:00", "soon", MISSING]
    tags = [["a", "b"], ["b"], [], ["c", 1], "a", MISSING]
    names = ["alice", "bob", "Alice", "", None, MISSING]
    documents = []
    for i in range(150):
        meta: dict[str, Any] = {}
        for key, pool in (("year", years), ("date", dates), ("tags", tags), ("name", names)):
            value = pool[int(rng.integers(len(pool)))]
            if value is not MISSING:
                meta[key] = value
        if rng.random() < 0.5:
            meta["nested"] = {"level": int(rng.integers(3))} if rng.random() < 0.8 else "flat"
        documents.append(Document(f"doc {i} {'apple' if i % 4 == 0 else 'pear'}", meta=meta))
    return documents


FIELD_VALUES: dict[str, list[Any]] = {
    "meta.year": [2000, 2000.5, 1999, True, None, "2000", 0],
    "meta.date": ["2020-01-01", "2020-01-01T01:00:00+01:00", "2020-06-15", "2021-03-01T08:00:00Z", "soon"],
    "meta.tags": ["a", ["a", "b"], [], 1],
    "meta.name": ["alice", "Alice", "", None, "carol"],
    "meta.nested.level": [0, 1, 2],
    "meta.nested": ["flat", {"level": 1}],
    "content": ["doc 0 apple", "doc 1 pear"],
}


def random_comparison(rng: np.random.Generator) -> dict:
    field = list(FIELD_VALUES)[int(rng.integers(len(FIELD_VALUES)))]
    pool = FIELD_VALUES[field]
    operator = ["==", "!=", ">", ">=", "<", "<=", "in", "not in"][int(rng.integers(8))]
    if operator in ("in", "not in"):
        size = int(rng.integers(0, 4))
        value: Any = [pool[int(rng.integers(len(pool)))] for _ in range(size)]
    elif operator in ("==", "!="):
        value = pool[int(rng.integers(len(pool)))]
    else:
        orderable = [v for v in pool if (is_number(v) and not math.isnan(v)) or ref_date(v) is not None]
        orderable.append(None)  # matches nothing
        if not orderable:
            return {"field": field, "operator": "==", "value": pool[0]}
        value = orderable[int(rng.integers(len(orderable)))]
    return {"field": field, "operator": operator, "value": value}


def random_filter(rng: np.random.Generator, depth: int = 0) -> dict:
    if depth >= 3 or rng.random() < 0.45:
        return random_comparison(rng)
    operator = ["AND", "OR", "NOT"][int(rng.integers(3))]
    return {"operator": operator, "conditions": [random_filter(rng, depth + 1) for _ in range(int(rng.integers(1, 4)))]}


def test_random_filters_agree_with_reference() -> None:
    documents = make_documents()
    store = InMemoryDocumentStore()
    store.write_documents(documents)
    rng = np.random.default_rng(1)
    for _ in range(400):
        filters = random_filter(rng)
        expected = [doc.id for doc in documents if ref_match(filters, doc)]
        assert [doc.id for doc in store.filter_documents(filters)] == expected, filters
        assert filter_mask(filters, documents).tolist() == [ref_match(filters, doc) for doc in documents]


# ------------------------------------------------------------------------------------- explicit cases
DOCS = [
    Document("one", meta={"year": 2020, "tags": ["x", "y"], "date": "2021-05-01T10:00:00Z", "who": None}),
    Document("two", meta={"year": 2021.5, "tags": ["z"], "date": "2021-05-01"}),
    Document("three", meta={"year": "2022", "tags": "x", "nested": {"deep": {"value": 3}}}),
    Document("four", meta={}),
]


def matching(filters: dict) -> list[str]:
    return [doc.content for doc, hit in zip(DOCS, filter_mask(filters, DOCS), strict=True) if hit]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"field": "meta.year", "operator": "==", "value": 2020}, ["one"]),
        ({"field": "meta.year", "operator": "==", "value": 2020.0}, ["one"]),
        ({"field": "meta.year", "operator": "!=", "value": 2020}, ["two", "three", "four"]),
        ({"field": "meta.year", "operator": ">", "value": 2020}, ["two"]),  # "2022" is a string: no match
        ({"field": "meta.year", "operator": ">=", "value": 2020}, ["one", "two"]),
        ({"field": "meta.year", "operator": "<", "value": 2021}, ["one"]),
        ({"field": "meta.year", "operator": "<=", "value": 2021.5}, ["one", "two"]),
        ({"field": "meta.year", "operator": "in", "value": [2020, "2022"]}, ["one", "three"]),
        ({"field": "meta.year", "operator": "not in", "value": [2020, "2022"]}, ["two", "four"]),
        ({"field": "meta.tags", "operator": "in", "value": ["x"]}, ["one", "three"]),  # list field: any element
        ({"field": "meta.tags", "operator": "not in", "value": ["x", "z"]}, ["four"]),
        ({"field": "meta.tags", "operator": "==", "value": ["x", "y"]}, ["one"]),  # whole-list equality
        ({"field": "meta.tags", "operator": "==", "value": "x"}, ["three"]),
        ({"field": "meta.who", "operator": "==", "value": None}, ["one", "two", "three", "four"]),  # missing too
        ({"field": "meta.year", "operator": "==", "value": None}, ["four"]),
        ({"field": "meta.who", "operator": "!=", "value": None}, []),
        ({"field": "meta.year", "operator": "!=", "value": None}, ["one", "two", "three"]),
        ({"field": "meta.who", "operator": "in", "value": [None]}, ["one", "two", "three", "four"]),
        ({"field": "meta.year", "operator": "not in", "value": [None, 2020]}, ["two", "three"]),
        ({"field": "meta.year", "operator": ">", "value": None}, []),
        ({"field": "meta.year", "operator": "<=", "value": None}, []),
        ({}, ["one", "two", "three", "four"]),  # no filter
        ({"field": "meta.date", "operator": ">", "value": "2021-05-01T09:59:59Z"}, ["one"]),
        ({"field": "meta.date", "operator": ">=", "value": "2021-05-01"}, ["one", "two"]),
        ({"field": "meta.date", "operator": "<", "value": "2021-05-01T12:00:00+02:00"}, ["two"]),
        ({"field": "meta.date", "operator": "==", "value": "2021-05-01T00:00:00+00:00"}, ["two"]),
        ({"field": "meta.nested.deep.value", "operator": "==", "value": 3}, ["three"]),
        ({"field": "meta.nested.deep.value", "operator": "!=", "value": 3}, ["one", "two", "four"]),
        ({"field": "content", "operator": "in", "value": ["one", "four"]}, ["one", "four"]),
        ({"field": "id", "operator": "==", "value": DOCS[1].id}, ["two"]),
        (
            {
                "operator": "OR",
                "conditions": [
                    {"field": "meta.year", "operator": "==", "value": 2020},
                    {
                        "operator": "AND",
                        "conditions": [
                            {"field": "meta.tags", "operator": "in", "value": ["x", "z"]},
                            {"operator": "NOT", "conditions": [{"field": "meta.year", "operator": ">", "value": 2021}]},
                        ],
                    },
                ],
            },
            ["one", "three"],
        ),
        (
            {
                "operator": "NOT",
                "conditions": [
                    {"field": "meta.year", "operator": ">=", "value": 2020},
                    {"field": "meta.tags", "operator": "in", "value": ["x"]},
                ],
            },
            ["two", "three", "four"],  # NOT of the AND
        ),
    ],
)
def test_documented_semantics(filters: dict, expected: list[str]) -> None:
    assert matching(filters) == expected


def test_document_matches_and_store_filters_agree() -> None:
    store = InMemoryDocumentStore()
    store.write_documents(DOCS)
    filters = {"field": "meta.tags", "operator": "in", "value": ["y", "z"]}
    assert [doc.content for doc in store.filter_documents(filters)] == ["one", "two"]
    assert [document_matches(filters, doc) for doc in DOCS] == [True, True, False, False]
    assert [doc.content for doc in store.filter_documents(None)] == ["one", "two", "three", "four"]


def test_filter_cache_is_refreshed_after_writes_and_deletes() -> None:
    store = InMemoryDocumentStore()
    store.write_documents(DOCS[:2])
    filters = {"field": "meta.year", "operator": "<", "value": 3000}
    assert len(store.filter_documents(filters)) == 2
    store.write_documents([Document("new", meta={"year": 1})])
    assert [doc.content for doc in store.filter_documents(filters)] == ["one", "two", "new"]
    store.delete_documents([DOCS[0].id])
    assert [doc.content for doc in store.filter_documents(filters)] == ["two", "new"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("year > 2000", r"at filters: expected a mapping"),
        ({"year": {"$gt": 2000}}, r"at filters: missing 'operator'"),
        ({"operator": "~=", "field": "meta.x", "value": 1}, r"unknown operator '~='"),
        ({"operator": "AND"}, r"at filters: 'AND' needs 'conditions'"),
        ({"operator": "OR", "conditions": []}, r"non-empty list"),
        ({"operator": "AND", "conditions": {"field": "meta.x"}}, r"non-empty list"),
        ({"operator": "AND", "conditions": [{"field": "meta.x", "operator": "==", "value": 1}], "field": "x"}, "only"),
        (
            {"operator": "AND", "conditions": [{"field": "meta.a", "operator": "==", "value": 1}, {"field": "meta.b"}]},
            r"at filters\.conditions\[1\]: missing 'operator'",
        ),
        (
            {"operator": "OR", "conditions": [{"operator": "NOT", "conditions": [{"operator": "==", "value": 1}]}]},
            r"at filters\.conditions\[0\]\.conditions\[0\]: comparison '==' is missing 'field'",
        ),
        ({"field": "meta.x", "operator": "=="}, r"missing 'value'"),
        ({"field": "year", "operator": "==", "value": 1}, r"unknown field 'year'.*meta\.year"),
        ({"field": "meta.", "operator": "==", "value": 1}, r"unknown field"),
        ({"field": 3, "operator": "==", "value": 1}, r"'field' must be a string"),
        ({"field": "meta.x", "operator": "in", "value": "abc"}, r"'in' needs a list"),
        ({"field": "meta.x", "operator": "not in", "value": 3}, r"'not in' needs a list"),
        ({"field": "meta.x", "operator": ">", "value": "abc"}, r"'>' needs a number, an ISO-8601 date string or null"),
        ({"field": "meta.x", "operator": "<=", "value": "1"}, r"'<=' needs a number"),
        ({"operator": "AND", "conditions": [{}]}, r"at filters\.conditions\[0\]: missing 'operator'"),
        ({"field": "meta.x", "operator": ">=", "value": True}, r"'>=' needs a number"),
        ({"field": "meta.x", "operator": "<", "value": float("nan")}, r"'<' needs a number"),
        ({"field": "meta.x", "operator": "<", "value": [1]}, r"'<' needs a number"),
        ({"field": "meta.x", "operator": "==", "value": 1, "extra": 2}, r"extra keys \['extra'\]"),
    ],
)
def test_malformed_filters_name_the_node(filters: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        filter_mask(filters, DOCS)
    store = InMemoryDocumentStore()  # validated even when there is nothing to filter
    with pytest.raises(FilterError, match=message):
        store.filter_documents(filters)
