from __future__ import annotations

import pytest
import rank_bm25

from docqa.core.component import init_parameters, input_sockets, is_component, output_sockets
from docqa.document_stores import InMemoryDocumentStore
from docqa.errors import ComponentError
from docqa.retrievers import BM25Retriever
from docqa.schema import Document
from docqa.text import Analyzer

TEXTS = [
    "Paris is the capital and largest city of France.",
    "Berlin is the capital of Germany.",
    "The Seine flows through Paris.",
    "Rome is the capital of Italy and was founded long ago.",
    "France borders Germany, Italy and Spain.",
    "Madrid is the capital of Spain.",
]


@pytest.fixture
def store() -> InMemoryDocumentStore:
    store = InMemoryDocumentStore()
    store.write_documents([Document(text, meta={"n": i}) for i, text in enumerate(TEXTS)])
    return store


def test_is_a_component_with_typed_sockets(store: InMemoryDocumentStore) -> None:
    assert is_component(BM25Retriever)
    sockets = input_sockets(BM25Retriever)
    assert set(sockets) == {"query", "top_k", "filters"}
    assert sockets["query"].is_mandatory and not sockets["top_k"].is_mandatory
    assert set(output_sockets(BM25Retriever)) == {"documents"}
    retriever = BM25Retriever(store, top_k=3, variant="bm25l")
    assert init_parameters(retriever) == {
        "document_store": store,
        "top_k": 3,
        "variant": "bm25l",
        "k1": 1.5,
        "b": 0.75,
        "epsilon": 0.25,
        "delta": None,
        "filters": None,
    }


@pytest.mark.parametrize(
    ("variant", "oracle"),
    [("okapi", rank_bm25.BM25Okapi), ("bm25l", rank_bm25.BM25L), ("bm25plus", rank_bm25.BM25Plus)],
)
def test_ranking_and_scores_match_rank_bm25(store: InMemoryDocumentStore, variant: str, oracle) -> None:
    analyzer = Analyzer()
    reference = oracle([analyzer(text) for text in TEXTS])
    query = "capital of France"
    scores = reference.get_scores(analyzer(query))
    tokens = set(analyzer(query))
    candidates = [i for i, text in enumerate(TEXTS) if tokens & set(analyzer(text))]
    expected = sorted(candidates, key=lambda i: (-scores[i], i))[:4]
    retriever = BM25Retriever(store, top_k=4, variant=variant)
    retriever.warm_up()
    retriever.warm_up()  # idempotent
    found = retriever.run(query)["documents"]
    assert [doc.meta["n"] for doc in found] == expected
    assert [doc.score for doc in found] == pytest.approx([scores[i] for i in expected], abs=1e-9)


def test_run_arguments_override_init(store: InMemoryDocumentStore) -> None:
    only_even = {"field": "meta.n", "operator": "in", "value": [0, 2, 4]}
    retriever = BM25Retriever(store, top_k=5, filters=only_even)
    assert {doc.meta["n"] for doc in retriever.run("capital Paris Seine France")["documents"]} <= {0, 2, 4}
    assert len(retriever.run("capital", top_k=1)["documents"]) == 1
    everything = {"field": "meta.n", "operator": ">=", "value": 0}
    found = retriever.run("capital", filters=everything)["documents"]
    assert {doc.meta["n"] for doc in found} == {0, 1, 3, 5}


def test_run_top_k_zero_is_not_swallowed(store: InMemoryDocumentStore) -> None:
    retriever = BM25Retriever(store)
    with pytest.raises(ComponentError, match="top_k"):
        retriever.run("capital", top_k=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"top_k": 0}, "top_k"),
        ({"top_k": 2.5}, "top_k"),
        ({"variant": "bm99"}, "variant"),
        ({"delta": 0.5}, "delta"),
        ({"filters": {"field": "year", "operator": "==", "value": 1}}, "unknown field 'year'"),
    ],
)
def test_invalid_init(store: InMemoryDocumentStore, kwargs: dict, message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        BM25Retriever(store, **kwargs)


def test_needs_a_keyword_store() -> None:
    with pytest.raises(ComponentError, match="keyword_retrieval"):
        BM25Retriever(document_store={"not": "a store"})  # type: ignore[arg-type]
