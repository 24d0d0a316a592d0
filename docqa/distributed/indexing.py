"""Indexing on Ray Data: files -> passages -> embeddings in one ``map_batches`` over an actor pool (one model load
per actor).

The passages and embeddings equal those of the local ``docqa index`` (same converter, splitter and embedder, input
order kept); they are written to the store on the driver in chunks, with the ``SKIP`` policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from docqa.converters.file_converter import SkippedFile, expand_paths
from docqa.document_stores.base import DocumentStore, DuplicatePolicy
from docqa.schema import Document

_WRITE_CHUNK = 1000


@dataclass
class RayIndexResult:
    """What a Ray indexing run did: files converted, passages made and written, files skipped with reasons."""

    files: int = 0
    passages: int = 0
    written: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)


class IndexActor:
    """Ray actor: convert a batch of files, split them, and embed the passages with a model loaded once per actor.

    Output rows: ``kind`` (``passage`` or ``skipped``), ``id``, ``content`` (the reason, for a skipped file), ``meta``
    (JSON), ``path`` and ``embedding`` (a list of floats, or None).
    """

    def __init__(self, split_settings: dict[str, Any], model: str | None, batch_size: int) -> None:
        from docqa.embedders import SentenceTransformersDocumentEmbedder
        from docqa.preprocessors import DocumentSplitter

        self.splitter = DocumentSplitter(**split_settings)
        self.embedder = None
        if model is not None:
            self.embedder = SentenceTransformersDocumentEmbedder(model=model, batch_size=batch_size, progress_bar=False)
            self.embedder.warm_up()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        from docqa.converters import convert_paths

        rows: dict[str, list[Any]] = {key: [] for key in ("kind", "id", "content", "meta", "path", "embedding")}
        for path in batch["path"]:
            converted = convert_paths([str(path)])
            for skipped in converted.skipped:
                _append(rows, "skipped", Document(skipped.reason, id="-"), skipped.path)
            for passage in self._passages(converted.documents):
                _append(rows, "passage", passage, str(path))
        return rows

    def _passages(self, documents: list[Document]) -> list[Document]:
        if not documents:
            return []
        passages: list[Document] = self.splitter.run(documents=documents)["documents"]
        if self.embedder is not None and passages:
            passages = self.embedder.run(documents=passages)["documents"]
        return passages


def _append(rows: dict[str, list[Any]], kind: str, document: Document, path: str) -> None:
    rows["kind"].append(kind)
    rows["id"].append(document.id)
    rows["content"].append(document.content)
    rows["meta"].append(json.dumps(document.meta, ensure_ascii=False))
    rows["path"].append(path)
    embedding = document.embedding
    rows["embedding"].append(None if embedding is None else np.asarray(embedding, dtype=np.float32).tolist())


def _documents(batch: dict[str, Any]) -> Iterator[Document]:
    columns = (batch["id"], batch["content"], batch["meta"], batch["embedding"])
    for doc_id, content, meta, embedding in zip(*columns, strict=True):
        vector = None if embedding is None else np.asarray(embedding, dtype=np.float32)
        yield Document(str(content), json.loads(str(meta)), str(doc_id), embedding=vector)


def ray_index(
    paths: Sequence[str | Path],
    store: DocumentStore,
    *,
    split_settings: dict[str, Any],
    embedding_model: str | None = None,
    actors: int = 2,
    batch_size: int = 32,
) -> RayIndexResult:
    """Convert, split and (with ``embedding_model``) embed ``paths`` on Ray, then write the passages to ``store``.

    One ``map_batches`` over an actor pool of ``actors`` (``ray.data.ActorPoolStrategy``), a file per call; each
    actor loads the model once. ``batch_size`` passages go to one embedding call (set it with GPUs).
    """
    from docqa.distributed.runtime import init_ray

    ray = init_ray()
    result = RayIndexResult()
    files = expand_paths(paths, True, result.skipped)
    result.files = len(files)
    if not files:
        return result
    pool = ray.data.ActorPoolStrategy(size=actors)
    items = ray.data.from_items(
        [{"path": str(path)} for path in files], override_num_blocks=min(len(files), 4 * actors)
    )
    indexed = items.map_batches(
        IndexActor, fn_constructor_args=(split_settings, embedding_model, batch_size), batch_size=1, compute=pool
    )
    for batch in indexed.iter_batches(batch_size=_WRITE_CHUNK, batch_format="pandas"):
        _write(batch, store, result)
    return result


def _write(batch: Any, store: DocumentStore, result: RayIndexResult) -> None:
    """Record the skipped files of a batch of rows and write its passages (policy SKIP)."""
    skipped = batch[batch["kind"] == "skipped"]
    for path, reason in zip(skipped["path"], skipped["content"], strict=True):
        result.skipped.append(SkippedFile(str(path), str(reason)))
        result.files -= 1
    passages = batch[batch["kind"] == "passage"]
    documents = list(_documents({key: passages[key].tolist() for key in ("id", "content", "meta", "embedding")}))
    result.passages += len(documents)
    if documents:
        result.written += store.write_documents(documents, policy=DuplicatePolicy.SKIP)
