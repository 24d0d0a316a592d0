"""``docqa compact``: one segment without the deleted documents, the same search results; format-1 stores (saved
by docqa before segments) open with a warning and convert with ``--upgrade``."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from docqa.cli import app
from docqa.document_stores import InMemoryDocumentStore
from docqa.document_stores.wal import WriteAheadLog
from docqa.schema import Document

FORMAT_1 = Path(__file__).resolve().parents[1] / "document_stores" / "data" / "store_format_1"
runner = CliRunner()


def _segments(directory: Path) -> int:
    return len(json.loads((directory / "manifest.json").read_text())["segments"])


def test_compact_merges_the_segments_and_keeps_the_results(tmp_path: Path) -> None:
    store = InMemoryDocumentStore(path=str(tmp_path / "s"))
    for batch in range(4):
        store.write_documents(
            [Document(f"batch {batch} passage {i} river {i % 7}", id=f"{batch}-{i}") for i in range(30)]
        )
        store.save()
    store.delete_documents([f"1-{i}" for i in range(30)])
    store.save()
    before = [
        (d.id, d.score) for d in InMemoryDocumentStore.load(tmp_path / "s").bm25_retrieval("river 3 passage", top_k=20)
    ]
    assert _segments(tmp_path / "s") == 4
    result = runner.invoke(app, ["compact", str(tmp_path / "s"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["documents"] == 90 and summary["segments"] == "4 -> 1"
    assert _segments(tmp_path / "s") == 1
    after = InMemoryDocumentStore.load(tmp_path / "s").bm25_retrieval("river 3 passage", top_k=20)
    assert [d.id for d in after] == [doc_id for doc_id, _ in before]
    np.testing.assert_allclose([d.score for d in after], [score for _, score in before], rtol=1e-12)


def test_a_served_store_is_refused(tmp_path: Path) -> None:
    store = InMemoryDocumentStore(path=str(tmp_path / "s"))
    store.write_documents([Document("held")])
    store.save()
    log = WriteAheadLog.attach(store, holder="docqa serve (pid 7)")
    try:
        result = runner.invoke(app, ["compact", str(tmp_path / "s")])
    finally:
        log.close()
    assert result.exit_code == 1 and "in use by docqa serve (pid 7)" in result.output


def test_a_format_1_store_opens_with_a_warning_and_upgrades(tmp_path: Path) -> None:
    directory = Path(shutil.copytree(FORMAT_1, tmp_path / "old"))
    with pytest.warns(UserWarning, match=r"format 1.*docqa compact --upgrade"):
        old = InMemoryDocumentStore.load(directory)
    # The same documents, written afresh with the same analyzer, give the same store.
    fresh = InMemoryDocumentStore(analyzer=old.analyzer.to_dict())
    fresh.write_documents(old.filter_documents())
    assert old.count_documents() == 4 and old.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert old.split_settings == {"split_by": "word", "split_length": 120, "split_overlap": 20}
    for query in ("capital of France", "Paris Seine", "Hauptstadt"):
        assert [(d.id, d.score) for d in old.bm25_retrieval(query)] == [
            (d.id, d.score) for d in fresh.bm25_retrieval(query)
        ]
    assert [d.id for d in old.embedding_retrieval([1.0, 0.0, 0.5], top_k=3)] == ["paris", "rom", "berlin"]
    assert old.filter_documents({"field": "meta.nested.river", "operator": "==", "value": "Seine"})[0].id == "seine"

    refused = runner.invoke(app, ["compact", str(directory)])
    assert refused.exit_code == 1 and "docqa compact --upgrade" in refused.output
    result = runner.invoke(app, ["compact", "--upgrade", str(directory), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["format"] == "1 -> 2"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # format 2: no warning any more
        upgraded = InMemoryDocumentStore.load(directory)
    assert [(d.id, d.content, d.meta) for d in upgraded.filter_documents()] == [
        (d.id, d.content, d.meta) for d in old.filter_documents()
    ]
    assert [(d.id, d.score) for d in upgraded.bm25_retrieval("capital of France")] == [
        (d.id, d.score) for d in old.bm25_retrieval("capital of France")
    ]
    assert upgraded.embedding_model == old.embedding_model and upgraded.split_settings == old.split_settings
    assert not any(path.name.startswith("data-") and (path / "vocab.json").exists() for path in directory.iterdir())
