from __future__ import annotations

import pytest

from docqa.core.component import init_parameters
from docqa.document_stores import DocumentStore, DuplicatePolicy, InMemoryDocumentStore
from docqa.errors import DocumentStoreError, DuplicateDocumentError
from docqa.schema import Document


def docs(*texts: str) -> list[Document]:
    return [Document(text) for text in texts]


def contents(store: InMemoryDocumentStore) -> list[str]:
    return [doc.content for doc in store.filter_documents()]


def test_satisfies_the_protocol() -> None:
    assert isinstance(InMemoryDocumentStore(), DocumentStore)


@pytest.mark.parametrize("policy", [DuplicatePolicy.NONE, DuplicatePolicy.FAIL, "fail", "none"])
def test_fail_policy_rejects_the_whole_batch(policy) -> None:
    store = InMemoryDocumentStore()
    store.write_documents(docs("a", "b"))
    with pytest.raises(DuplicateDocumentError, match="already in the store"):
        store.write_documents(docs("c", "a"), policy=policy)
    with pytest.raises(DuplicateDocumentError, match="repeated in the batch"):
        store.write_documents(docs("d", "d"), policy=policy)
    assert contents(store) == ["a", "b"]
    assert store.count_documents() == 2


def test_skip_policy_keeps_the_first() -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("a", meta={"v": 1}, id="x")])
    written = store.write_documents(
        [Document("b", meta={"v": 2}, id="x"), Document("c", id="y"), Document("d", id="y")], policy="skip"
    )
    assert written == 1
    assert [(doc.id, doc.content) for doc in store.filter_documents()] == [("x", "a"), ("y", "c")]


def test_overwrite_policy_replaces_and_last_in_batch_wins() -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("old x", id="x"), Document("z", id="z")])
    written = store.write_documents(
        [Document("new x", id="x"), Document("first y", id="y"), Document("last y", id="y")],
        policy=DuplicatePolicy.OVERWRITE,
    )
    assert written == 2
    assert sorted(contents(store)) == ["last y", "new x", "z"]
    assert store.count_documents() == 3
    assert [doc.content for doc in store.bm25_retrieval("old")] == []
    assert [doc.content for doc in store.bm25_retrieval("new")] == ["new x"]


def test_unknown_policy_and_bad_input() -> None:
    store = InMemoryDocumentStore()
    with pytest.raises(DocumentStoreError, match="duplicate policy"):
        store.write_documents(docs("a"), policy="merge")
    with pytest.raises(DocumentStoreError, match="item 1 is a str"):
        store.write_documents([Document("a"), "b"])  # type: ignore[list-item]
    with pytest.raises(DocumentStoreError, match="list of Documents"):
        store.write_documents(Document("a"))  # type: ignore[arg-type]
    with pytest.raises(DocumentStoreError, match="single string"):
        store.delete_documents("abc")  # type: ignore[arg-type]
    assert store.count_documents() == 0


def test_get_delete_count_and_revision() -> None:
    store = InMemoryDocumentStore()
    a, b, c = docs("a", "b", "c")
    assert store.revision == 0
    assert store.write_documents([a, b, c]) == 3
    revision = store.revision
    assert revision > 0
    assert [doc.content for doc in store.get_documents_by_id([c.id, "nope", a.id])] == ["c", "a"]
    store.delete_documents([b.id, "nope"])
    assert store.revision > revision
    assert store.count_documents() == 2
    assert store.get_documents_by_id([b.id]) == []
    revision = store.revision
    store.delete_documents(["nope"])
    assert store.write_documents([], policy="skip") == 0
    assert store.revision == revision


def test_many_deletes_compact_without_changing_results() -> None:
    store = InMemoryDocumentStore()
    documents = [Document(f"text number {i} " + "common " * (i % 5), meta={"i": i}) for i in range(300)]
    store.write_documents(documents)
    store.delete_documents([doc.id for doc in documents if doc.meta["i"] % 3])
    assert store.count_documents() == 100
    assert [doc.meta["i"] for doc in store.filter_documents()] == list(range(0, 300, 3))
    assert [doc.meta["i"] for doc in store.bm25_retrieval("number 42 57", top_k=2)] == [42, 57]
    assert store.get_documents_by_id([documents[3].id])[0].meta == {"i": 3}


def test_stored_documents_are_isolated_from_the_callers() -> None:
    document = Document("a", meta={"k": 1})
    store = InMemoryDocumentStore()
    store.write_documents([document])
    document.meta["k"] = 2
    assert store.filter_documents()[0].meta == {"k": 1}
    store.filter_documents()[0].meta["k"] = 3
    assert store.filter_documents()[0].meta == {"k": 1}


def test_init_parameters_are_captured() -> None:
    store = InMemoryDocumentStore(analyzer={"stopwords": "english"})
    assert init_parameters(store) == {"path": None, "analyzer": {"stopwords": "english"}, "create": True}
    assert store.analyzer.stopwords == "english"


def test_path_that_is_not_a_store(tmp_path) -> None:
    (tmp_path / "junk.txt").write_text("x")
    with pytest.raises(DocumentStoreError, match="not a docqa store"):
        InMemoryDocumentStore(path=str(tmp_path))
    empty = InMemoryDocumentStore(path=str(tmp_path / "new"))  # a new location: an empty store
    assert empty.count_documents() == 0
