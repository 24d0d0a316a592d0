"""Segments on disk: written once into their own folder (fsynced), opened memory-mapped in O(1), and merged.

A segment folder ``seg-<uuid>/`` holds:

* ``documents.jsonl`` (``{"id", "content", "meta"}`` per line, the format of every docqa save) and
  ``documents_offsets.npy`` (where each line starts), so one document is read without the others;
* ``ids*`` and ``terms*``: :class:`~docqa.document_stores.string_table.StringTable` files (document ids, and the
  terms first seen in this segment);
* ``doc_len.npy``, ``ptr.npy``, ``rows.npy``, ``pair.npy``, ``pair_tf.npy``, ``pair_len.npy``,
  ``fwd_ptr.npy``, ``fwd_terms.npy``, ``peak_ptr.npy``,
  ``peak_tf.npy``, ``peak_len.npy``, ``dense_terms.npy``, ``dense_tf.npy``: the
  :class:`~docqa.document_stores.postings.Postings`;
* ``meta_columns.json`` and ``meta_*``: the metadata columns (:mod:`docqa.document_stores.meta_columns`);
* ``embeddings.npy`` and ``has_embedding.npy`` when rows have embeddings.

Merging writes the kept rows of several segments (in order) as one: document lines are copied as bytes, postings
merged column by column (:func:`docqa.document_stores.postings.merge`), embeddings copied in chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from docqa.document_stores import postings as postings_module
from docqa.document_stores.durable import fsync_directory, sync
from docqa.document_stores.filters import DocumentColumns
from docqa.document_stores.meta_columns import ColumnsBuilder, DiskColumns
from docqa.document_stores.postings import ARRAYS, Postings
from docqa.document_stores.segment import DiskDocuments, MemoryDocuments, Segment
from docqa.document_stores.string_table import StringTable, map_file, write_strings
from docqa.errors import DocumentStoreError

SEGMENT_PREFIX = "seg-"
_CHUNK = 8192  # embedding rows copied at a time


@dataclass(frozen=True)
class Source:
    """The rows of ``segment`` that a merge keeps (``keep`` a boolean mask; None keeps all)."""

    segment: Segment
    keep: np.ndarray | None = None

    @property
    def rows(self) -> np.ndarray:
        return np.arange(self.segment.n_rows) if self.keep is None else np.flatnonzero(self.keep)


@dataclass(frozen=True)
class NewTerms:
    """The terms the merged segment introduces: ids ``base`` .. ``base + count - 1``, as UTF-8 bytes."""

    base: int
    encoded: Iterable[bytes]
    count: int


def merge_in_memory(sources: Sequence[Source], terms: NewTerms, term_map: np.ndarray | None = None) -> Segment:
    """The kept rows of ``sources`` as one in-memory segment."""
    documents: list[Any] = []
    for source in sources:
        documents.extend(source.segment.documents.stored(source.rows))
    vectors, has_vector = _merged_embeddings(sources)
    return Segment(
        postings=postings_module.merge([(source.segment.postings, source.keep) for source in sources], term_map),
        ids=StringTable.from_strings([document.id for document in documents]),
        terms=StringTable.from_strings([data.decode("utf-8") for data in terms.encoded]),
        term_base=terms.base,
        documents=MemoryDocuments(documents),
        columns=DocumentColumns(documents),
        embeddings=vectors,
        has_embedding=has_vector,
    )


def write_segment(
    folder: Path, sources: Sequence[Source], terms: NewTerms, term_map: np.ndarray | None = None
) -> dict[str, Any]:
    """Write the kept rows of ``sources`` as the segment ``folder`` (created; fsynced); return its manifest entry."""
    folder.mkdir()
    n_rows = _write_documents(folder, sources)
    write_strings(folder, "ids", _encoded_ids(sources), n_rows)
    write_strings(folder, "terms", terms.encoded, terms.count)
    merged = postings_module.merge([(source.segment.postings, source.keep) for source in sources], term_map)
    for name, array in merged.arrays().items():
        _save_array(folder / f"{name}.npy", array)
    dim = _write_embeddings(folder, sources, n_rows)
    fsync_directory(folder)
    return {
        "name": folder.name,
        "rows": n_rows,
        "term_base": terms.base,
        "vocabulary": merged.vocabulary,
        "embedding_dim": dim,
        "files": {item.name: item.stat().st_size for item in sorted(folder.iterdir())},
    }


def open_segment(folder: Path, entry: dict[str, Any], label: str) -> Segment:
    """Memory-map the segment ``folder`` described by its manifest ``entry`` (``label`` names it in errors:
    ``document store 'DIR': seg-...``); DocumentStoreError naming the file that is corrupt."""
    arrays = {name: _load(folder, f"{name}.npy", label) for name in ARRAYS}
    postings = Postings(**arrays)
    n_rows = postings.n_rows
    offsets = _load(folder, "documents_offsets.npy", label)
    blob = _opened(folder, "documents.jsonl", label, lambda: map_file(folder / "documents.jsonl"))
    ids = _opened(folder, "ids*", label, lambda: StringTable.open(folder, "ids"))
    terms = _opened(folder, "terms*", label, lambda: StringTable.open(folder, "terms"))
    embeddings, has_embedding = _open_embeddings(folder, n_rows, entry.get("embedding_dim"), label)
    try:
        postings.check()
        if n_rows != entry["rows"] or len(offsets) != n_rows + 1 or int(offsets[-1]) != len(blob):
            raise ValueError("documents, offsets and postings disagree on the rows")
        if postings.vocabulary != entry["vocabulary"] or entry["term_base"] + len(terms) > postings.vocabulary:
            raise ValueError("the postings, the terms and the manifest disagree on the vocabulary")
        if len(ids) != n_rows:
            raise ValueError("the ids do not match the rows")
    except ValueError as error:
        raise DocumentStoreError(f"cannot load {label}: {error}") from None
    documents = DiskDocuments(blob, offsets, label)
    return Segment(
        postings=postings,
        ids=ids,
        terms=terms,
        term_base=entry["term_base"],
        documents=documents,
        columns=_opened(folder, "meta_*", label, lambda: DiskColumns(folder, n_rows, documents)),
        embeddings=embeddings,
        has_embedding=has_embedding,
        name=folder.name,
    )


def _opened(folder: Path, name: str, label: str, read: Any) -> Any:
    """``read()``, a failure turned into a DocumentStoreError naming the file."""
    try:
        return read()
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise DocumentStoreError(f"cannot load {label}/{name} is corrupt ({error})") from None


def _load(folder: Path, name: str, label: str) -> np.ndarray:
    # A plain ndarray over the mapping: slicing an np.memmap costs a Python-level __getitem__ each time.
    array: np.ndarray = _opened(
        folder, name, label, lambda: np.asarray(np.load(folder / name, mmap_mode="r", allow_pickle=False))
    )
    if array.ndim != 1 and name not in ("embeddings.npy", "dense_tf.npy"):
        raise DocumentStoreError(f"cannot load {label}/{name} is corrupt (expected a 1-D array)")
    return array


def _save_array(file: Path, array: np.ndarray) -> None:
    with open(file, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        sync(handle)


def _write_documents(folder: Path, sources: Sequence[Source]) -> int:
    """Copy the kept rows' JSON lines into ``documents.jsonl``, with offsets and metadata columns; return the rows."""
    n_rows = sum(len(source.rows) for source in sources)
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    columns = ColumnsBuilder(n_rows)
    row = position = 0
    with open(folder / "documents.jsonl", "wb") as handle:
        for source in sources:
            for line, meta in source.segment.documents.lines(source.rows):
                handle.write(line)
                position += len(line)
                columns.add(row, meta)
                row += 1
                offsets[row] = position
        sync(handle)
    _save_array(folder / "documents_offsets.npy", offsets)
    columns.write(folder)
    return n_rows


