"""Segments: BM25 over several of them (saved, in memory, with deletions) equals rank-bm25 on the live documents;
saves write only what changed, merge when worth it, and a full compaction leaves one segment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rank_bm25

from docqa.document_stores import DuplicatePolicy, InMemoryDocumentStore
from docqa.document_stores.state import MERGE_FACTOR
from docqa.document_stores.string_table import StringTable
from docqa.schema import Document
from docqa.text import Analyzer

# A Zipf vocabulary whose first words are in nearly every document: their okapi idf is negative and floored, so
# they weigh as much as rare words, the hardest case for skipping their postings.
WORDS = [f"w{i}" for i in range(400)]
WEIGHTS = 1.0 / np.arange(1, len(WORDS) + 1) ** 1.1
WEIGHTS /= WEIGHTS.sum()


def documents(rng: np.random.Generator, n: int, start: int = 0) -> list[Document]:
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(5, 40)), p=WEIGHTS)) for _ in range(n)]
    return [
        Document(text, meta={"n": start + i, "group": (start + i) % 4}, id=f"d{start + i}")
        for i, text in enumerate(texts)
    ]


def queries(rng: np.random.Generator, count: int) -> list[str]:
    found = []
    for _ in range(count):
        common = list(rng.choice(WORDS[:8], size=int(rng.integers(1, 4))))
        rare = list(rng.choice(WORDS[20:], size=int(rng.integers(1, 4)), p=WEIGHTS[20:] / WEIGHTS[20:].sum()))
        found.append(" ".join(common + rare + common[:1]))  # a repeated common token counts twice
    return found


class Oracle:
    """rank-bm25 on the store's live documents, fully sorted; ties in insertion order."""

    def __init__(self, store: InMemoryDocumentStore, build) -> None:
        self.documents = store.filter_documents(return_embedding=False)
        self.analyzer = Analyzer()
        self.tokens = [self.analyzer(doc.content) for doc in self.documents]
        self.model = build(self.tokens)

    def top(self, query: str, k: int, allowed=None) -> tuple[list[str], list[float]]:
        tokens = self.analyzer(query)
        scores = self.model.get_scores(tokens)
        keep = [
            i
            for i, doc in enumerate(self.documents)
            if set(tokens) & set(self.tokens[i]) and (allowed is None or allowed(doc))
        ]
        order = sorted(keep, key=lambda i: (-scores[i], i))[:k]
        return [self.documents[i].id for i in order], [float(scores[i]) for i in order]


def mixed_store(tmp_path: Path) -> InMemoryDocumentStore:
    """3,300 documents in saved and in-memory segments, with deletions and overwrites in both."""
    rng = np.random.default_rng(5)
    store = InMemoryDocumentStore(path=str(tmp_path / "store"))
    store.write_documents(documents(rng, 2500))
    store.save()
    store.delete_documents([f"d{i}" for i in range(0, 2500, 7)])
    store.write_documents(documents(rng, 600, start=2500))
    store.save()
    store.write_documents(documents(rng, 200, start=3100))  # in memory
    replaced = [Document(f"w300 w301 {doc.content}", meta=doc.meta, id=doc.id) for doc in documents(rng, 40, 100)]
    store.write_documents(replaced, policy=DuplicatePolicy.OVERWRITE)
    store.delete_documents([f"d{i}" for i in range(2500, 3300, 11)])
    return store


VARIANTS = [
    ("okapi", {}, rank_bm25.BM25Okapi),
    ("bm25l", {}, rank_bm25.BM25L),
    ("bm25plus", {"k1": 1.2, "b": 0.5}, lambda corpus: rank_bm25.BM25Plus(corpus, k1=1.2, b=0.5)),
]


