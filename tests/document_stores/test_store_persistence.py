from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import docqa.document_stores.durable as durable
from docqa.core.component import init_parameters
from docqa.document_stores import InMemoryDocumentStore
from docqa.errors import DocumentStoreError
from docqa.schema import Document
from docqa.text import Analyzer

QUERIES = ["apple pie", "banana", "cherry apple apple", "zebra"]


def filled_store(n: int = 40, **kwargs) -> InMemoryDocumentStore:
    rng = np.random.default_rng(n)
    words = ["apple", "banana", "cherry", "pie", "tart", "fresh", "ripe", "the"]
    store = InMemoryDocumentStore(**kwargs)
    documents = []
    for i in range(n):
        text = " ".join(rng.choice(words, size=int(rng.integers(2, 12))))
        embedding = rng.normal(size=4).tolist() if i % 3 else None
        documents.append(Document(f"{i} {text}", meta={"i": i, "tags": ["x"] if i % 2 else []}, embedding=embedding))
    store.write_documents(documents)
    store.delete_documents([documents[5].id, documents[6].id])  # tombstones are not saved
    return store


def snapshot(store: InMemoryDocumentStore) -> tuple:
    results = [
        [(doc.id, round(doc.score, 9)) for doc in store.bm25_retrieval(q, top_k=50, variant=v)]
        for q in QUERIES
        for v in ("okapi", "bm25plus")
    ]
    embedded = [(doc.id, round(doc.score, 5)) for doc in store.embedding_retrieval([1, 0, 0, 0], top_k=50)]
    return store.filter_documents(), results, embedded


def test_round_trip_gives_the_same_documents_and_scores(tmp_path: Path) -> None:
    store = filled_store()
    store.save(tmp_path / "store")
    loaded = InMemoryDocumentStore.load(tmp_path / "store")
    assert snapshot(loaded) == snapshot(store)
    assert loaded.count_documents() == store.count_documents() == 38
    vectors, ids = loaded.embedding_matrix()
    original_vectors, original_ids = store.embedding_matrix()
    assert ids == original_ids
    np.testing.assert_array_equal(vectors, original_vectors)


def test_load_does_not_tokenize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = filled_store()
    store.save(tmp_path)
    expected = snapshot(store)

    def refuse(self: Analyzer, text: str) -> list[str]:
        raise AssertionError("load must not re-tokenize documents")

    monkeypatch.setattr(Analyzer, "__call__", refuse)
    loaded = InMemoryDocumentStore.load(tmp_path)
    monkeypatch.undo()
    assert snapshot(loaded) == expected


def test_saved_analyzer_is_restored_and_a_different_one_refused(tmp_path: Path) -> None:
    store = filled_store(analyzer={"stopwords": "english"})
    store.save(tmp_path)
    loaded = InMemoryDocumentStore(path=str(tmp_path))
    assert loaded.analyzer == Analyzer(stopwords="english")
    assert loaded.bm25_retrieval("the") == []
    assert init_parameters(loaded) == {"path": str(tmp_path), "analyzer": None, "create": True}
    with pytest.raises(DocumentStoreError, match="indexed with analyzer"):
        InMemoryDocumentStore(path=str(tmp_path), analyzer={"stopwords": None})


def test_save_to_own_path_and_incremental_use_after_load(tmp_path: Path) -> None:
    store = InMemoryDocumentStore(path=str(tmp_path / "s"))
    store.write_documents([Document("alpha beta")])
    store.save()
    loaded = InMemoryDocumentStore(path=str(tmp_path / "s"))
    loaded.write_documents([Document("beta gamma"), Document("gamma delta")])
    loaded.delete_documents([Document("alpha beta").id])
    fresh = InMemoryDocumentStore()
    fresh.write_documents([Document("beta gamma"), Document("gamma delta")])
    assert loaded.bm25_scores("beta gamma delta") == fresh.bm25_scores("beta gamma delta")
    with pytest.raises(DocumentStoreError, match="no directory"):
        InMemoryDocumentStore().save()


def data_dirs(directory: Path) -> list[str]:
    return sorted(item.name for item in directory.iterdir() if item.name != "manifest.json")


