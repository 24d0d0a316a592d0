"""BM25 in PostgreSQL equals the in-memory store's (documents and scores) after mixed writes, updates and deletes,
for every variant, with filters and through the retriever: the same analyzer, k1, b and idf, kept exact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from docqa.document_stores import DuplicatePolicy, InMemoryDocumentStore
from docqa.errors import DocumentStoreError
from docqa.retrievers.bm25_retriever import BM25Retriever
from docqa.schema import Document

WORDS = [f"w{i}" for i in range(150)]
WEIGHTS = 1.0 / np.arange(1, len(WORDS) + 1) ** 1.1
WEIGHTS /= WEIGHTS.sum()


def documents(rng: np.random.Generator, n: int, start: int) -> list[Document]:
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 30)), p=WEIGHTS)) for _ in range(n)]
    return [Document(text, meta={"group": (start + i) % 3}, id=f"d{start + i}") for i, text in enumerate(texts)]


def queries(rng: np.random.Generator, count: int) -> list[str]:
    """Common words (floored okapi idf) with rarer ones, a repeated token, and an unknown one."""
    found = []
    for _ in range(count):
        words = [*rng.choice(WORDS[:6], size=2), *rng.choice(WORDS[30:], size=int(rng.integers(1, 4)))]
        found.append(" ".join([*words, words[0], "neverseen"]))
    return found


def both_stores(make_pg_store: Any, **options: Any) -> tuple[InMemoryDocumentStore, Any]:
    """The same history on both stores: writes, overwrites (new content), skipped duplicates and deletes."""
    rng = np.random.default_rng(21)
    memory, pg = InMemoryDocumentStore(analyzer=options.get("analyzer")), make_pg_store(**options)
    steps = [
        ("write", documents(rng, 500, 0), DuplicatePolicy.FAIL),
        ("write", documents(rng, 200, 500), DuplicatePolicy.FAIL),
        ("delete", [f"d{i}" for i in range(0, 700, 5)], None),
        ("write", [Document(f"w140 w141 {d.content}", meta=d.meta, id=d.id) for d in documents(rng, 60, 100)],
         DuplicatePolicy.OVERWRITE),
        ("write", documents(rng, 50, 650), DuplicatePolicy.SKIP),  # 50 ids already stored (some deleted)
        ("delete", [f"d{i}" for i in range(300, 420)], None),
        ("write", documents(rng, 100, 700), DuplicatePolicy.FAIL),
    ]  # fmt: skip
    for kind, payload, policy in steps:
        for store in (memory, pg):
            if kind == "write":
                store.write_documents(payload, policy=policy)
            else:
                store.delete_documents(payload)
    assert pg.count_documents() == memory.count_documents()
    return memory, pg


def assert_same(expected: list[Document], found: list[Document]) -> None:
    assert [d.id for d in found] == [d.id for d in expected]
    np.testing.assert_allclose([d.score for d in found], [d.score for d in expected], rtol=1e-12, atol=1e-12)


VARIANTS = [
    ("okapi", {}),
    ("okapi", {"k1": 1.2, "b": 0.4, "epsilon": 0.5}),
    ("bm25l", {}),
    ("bm25plus", {"delta": 0.5}),
]


@pytest.mark.parametrize(("variant", "params"), VARIANTS)
def test_bm25_equals_the_in_memory_store_after_writes_updates_and_deletes(
    make_pg_store: Any, variant: str, params: dict
) -> None:
    memory, pg = both_stores(make_pg_store)
    for query in queries(np.random.default_rng(3), 10):
        for k in (1, 10, 1000):
            expected = memory.bm25_retrieval(query, top_k=k, variant=variant, **params)
            assert_same(expected, pg.bm25_retrieval(query, top_k=k, variant=variant, **params))


@pytest.mark.parametrize("exact_below", [0, 10_000])  # candidates first, or the filtered documents first
def test_filtered_bm25_equals_the_in_memory_store(make_pg_store: Any, exact_below: int) -> None:
    memory, pg = both_stores(make_pg_store, exact_search_below=exact_below)
    filters = {"field": "meta.group", "operator": "==", "value": 1}
    for query in queries(np.random.default_rng(4), 6):
        assert_same(memory.bm25_retrieval(query, top_k=10, filters=filters),
                    pg.bm25_retrieval(query, top_k=10, filters=filters))  # fmt: skip


def test_retriever_keyword_mode_and_analyzer(make_pg_store: Any) -> None:
    analyzer = {"stopwords": "english"}
    memory, pg = both_stores(make_pg_store, analyzer=analyzer)
    query = "the w3 w77 w101"
    assert_same(BM25Retriever(memory, top_k=5, k1=1.1).run(query)["documents"],
                BM25Retriever(pg, top_k=5, k1=1.1).run(query)["documents"])  # fmt: skip
    assert_same(memory.keyword_retrieval(query, top_k=5), pg.keyword_retrieval(query, top_k=5))
    assert pg.bm25_retrieval("neverseen", top_k=5) == [] == memory.bm25_retrieval("neverseen", top_k=5)
    with pytest.raises(DocumentStoreError, match="analyzer"):
        make_pg_store(analyzer={"stopwords": None})  # the table keeps the analyzer it was indexed with
    assert make_pg_store().analyzer == memory.analyzer  # and reopening without one uses it


def test_statistics_stay_exact_after_clear_and_rewrite(make_pg_store: Any) -> None:
    memory, pg = both_stores(make_pg_store)
    pg.clear()
    rewritten = memory.filter_documents()
    pg.write_documents(rewritten)
    assert_same(memory.bm25_retrieval("w0 w1 w60", top_k=20), pg.bm25_retrieval("w0 w1 w60", top_k=20))