@pytest.mark.parametrize(("variant", "params", "build"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_top_k_over_segments_equals_rank_bm25(tmp_path: Path, variant: str, params: dict, build) -> None:
    store = mixed_store(tmp_path)
    assert len(store.segments) >= 3 and store.segments[0].name is not None and store.segments[-1].name is None
    assert len(store.segments[0].postings.dense_terms)  # common terms have dense columns: their lookups are tested
    rng = np.random.default_rng(8)
    reference = Oracle(store, build)
    for query in queries(rng, 12):
        for k in (1, 10, 100):
            expected_ids, expected_scores = reference.top(query, k)
            found = store.bm25_retrieval(query, top_k=k, variant=variant, **params)
            assert [doc.id for doc in found] == expected_ids, (query, k)
            np.testing.assert_allclose([doc.score for doc in found], expected_scores, rtol=0, atol=1e-9)


def test_filtered_top_k_over_segments_equals_rank_bm25(tmp_path: Path) -> None:
    store = mixed_store(tmp_path)
    filters = {"field": "meta.group", "operator": "in", "value": [1, 3]}
    reference = Oracle(store, rank_bm25.BM25Okapi)
    for query in queries(np.random.default_rng(9), 8):
        expected, _ = reference.top(query, 10, allowed=lambda doc: doc.meta["group"] in (1, 3))
        assert [doc.id for doc in store.bm25_retrieval(query, top_k=10, filters=filters)] == expected


def test_reopened_mixed_store_gives_the_same_results(tmp_path: Path) -> None:
    store = mixed_store(tmp_path)
    store.save()
    reopened = InMemoryDocumentStore.load(tmp_path / "store")
    assert reopened.count_documents() == store.count_documents()
    for query in queries(np.random.default_rng(10), 5):
        assert [(d.id, d.score) for d in reopened.bm25_retrieval(query, top_k=20)] == [
            (d.id, d.score) for d in store.bm25_retrieval(query, top_k=20)
        ]


def segment_names(directory: Path) -> list[str]:
    return [entry["name"] for entry in json.loads((directory / "manifest.json").read_text())["segments"]]


def test_a_save_writes_only_the_new_documents_and_keeps_the_saved_segments(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    store = InMemoryDocumentStore(path=str(tmp_path))
    store.write_documents(documents(rng, 300))
    store.save()
    [first] = segment_names(tmp_path)
    written = (tmp_path / first / "documents.jsonl").stat().st_mtime_ns
    store.write_documents(documents(rng, 20, start=300))
    store.delete_documents(["d3", "d310"])
    store.save()
    names = segment_names(tmp_path)
    assert names[0] == first and len(names) == 2
    assert (tmp_path / first / "documents.jsonl").stat().st_mtime_ns == written  # not rewritten
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    deleted = tmp_path / manifest["data_dir"] / manifest["segments"][0]["deleted"]
    assert np.load(deleted).tolist() == [3]  # the deletion in the saved segment is a small file of rows
    reopened = InMemoryDocumentStore.load(tmp_path)
    assert reopened.count_documents() == 318
    assert {"d3", "d310"}.isdisjoint(doc.id for doc in reopened.filter_documents())


def test_many_small_saves_are_merged_size_tiered(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    store = InMemoryDocumentStore(path=str(tmp_path))
    store.write_documents(documents(rng, 2000))
    store.save()
    base = segment_names(tmp_path)[0]
    for batch in range(3 * MERGE_FACTOR):
        store.write_documents(documents(rng, 10, start=2000 + 10 * batch))
        store.save()
        names = segment_names(tmp_path)
        assert names[0] == base  # a small append never rewrites the large segment
        assert len(names) <= 2 * MERGE_FACTOR
    assert InMemoryDocumentStore.load(tmp_path).count_documents() == 2000 + 30 * MERGE_FACTOR


def test_one_row_writes_keep_few_segments_in_memory() -> None:
    store = InMemoryDocumentStore()
    for i in range(200):
        store.write_documents([Document(f"note {i} w1 w{i % 50}", id=f"n{i}")])
    assert len(store.segments) < 3 * MERGE_FACTOR
    assert [doc.id for doc in store.bm25_retrieval("w7 note", top_k=4)] == ["n7", "n57", "n107", "n157"]


def test_a_mostly_deleted_segment_is_rewritten_by_the_next_save(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    store = InMemoryDocumentStore(path=str(tmp_path))
    store.write_documents(documents(rng, 400))
    store.save()
    [first] = segment_names(tmp_path)
    store.delete_documents([f"d{i}" for i in range(300)])
    store.save()
    assert segment_names(tmp_path) != [first] and not (tmp_path / first).exists()
    assert InMemoryDocumentStore.load(tmp_path).segments[0].n_rows == 100


def test_compact_rewrites_one_segment_without_deleted_documents_or_unused_terms(tmp_path: Path) -> None:
    store = mixed_store(tmp_path)
    store.write_documents([Document("zzunique term only here", id="lonely")])
    store.delete_documents(["lonely"])
    before = {
        q: [(d.id, d.score) for d in store.bm25_retrieval(q, top_k=15)] for q in queries(np.random.default_rng(4), 5)
    }
    store.save(compact=True)
    assert len(segment_names(tmp_path / "store")) == 1
    reopened = InMemoryDocumentStore.load(tmp_path / "store")
    [segment] = reopened.segments
    assert segment.n_rows == reopened.count_documents() == store.count_documents()
    assert reopened.segments[0].terms.find(["zzunique"]).tolist() == [-1]  # its term went with the document
    for query, hits in before.items():
        found = reopened.bm25_retrieval(query, top_k=15)
        assert [d.id for d in found] == [doc_id for doc_id, _ in hits]
        np.testing.assert_allclose([d.score for d in found], [score for _, score in hits], rtol=1e-12)


def test_opening_reads_no_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = mixed_store(tmp_path)
    store.save()

    real_loads = json.loads

    def loads(text, *args, **kwargs):
        assert "content" not in str(text), "opening a store must not parse its documents"
        return real_loads(text, *args, **kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("opening a store must not tokenize")

    monkeypatch.setattr(json, "loads", loads)  # documents are JSON lines with a "content": none may be read
    monkeypatch.setattr(Analyzer, "__call__", refuse)
    opened = InMemoryDocumentStore.load(tmp_path / "store")
    monkeypatch.undo()
    assert opened.count_documents() == store.count_documents()


def test_string_table_lookups_survive_hash_collisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import docqa.document_stores.string_table as string_table

    monkeypatch.setattr(string_table, "string_key", lambda data: len(data) % 3)  # nearly every key collides
    strings = [f"id-{i}" for i in range(50)] + ["é", "日本"]
    StringTable.from_strings(strings).write(tmp_path, "t")
    table = StringTable.open(tmp_path, "t")
    assert table.find([*strings[::-1], "absent", "id-5x"]).tolist() == [*range(len(strings) - 1, -1, -1), -1, -1]
    assert [table[i] for i in range(len(strings))] == strings