@pytest.mark.parametrize("fail_at", ["np.save", "manifest"])
def test_crash_mid_save_keeps_the_previous_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str) -> None:
    store = filled_store()
    store.save(tmp_path)
    before = snapshot(InMemoryDocumentStore.load(tmp_path))
    kept = data_dirs(tmp_path)
    store.write_documents([Document("a brand new apple document")])
    if fail_at == "np.save":
        calls = []
        real_save = np.save

        def crashing_save(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise OSError("disk full")
            return real_save(*args, **kwargs)

        monkeypatch.setattr(np, "save", crashing_save)
    else:

        def crashing_replace(*args, **kwargs):
            raise OSError("power cut")

        monkeypatch.setattr(durable.os, "replace", crashing_replace)
    with pytest.raises(OSError):
        store.save(tmp_path)
    monkeypatch.undo()
    assert snapshot(InMemoryDocumentStore.load(tmp_path)) == before
    assert data_dirs(tmp_path) == kept  # no temporary data or segment folder, or manifest file, left behind
    store.save(tmp_path)
    assert InMemoryDocumentStore.load(tmp_path).count_documents() == store.count_documents()
    assert len(data_dirs(tmp_path)) == 2  # the data folder and the one segment of a store saved elsewhere


def test_refuses_to_save_over_something_else(tmp_path: Path) -> None:
    (tmp_path / "other.txt").write_text("keep me")
    with pytest.raises(DocumentStoreError, match="not a docqa store"):
        filled_store().save(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DocumentStoreError, match="is a file"):
        filled_store().save(tmp_path / "file")
    assert (tmp_path / "other.txt").read_text() == "keep me"


def corrupt_manifest(directory: Path, **changes) -> None:
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest.update(changes)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def segment_file(directory: Path, name: str) -> Path:
    manifest = json.loads((directory / "manifest.json").read_text())
    return directory / manifest["segments"][0]["name"] / name


def append_bytes(file: Path, data: bytes) -> None:
    with open(file, "ab") as handle:
        handle.write(data)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "manifest.json").unlink(), r"no manifest\.json"),
        (lambda d: (d / "manifest.json").write_text("{not json"), r"manifest\.json is corrupt"),
        (lambda d: corrupt_manifest(d, format_version=99), r"format_version 99"),
        (lambda d: corrupt_manifest(d, format="something.else"), r"not a docqa store manifest"),
        (lambda d: corrupt_manifest(d, data_dir="../elsewhere"), r"invalid fields"),
        (lambda d: segment_file(d, "terms.bin").unlink(), r"seg-\w+/terms\.bin is missing"),
        (
            lambda d: segment_file(d, "pair.npy").write_bytes(b"short"),
            r"seg-\w+/pair\.npy is corrupt \(size does not match the manifest",
        ),
        (
            lambda d: append_bytes(segment_file(d, "documents.jsonl"), b'{"id": "x", "content": "y", "meta": {}}\n'),
            r"seg-\w+/documents\.jsonl is corrupt \(size does not match the manifest",
        ),
        (
            lambda d: segment_file(d, "rows.npy").write_bytes(b"x" * segment_file(d, "rows.npy").stat().st_size),
            r"seg-\w+/rows\.npy is corrupt",
        ),
        (lambda d: corrupt_manifest(d, num_documents=3), r"hold 38 live documents, manifest\.json says 3"),
    ],
)
def test_corrupt_store_errors_name_directory_and_file(tmp_path: Path, damage, message: str) -> None:
    filled_store().save(tmp_path)
    damage(tmp_path)
    with pytest.raises(DocumentStoreError, match=message) as error:
        InMemoryDocumentStore.load(tmp_path)
    assert str(tmp_path) in str(error.value)


def test_a_corrupt_document_line_is_an_error_naming_the_file_and_line_when_read(tmp_path: Path) -> None:
    filled_store().save(tmp_path)
    lines = segment_file(tmp_path, "documents.jsonl")
    lines.write_bytes(b"{" * lines.stat().st_size)  # same size: opening (which reads nothing) cannot tell
    store = InMemoryDocumentStore.load(tmp_path)
    with pytest.raises(DocumentStoreError, match=r"seg-\w+/documents\.jsonl line 1 is corrupt") as error:
        store.filter_documents()
    assert str(tmp_path) in str(error.value)


def test_unserializable_meta_fails_cleanly(tmp_path: Path) -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("a", meta={"when": object()}, id="odd")])
    with pytest.raises(DocumentStoreError, match="document odd"):
        store.save(tmp_path / "s")
    assert data_dirs(tmp_path / "s") == []


def test_embedding_model_is_saved_with_the_store(tmp_path: Path) -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("a", embedding=[1.0, 0.0])])
    assert store.embedding_model is None
    store.embedding_model = "sentence-transformers/all-MiniLM-L6-v2"
    store.save(tmp_path / "store")
    assert InMemoryDocumentStore.load(tmp_path / "store").embedding_model == "sentence-transformers/all-MiniLM-L6-v2"
