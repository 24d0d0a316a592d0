"""open_document_store: a directory opens the saved in-memory store, a DSN without the extra is one clear error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from docqa.document_stores import InMemoryDocumentStore, open_document_store
from docqa.errors import DocqaError, DocumentStoreError
from docqa.schema import Document


def test_a_directory_opens_the_saved_store(tmp_path: Path) -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document("Rollo was a Viking leader.", id="rollo")])
    store.save(tmp_path / "store")
    opened = open_document_store(tmp_path / "store")
    assert isinstance(opened, InMemoryDocumentStore)
    assert [d.id for d in opened.filter_documents()] == ["rollo"]


def test_a_missing_directory_is_a_docqa_error(tmp_path: Path) -> None:
    with pytest.raises(DocqaError):
        open_document_store(tmp_path / "nowhere")


def test_a_dsn_without_the_postgres_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "docqa.document_stores.postgres.store", None)  # as if psycopg were missing
    with pytest.raises(DocumentStoreError, match=r"pip install 'docqa\[postgres\]'"):
        open_document_store("postgresql://localhost/docqa")
