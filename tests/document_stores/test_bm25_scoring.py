"""BM25 scores and rankings against rank-bm25, the reference implementation (an independent oracle)."""

from __future__ import annotations

import numpy as np
import pytest
import rank_bm25

from docqa.document_stores import DuplicatePolicy, InMemoryDocumentStore, bm25_index
from docqa.document_stores import segment as segment_module
from docqa.errors import DocqaError
from docqa.schema import Document
from docqa.text import Analyzer

WORDS = [f"w{i}" for i in range(60)]
ZIPF = 1.0 / np.arange(1, len(WORDS) + 1)
ZIPF /= ZIPF.sum()

VARIANTS = [
    ("okapi", {}, lambda corpus: rank_bm25.BM25Okapi(corpus)),
    ("okapi", {"k1": 1.2, "b": 0.4, "epsilon": 0.5}, lambda c: rank_bm25.BM25Okapi(c, k1=1.2, b=0.4, epsilon=0.5)),
    ("bm25l", {}, lambda corpus: rank_bm25.BM25L(corpus)),
    ("bm25l", {"k1": 0.9, "b": 1.0, "delta": 0.2}, lambda c: rank_bm25.BM25L(c, k1=0.9, b=1.0, delta=0.2)),
    ("bm25plus", {}, lambda corpus: rank_bm25.BM25Plus(corpus)),
    ("bm25plus", {"k1": 2.0, "b": 0.0, "delta": 0.5}, lambda c: rank_bm25.BM25Plus(c, k1=2.0, b=0.0, delta=0.5)),
]
VARIANT_IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(VARIANTS)]


def random_documents(rng: np.random.Generator, n: int, start: int = 0) -> list[Document]:
    documents = []
    for i in range(start, start + n):
        words = rng.choice(WORDS, size=int(rng.integers(1, 30)), p=ZIPF)
        punctuation = rng.choice([" ", ", ", ". "], size=len(words))
        text = "".join(f"{w.upper() if rng.random() < 0.1 else w}{p}" for w, p in zip(words, punctuation, strict=True))
        documents.append(Document(text, meta={"n": i, "group": int(i % 3)}))
    return documents


def random_queries(rng: np.random.Generator, count: int = 15) -> list[str]:
    queries = []
    for _ in range(count):
        words = list(rng.choice(WORDS, size=int(rng.integers(1, 6)), p=ZIPF))
        if rng.random() < 0.3:
            words.append(words[0])  # a repeated token counts twice in rank-bm25
        if rng.random() < 0.3:
            words.append("unknownword")
        queries.append(" ".join(words))
    return queries


def reference(store: InMemoryDocumentStore, build) -> tuple[list[str], object]:
    """rank-bm25 built from scratch on the store's current documents, with the store's tokenization."""
    documents = store.filter_documents()
    analyzer = Analyzer()
    return [doc.id for doc in documents], build([analyzer(doc.content) for doc in documents])


def assert_scores_match(store: InMemoryDocumentStore, queries: list[str], variant: str, params: dict, build) -> None:
    ids, oracle = reference(store, build)
    analyzer = Analyzer()
    for query in queries:
        expected = oracle.get_scores(analyzer(query))
        got = store.bm25_scores(query, variant=variant, **params)
        np.testing.assert_allclose([got[i] for i in ids], expected, rtol=0, atol=1e-6, err_msg=query)


@pytest.mark.parametrize(("variant", "params", "build"), VARIANTS, ids=VARIANT_IDS)
def test_scores_equal_rank_bm25(variant: str, params: dict, build) -> None:
    rng = np.random.default_rng(7)
    store = InMemoryDocumentStore()
    store.write_documents(random_documents(rng, 120))
    assert_scores_match(store, random_queries(rng), variant, params, build)


