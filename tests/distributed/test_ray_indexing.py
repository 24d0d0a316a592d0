"""Indexing on a local Ray (2 CPUs, actor pools of 2) gives exactly the passages and embeddings of the local run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from docqa.converters import convert_paths
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.embedders import SentenceTransformersDocumentEmbedder
from docqa.preprocessors import DocumentSplitter

ARTICLES = Path(__file__).resolve().parents[2] / "data" / "articles"
SPLIT = {"split_by": "word", "split_length": 120, "split_overlap": 20}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("corpus")
    for name in ("Normans.txt", "1973_oil_crisis.txt"):
        (folder / name).write_text((ARTICLES / name).read_text(encoding="utf-8")[:6000], encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "notes.md").write_text("# Notes\n\nThe Normans came from Normandy.\n", encoding="utf-8")
    return [folder]


def _local_passages(paths: list[Path], model: str) -> list[Any]:
    converted = convert_paths(paths)
    passages = DocumentSplitter(**SPLIT).run(documents=converted.documents)["documents"]
    embedder = SentenceTransformersDocumentEmbedder(model=model, progress_bar=False)
    embedder.warm_up()
    return embedder.run(documents=passages)["documents"]


def test_ray_index_equals_the_local_run(local_ray: Any, corpus: list[Path], minilm_model: str) -> None:
    from docqa.distributed import ray_index

    expected = _local_passages(corpus, minilm_model)
    store = InMemoryDocumentStore()
    result = ray_index(corpus, store, split_settings=SPLIT, embedding_model=minilm_model, actors=2, batch_size=8)
    stored = store.filter_documents()
    assert [(d.id, d.content, d.meta) for d in stored] == [(d.id, d.content, d.meta) for d in expected]
    np.testing.assert_allclose(np.stack([d.embedding for d in stored]), np.stack([d.embedding for d in expected]),
                               atol=1e-5)  # fmt: skip
    assert (result.files, result.passages, result.written) == (3, len(expected), len(expected))
    assert [Path(s.path).name for s in result.skipped] == ["empty.txt"]


def test_cli_index_ray(local_ray: Any, corpus: list[Path], tmp_path: Path) -> None:
    from docqa.cli import app

    runner = CliRunner()
    args = ["index", str(corpus[0]), "--json"]
    assert runner.invoke(app, [*args, "--store", str(tmp_path / "local")]).exit_code == 0
    result = runner.invoke(app, [*args, "--store", str(tmp_path / "ray"), "--ray", "--ray-actors", "2"])
    assert result.exit_code == 0, result.output
    local = InMemoryDocumentStore.load(tmp_path / "local").filter_documents()
    distributed = InMemoryDocumentStore.load(tmp_path / "ray").filter_documents()
    assert [d.id for d in distributed] == [d.id for d in local]