def _encoded_ids(sources: Sequence[Source]) -> Iterable[bytes]:
    for source in sources:
        yield from source.segment.ids.encoded(source.rows.tolist())


def _merged_embeddings(sources: Sequence[Source]) -> tuple[np.ndarray | None, np.ndarray]:
    has_vector = np.concatenate([np.zeros(0, bool)] + [source.segment.has_embedding[source.rows] for source in sources])
    dim = next((source.segment.embedding_dim for source in sources if _embeds(source)), None)
    if dim is None:
        return None, np.zeros(len(has_vector), dtype=bool)
    matrix = np.zeros((len(has_vector), dim), dtype=np.float32)
    start = 0
    for source in sources:
        rows = source.rows
        if _embeds(source) and source.segment.embedding_dim == dim:
            matrix[start : start + len(rows)] = source.segment.embeddings[rows]  # type: ignore[index]
        else:  # another dimension: only rows without a live embedding can remain of it
            has_vector[start : start + len(rows)] = False
        start += len(rows)
    return matrix, has_vector


def _embeds(source: Source) -> bool:
    segment = source.segment
    return segment.embeddings is not None and bool(segment.has_embedding[source.rows].any())


def _write_embeddings(folder: Path, sources: Sequence[Source], n_rows: int) -> int | None:
    dim = next((source.segment.embedding_dim for source in sources if _embeds(source)), None)
    if dim is None:
        return None
    out = np.lib.format.open_memmap(folder / "embeddings.npy", mode="w+", dtype=np.float32, shape=(n_rows, dim))
    has_vector = np.zeros(n_rows, dtype=bool)
    start = 0
    for source in sources:
        rows = source.rows
        if _embeds(source) and source.segment.embedding_dim == dim:
            matrix = source.segment.embeddings
            assert matrix is not None
            for offset in range(0, len(rows), _CHUNK):
                chunk = rows[offset : offset + _CHUNK]
                out[start + offset : start + offset + len(chunk)] = matrix[chunk]
            has_vector[start : start + len(rows)] = source.segment.has_embedding[rows]
        start += len(rows)
    out.flush()
    del out
    with open(folder / "embeddings.npy", "rb+") as handle:
        sync(handle)
    _save_array(folder / "has_embedding.npy", has_vector)
    return dim


def _open_embeddings(folder: Path, n_rows: int, dim: int | None, label: str) -> tuple[np.ndarray | None, np.ndarray]:
    if dim is None:
        return None, np.zeros(n_rows, dtype=bool)
    embeddings = _load(folder, "embeddings.npy", label)
    has_embedding = _load(folder, "has_embedding.npy", label)
    if embeddings.shape != (n_rows, dim) or embeddings.dtype != np.float32 or has_embedding.shape != (n_rows,):
        raise DocumentStoreError(f"cannot load {label}/embeddings.npy is corrupt (wrong shape)")
    return embeddings, np.asarray(has_embedding, dtype=bool)
