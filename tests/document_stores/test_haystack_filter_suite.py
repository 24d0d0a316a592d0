"""Haystack 2.x's own document-store filter tests, ported as a differential test.

Source: ``haystack/testing/document_store.py`` (``create_filterable_docs`` and ``FilterDocumentsTest``) of
github.com/deepset-ai/haystack at commit c7cb46c0f28ad1984f60e5d3e9404b124a221437. Each case's expected result is
the Python expression Haystack's test writes for it (``d.meta.get("number") is None`` and so on), evaluated here on
the same documents, independently of docqa's filter code; malformed filters must raise ``FilterError`` as there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pytest

from docqa.document_stores import InMemoryDocumentStore
from docqa.errors import FilterError
from docqa.schema import Document


def create_filterable_docs() -> list[Document]:
    """Haystack's fixture, with 4-dimensional instead of 768-dimensional embeddings."""
    rng = np.random.default_rng(0)
    documents = []
    for i in range(3):
        for content, page, chapter, number, date in (
            ("A Foo Document", "100", "intro", 2, "1969-07-21T20:17:40"),
            ("A Bar Document", "123", "abstract", -2, "1972-12-11T19:54:58"),
            ("A Foobar Document", "90", "conclusion", -10, "1989-11-09T17:53:00"),
        ):
            meta = {"name": f"name_{i}", "page": page, "chapter": chapter, "number": number, "date": date}
            documents.append(Document(f"{content} {i}", meta=meta, embedding=rng.random(4).tolist()))
        documents.append(
            Document(
                f"Document {i} without embedding",
                meta={"name": f"name_{i}", "no_embedding": True, "chapter": "conclusion"},
            )
        )
        documents.append(Document(f"Doc {i} with zeros emb", meta={"name": "zeros_doc"}, embedding=[0.0] * 4))
        documents.append(Document(f"Doc {i} with ones emb", meta={"name": "ones_doc"}, embedding=[1.0] * 4))
    return documents