@pytest.mark.parametrize(("variant", "params", "build"), VARIANTS, ids=VARIANT_IDS)
def test_scores_equal_rank_bm25_after_incremental_writes_and_deletes(variant: str, params: dict, build) -> None:
    rng = np.random.default_rng(11)
    store = InMemoryDocumentStore()
    queries = random_queries(rng)
    store.write_documents(random_documents(rng, 50))
    store.bm25_scores(queries[0], variant=variant, **params)  # build the caches, which writes must invalidate
    store.write_documents(random_documents(rng, 40, start=50))
    assert_scores_match(store, queries, variant, params, build)
    victims = [doc.id for doc in store.filter_documents() if rng.random() < 0.15]
    store.delete_documents(victims)  # few deletes: tombstones, no compaction
    assert_scores_match(store, queries, variant, params, build)
    store.delete_documents([doc.id for doc in store.filter_documents() if rng.random() < 0.5])  # compacts
    store.write_documents(random_documents(rng, 20, start=200))
    replaced = [Document(doc.content + " w1 w1", meta=doc.meta, id=doc.id) for doc in store.filter_documents()[:5]]
    store.write_documents(replaced, policy=DuplicatePolicy.OVERWRITE)
    assert_scores_match(store, queries, variant, params, build)


def test_terms_only_in_deleted_documents_leave_the_vocabulary() -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("alpha beta"), Document("beta gamma"), Document("gamma delta epsilon")])
    store.delete_documents([store.filter_documents()[2].id])
    assert store.bm25_retrieval("delta epsilon") == []
    ids, oracle = reference(store, rank_bm25.BM25Okapi)
    scores = store.bm25_scores("beta gamma")
    np.testing.assert_allclose([scores[i] for i in ids], oracle.get_scores(["beta", "gamma"]), atol=1e-12)


def oracle_top_k(store: InMemoryDocumentStore, query: str, k: int, build, variant: str, params: dict, allowed=None):
    """Full sort of rank-bm25's scores over documents sharing a term with the query; ties by insertion order."""
    ids, oracle = reference(store, build)
    analyzer = Analyzer()
    tokens = set(analyzer(query))
    scores = oracle.get_scores(analyzer(query))
    documents = store.filter_documents()
    keep = [
        i
        for i, doc in enumerate(documents)
        if tokens & set(analyzer(doc.content)) and (allowed is None or allowed(doc))
    ]
    order = sorted(keep, key=lambda i: (-scores[i], i))[:k]
    return [ids[i] for i in order], [scores[i] for i in order]


@pytest.mark.parametrize(("variant", "params", "build"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("k", [1, 3, 10, 500])
def test_top_k_equals_full_sort_oracle(variant: str, params: dict, build, k: int) -> None:
    rng = np.random.default_rng(k)
    documents = random_documents(rng, 150)
    documents += [Document(doc.content, meta={"copy": True}) for doc in documents[:30]]  # exact score ties
    store = InMemoryDocumentStore()
    store.write_documents(documents)
    store.delete_documents([doc.id for doc in documents[100:110]])
    for query in random_queries(rng, 8):
        expected_ids, expected_scores = oracle_top_k(store, query, k, build, variant, params)
        found = store.bm25_retrieval(query, top_k=k, variant=variant, **params)
        assert [doc.id for doc in found] == expected_ids, query
        np.testing.assert_allclose([doc.score for doc in found], expected_scores, rtol=0, atol=1e-6)


def test_values_kept_for_long_columns_count_each_query_term_s_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bm25_index, "_CACHED_COLUMN", 1)  # every column's values kept with the state
    rng = np.random.default_rng(5)
    store = InMemoryDocumentStore()
    store.write_documents(random_documents(rng, 300))
    for query in ["w3 w10", "w3 w3 w10", "w3 w10", "w10 w10 w10 w3 w40"]:
        expected_ids, expected_scores = oracle_top_k(store, query, 10, rank_bm25.BM25Okapi, "okapi", {})
        found = store.bm25_retrieval(query, top_k=10)
        assert [doc.id for doc in found] == expected_ids, query
        np.testing.assert_allclose([doc.score for doc in found], expected_scores, rtol=0, atol=1e-9)


def test_remembered_query_term_ids_are_bounded_and_forgotten_by_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segment_module, "_REMEMBERED_TERMS", 3)
    rng = np.random.default_rng(8)
    store = InMemoryDocumentStore()
    store.write_documents(random_documents(rng, 200))
    assert store.bm25_retrieval("zebra") == []  # unknown: remembered as such by this state's vocabulary
    for query in ["w1 w2", "w3 w4 w5 w6", "w1 w2 zebra"]:  # beyond the bound: looked up, not remembered
        expected_ids, _ = oracle_top_k(store, query, 10, rank_bm25.BM25Okapi, "okapi", {})
        assert [doc.id for doc in store.bm25_retrieval(query, top_k=10)] == expected_ids, query
    store.write_documents([Document("zebra w1", id="z")])
    assert [doc.id for doc in store.bm25_retrieval("zebra")] == ["z"]


