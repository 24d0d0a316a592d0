"""``docqa index``: --json, --recreate, split settings recorded and compared, embeddings kept consistent, and
``docqa search --mode dense`` on a store without embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docqa.cli import app
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.embedders import SentenceTransformersTextEmbedder
from docqa.retrievers.embedding_retriever import EmbeddingRetriever

runner = CliRunner()

NORMANS = "The Normans were the people who gave their name to Normandy, a region in France. " * 3
YUAN = "The Yuan dynasty was founded by Kublai Khan, who ruled from Khanbaliq. " * 3
PHOTOSYNTHESIS = "Photosynthesis is the process by which plants turn light into chemical energy. " * 3


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "normans.txt").write_text(NORMANS, encoding="utf-8")
    (folder / "yuan.txt").write_text(YUAN, encoding="utf-8")
    (tmp_path / "new.html").write_text(f"<html><body><p>{PHOTOSYNTHESIS}</p></body></html>", encoding="utf-8")
    return folder


def _index(*args: str) -> dict:
    result = runner.invoke(app, ["index", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_index_json_summary(corpus: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    summary = _index(str(corpus), "--store", str(store), "--split-length", "10", "--split-overlap", "2")
    saved = InMemoryDocumentStore.load(store)
    assert summary["files"] == 2 and summary["skipped"] == []
    assert summary["passages"] == summary["new_passages"] == saved.count_documents() > 2
    assert summary["documents_in_store"] == saved.count_documents()
    assert summary["store"] == str(store) and summary["embedding_model"] is None
    again = _index(str(corpus), "--store", str(store), "--split-length", "10", "--split-overlap", "2")
    assert again["new_passages"] == 0 and again["documents_in_store"] == saved.count_documents()


def test_split_settings_are_recorded_and_a_change_warns(corpus: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    _index(str(corpus), "--store", str(store), "--split-length", "10", "--split-overlap", "2")
    recorded = InMemoryDocumentStore.load(store).split_settings
    assert recorded == {"split_by": "word", "split_length": 10, "split_overlap": 2, "split_threshold": 0}
    same = runner.invoke(
        app, ["index", str(corpus), "--store", str(store), "--split-length", "10", "--split-overlap", "2"]
    )
    assert same.exit_code == 0 and "warning" not in same.stderr
    other = runner.invoke(
        app, ["index", str(corpus), "--store", str(store), "--split-length", "12", "--split-overlap", "2"]
    )
    assert other.exit_code == 0, other.output
    warning = [line for line in other.stderr.splitlines() if line.strip()]
    assert len(warning) == 1 and warning[0].startswith("warning:")
    assert "split_length 10 -> 12" in warning[0] and "--recreate" in warning[0]


def test_recreate_replaces_the_passages(corpus: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    _index(str(corpus), "--store", str(store), "--split-length", "10", "--split-overlap", "2")
    fewer = _index(
        str(corpus / "yuan.txt"), "--store", str(store), "--split-length", "12", "--split-overlap", "0", "--recreate"
    )
    saved = InMemoryDocumentStore.load(store)
    assert {d.meta["file_name"] for d in saved.filter_documents()} == {"yuan.txt"}
    assert saved.count_documents() == fewer["passages"] == fewer["documents_in_store"]
    assert saved.split_settings is not None and saved.split_settings["split_length"] == 12


def test_recreate_refuses_a_folder_that_is_not_a_store(corpus: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "precious.txt").write_text("keep", encoding="utf-8")
    result = runner.invoke(app, ["index", str(corpus), "--store", str(other), "--recreate"])
    assert result.exit_code == 1 and "not a docqa store" in result.stderr
    assert sorted(p.name for p in other.iterdir()) == ["precious.txt"]


def test_no_progress_bars_without_a_terminal(corpus: Path, tmp_path: Path, minilm_model: str) -> None:
    result = runner.invoke(
        app, ["index", str(corpus), "--store", str(tmp_path / "s"), "--embed", "--embedding-model", minilm_model]
    )
    assert result.exit_code == 0, result.output
    # CliRunner's stderr is no TTY: neither the converter's nor the embedder's bar is drawn
    assert "Converting" not in result.stderr and "Batches" not in result.stderr and "it/s" not in result.stdout
    assert "Loading weights" not in result.stderr and "LOAD REPORT" not in result.stderr  # transformers' own


def test_adding_to_an_embedded_store_embeds_with_its_model(corpus: Path, tmp_path: Path, minilm_model: str) -> None:
    store = tmp_path / "dense"
    _index(str(corpus), "--store", str(store), "--embed", "--embedding-model", minilm_model)
    added = _index(str(tmp_path / "new.html"), "--store", str(store))  # no --embed: the store's model is used
    assert added["embedding_model"] == minilm_model and added["new_passages"] >= 1
    saved = InMemoryDocumentStore.load(store)
    assert all(d.embedding is not None for d in saved.filter_documents())
    query = SentenceTransformersTextEmbedder(model=minilm_model, device="cpu")
    embedding = query.run(text="How do plants turn light into energy?")["embedding"]
    top = EmbeddingRetriever(saved, top_k=1).run(embedding)["documents"][0]
    assert top.meta["file_name"] == "new.html"


def test_an_unloadable_recorded_model_is_refused_in_one_line(corpus: Path, tmp_path: Path, minilm_model: str) -> None:
    store = tmp_path / "dense"
    _index(str(corpus), "--store", str(store), "--embed", "--embedding-model", minilm_model)
    saved = InMemoryDocumentStore.load(store)
    saved.embedding_model = str(tmp_path / "gone-model")  # as if the model folder had been removed
    saved.save(store)
    before = saved.count_documents()
    result = runner.invoke(app, ["index", str(tmp_path / "new.html"), "--store", str(store)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "gone-model" in lines[0] and lines[0].startswith("error:")
    assert InMemoryDocumentStore.load(store).count_documents() == before  # nothing half-written


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_dense_search_on_a_store_without_embeddings_says_so_first(corpus: Path, tmp_path: Path, mode: str) -> None:
    store = tmp_path / "sparse"
    _index(str(corpus), "--store", str(store))
    # a model that does not exist: the store is checked before any model is loaded
    args = ["search", "Kublai", "--store", str(store), "--mode", mode, "--embedding-model", "no-such/model"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"error: no document in the store {store} has an embedding (index with --embed)"]