def _date(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _number(d: Document) -> Any:
    return d.meta.get("number")


Expected = Callable[[Document], bool]

CASES: list[tuple[str, dict[str, Any], Expected]] = [
    ("equal", {"field": "meta.number", "operator": "==", "value": 100}, lambda d: _number(d) == 100),
    ("equal_with_none", {"field": "meta.number", "operator": "==", "value": None}, lambda d: _number(d) is None),
    ("not_equal", {"field": "meta.number", "operator": "!=", "value": 100}, lambda d: _number(d) != 100),
    (
        "not_equal_with_none",
        {"field": "meta.number", "operator": "!=", "value": None},
        lambda d: _number(d) is not None,
    ),
    (
        "greater_than",
        {"field": "meta.number", "operator": ">", "value": 0},
        lambda d: _number(d) is not None and _number(d) > 0,
    ),
    (
        "greater_than_with_iso_date",
        {"field": "meta.date", "operator": ">", "value": "1972-12-11T19:54:58"},
        lambda d: d.meta.get("date") is not None and _date(d.meta["date"]) > _date("1972-12-11T19:54:58"),
    ),
    ("greater_than_with_none", {"field": "meta.number", "operator": ">", "value": None}, lambda d: False),
    (
        "greater_than_equal",
        {"field": "meta.number", "operator": ">=", "value": 0},
        lambda d: _number(d) is not None and _number(d) >= 0,
    ),
    (
        "greater_than_equal_with_iso_date",
        {"field": "meta.date", "operator": ">=", "value": "1969-07-21T20:17:40"},
        lambda d: d.meta.get("date") is not None and _date(d.meta["date"]) >= _date("1969-07-21T20:17:40"),
    ),
    ("greater_than_equal_with_none", {"field": "meta.number", "operator": ">=", "value": None}, lambda d: False),
    (
        "less_than",
        {"field": "meta.number", "operator": "<", "value": 0},
        lambda d: _number(d) is not None and _number(d) < 0,
    ),
    (
        "less_than_with_iso_date",
        {"field": "meta.date", "operator": "<", "value": "1969-07-21T20:17:40"},
        lambda d: d.meta.get("date") is not None and _date(d.meta["date"]) < _date("1969-07-21T20:17:40"),
    ),
    ("less_than_with_none", {"field": "meta.number", "operator": "<", "value": None}, lambda d: False),
    (
        "less_than_equal",
        {"field": "meta.number", "operator": "<=", "value": 0},
        lambda d: _number(d) is not None and _number(d) <= 0,
    ),
    (
        "less_than_equal_with_iso_date",
        {"field": "meta.date", "operator": "<=", "value": "1969-07-21T20:17:40"},
        lambda d: d.meta.get("date") is not None and _date(d.meta["date"]) <= _date("1969-07-21T20:17:40"),
    ),
    ("less_than_equal_with_none", {"field": "meta.number", "operator": "<=", "value": None}, lambda d: False),
    (
        "in",
        {"field": "meta.number", "operator": "in", "value": [10, -10]},
        lambda d: _number(d) is not None and _number(d) in [10, -10],
    ),
    ("not_in", {"field": "meta.number", "operator": "not in", "value": [9, 10]}, lambda d: _number(d) not in [9, 10]),
    (
        "and_operator",
        {
            "operator": "AND",
            "conditions": [
                {"field": "meta.number", "operator": "==", "value": 100},
                {"field": "meta.name", "operator": "==", "value": "name_0"},
            ],
        },
        lambda d: _number(d) == 100 and d.meta.get("name") == "name_0",
    ),
    (
        "or_operator",
        {
            "operator": "OR",
            "conditions": [
                {"field": "meta.number", "operator": "==", "value": 100},
                {"field": "meta.name", "operator": "==", "value": "name_0"},
            ],
        },
        lambda d: _number(d) == 100 or d.meta.get("name") == "name_0",
    ),
    (
        "not_operator",
        {
            "operator": "NOT",
            "conditions": [
                {"field": "meta.number", "operator": "==", "value": 100},
                {"field": "meta.name", "operator": "==", "value": "name_0"},
            ],
        },
        lambda d: not (_number(d) == 100 and d.meta.get("name") == "name_0"),
    ),
]

MALFORMED: list[tuple[str, Any]] = [
    ("greater_than_with_string", {"field": "meta.number", "operator": ">", "value": "1"}),
    ("greater_than_with_list", {"field": "meta.number", "operator": ">", "value": [1]}),
    ("greater_than_equal_with_string", {"field": "meta.number", "operator": ">=", "value": "1"}),
    ("greater_than_equal_with_list", {"field": "meta.number", "operator": ">=", "value": [1]}),
    ("less_than_with_string", {"field": "meta.number", "operator": "<", "value": "1"}),
    ("less_than_with_list", {"field": "meta.number", "operator": "<", "value": [1]}),
    ("less_than_equal_with_string", {"field": "meta.number", "operator": "<=", "value": "1"}),
    ("less_than_equal_with_list", {"field": "meta.number", "operator": "<=", "value": [1]}),
    ("in_with_non_list", {"field": "meta.number", "operator": "in", "value": 9}),
    ("in_with_non_list_iterable", {"field": "meta.number", "operator": "in", "value": (10, 11)}),
    ("not_in_with_non_list", {"field": "meta.number", "operator": "not in", "value": 9}),
    ("not_in_with_non_list_iterable", {"field": "meta.number", "operator": "not in", "value": (10, 11)}),
    ("missing_top_level_operator_key", {"conditions": [{"field": "meta.name", "operator": "==", "value": "test"}]}),
    ("missing_top_level_conditions_key", {"operator": "AND"}),
    ("missing_condition_field_key", {"operator": "AND", "conditions": [{"operator": "==", "value": "test"}]}),
    ("missing_condition_operator_key", {"operator": "AND", "conditions": [{"field": "meta.name", "value": "test"}]}),
    ("missing_condition_value_key", {"operator": "AND", "conditions": [{"field": "meta.name", "operator": "=="}]}),
]


@pytest.fixture
def store_and_docs() -> tuple[InMemoryDocumentStore, list[Document]]:
    documents = create_filterable_docs()
    store = InMemoryDocumentStore()
    store.write_documents(documents)
    return store, documents


def test_no_filters() -> None:
    store = InMemoryDocumentStore()
    assert store.filter_documents() == []
    assert store.filter_documents(filters={}) == []
    store.write_documents([Document("test doc")])
    assert [d.content for d in store.filter_documents()] == ["test doc"]
    assert [d.content for d in store.filter_documents(filters={})] == ["test doc"]


@pytest.mark.parametrize(("name", "filters", "expected"), CASES, ids=[case[0] for case in CASES])
def test_haystack_filter_case(
    store_and_docs: tuple[InMemoryDocumentStore, list[Document]], name: str, filters: dict, expected: Expected
) -> None:
    store, documents = store_and_docs
    wanted = [d.id for d in documents if expected(d)]
    assert [d.id for d in store.filter_documents(filters)] == wanted
    if name == "in":
        assert wanted  # as Haystack asserts: the case is not vacuous


def test_the_suite_is_not_vacuous(store_and_docs: tuple[InMemoryDocumentStore, list[Document]]) -> None:
    # The None cases separate "missing" from "present": 9 documents have no number, 9 have one.
    store, _ = store_and_docs
    assert len(store.filter_documents({"field": "meta.number", "operator": "==", "value": None})) == 9
    assert len(store.filter_documents({"field": "meta.number", "operator": "!=", "value": None})) == 9


@pytest.mark.parametrize(("name", "filters"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_haystack_malformed_filter(
    store_and_docs: tuple[InMemoryDocumentStore, list[Document]], name: str, filters: Any
) -> None:
    store, _ = store_and_docs
    with pytest.raises(FilterError):
        store.filter_documents(filters)