def test_top_k_with_filter_equals_oracle() -> None:
    rng = np.random.default_rng(3)
    store = InMemoryDocumentStore()
    store.write_documents(random_documents(rng, 200))
    filters = {"field": "meta.group", "operator": "==", "value": 1}
    for query in random_queries(rng, 8):
        expected, _ = oracle_top_k(
            store, query, 7, rank_bm25.BM25Okapi, "okapi", {}, allowed=lambda d: d.meta["group"] == 1
        )
        assert [doc.id for doc in store.bm25_retrieval(query, top_k=7, filters=filters)] == expected


def test_results_are_copies_with_scores_and_without_embeddings() -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("red apple", embedding=[1.0, 0.0]), Document("green apple pie")])
    found = store.bm25_retrieval("apple pie", top_k=5)
    assert [doc.content for doc in found] == ["green apple pie", "red apple"]
    assert all(doc.score is not None and doc.embedding is None for doc in found)
    found[0].meta["changed"] = True
    assert "changed" not in store.filter_documents()[1].meta
    assert store.bm25_retrieval("red", top_k=1, return_embedding=True)[0].embedding == pytest.approx([1.0, 0.0])


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_an_error(query: str) -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("something")])
    with pytest.raises(DocqaError, match="non-empty"):
        store.bm25_retrieval(query)


def test_query_without_known_terms_returns_nothing() -> None:
    store = InMemoryDocumentStore()
    assert store.bm25_retrieval("anything") == []
    store.write_documents([Document("something")])
    assert store.bm25_retrieval("?!") == []
    assert store.bm25_retrieval("nothing known") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"top_k": 0}, "top_k"),
        ({"top_k": -1}, "top_k"),
        ({"variant": "bm42"}, "variant"),
        ({"delta": 1.0}, "delta"),
        ({"k1": -1.0}, "k1"),
        ({"b": 1.5}, "b"),
        ({"variant": "bm25l", "delta": float("nan")}, "delta"),
    ],
)
def test_invalid_parameters(kwargs: dict, message: str) -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("something")])
    with pytest.raises(DocqaError, match=message):
        store.bm25_retrieval("something", **kwargs)


def test_analyzer_config_is_used_for_documents_and_queries() -> None:
    store = InMemoryDocumentStore(analyzer={"stopwords": "english"})
    store.write_documents([Document("the cat"), Document("the dog")])
    assert store.bm25_retrieval("the") == []
    assert [doc.content for doc in store.bm25_retrieval("THE CAT")] == ["the cat"]


def test_negative_scores_of_tiny_corpora_rank_like_the_oracle() -> None:
    # Most terms in most documents: rank-bm25's average idf is negative, so matches can score <= 0.
    store = InMemoryDocumentStore()
    store.write_documents([Document("a b c"), Document("c b a"), Document("a b c e"), Document("a b d")])
    for query in ["a", "a b", "c", "d a", "e a", "c c d"]:
        expected_ids, expected_scores = oracle_top_k(store, query, 10, rank_bm25.BM25Okapi, "okapi", {})
        found = store.bm25_retrieval(query, top_k=10)
        assert [doc.id for doc in found] == expected_ids, query
        np.testing.assert_allclose([doc.score for doc in found], expected_scores, atol=1e-9)
    assert min(doc.score for doc in store.bm25_retrieval("a b")) < 0
