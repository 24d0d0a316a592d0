"""An in-memory document store with an incremental BM25 index, exact embedding search and atomic persistence."""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from docqa.core.component import capture_init_parameters
from docqa.core.validation import check_int
from docqa.document_stores.base import DuplicatePolicy
from docqa.document_stores.bm25_index import BM25Index, BM25Params, select_top_k
from docqa.document_stores.filters import DocumentColumns, evaluate, validate_filters
from docqa.document_stores.query_embedding import check_query_embedding
from docqa.document_stores.wal import WAL_PREFIX, WriteAheadLog, check_writer, fsync_directory, replay
from docqa.errors import DocqaError, DocumentStoreError, DuplicateDocumentError, NoDocumentStoreError
from docqa.schema import Document
from docqa.text.analyzer import Analyzer

FORMAT = "docqa.InMemoryDocumentStore"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIMILARITIES = ("cosine", "dot_product")
_DATA_PREFIX = "data-"
_INDEX_BATCH = 2048  # documents tokenized at a time: bounds the token lists alive at once
_COMPACT_RATIO = 0.25  # compact once this fraction of rows are tombstones
_INDEX_ARRAYS = ("indptr", "indices", "tf", "doc_len")
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _guarded(method: _Method) -> _Method:
    """Run ``method`` under the store's own lock: each read and each write is atomic to other threads."""

    @functools.wraps(method)
    def guarded(self: InMemoryDocumentStore, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return guarded  # type: ignore[return-value]


@capture_init_parameters
class InMemoryDocumentStore:
    """Documents in memory, searchable by BM25 (:meth:`bm25_retrieval`) and by embedding (:meth:`embedding_retrieval`).

    ``analyzer`` configures BM25 tokenization (see :class:`docqa.text.Analyzer`; ``None`` = default). If ``path``
    holds a saved store, it is loaded (its saved analyzer is used; passing a different one is an error);
    :meth:`save` with no argument saves back there. Where ``path`` holds no store, ``create=True`` starts an
    empty one there and ``create=False`` raises ``DocumentStoreError("no document store at PATH...")``; pipeline
    files open stores with ``create: false`` unless they say otherwise (see :mod:`docqa.core.serialization`).

    Threads: every read and write (each public method but :meth:`save`) holds the store's own lock, so a read sees
    the store before or after a write, never half-way through it. :meth:`save` holds it only to compact the store,
    then reads it beside other reads: keep writes out while it runs (the one writer saves, as ``docqa serve`` does).

    Duplicate ids: ``DuplicatePolicy.NONE`` means ``FAIL``. Filters: see :mod:`docqa.document_stores.filters`.
    Retrieval returns copies with ``score`` set, best first, ties in insertion order; only documents sharing at
    least one term with the query are returned by BM25. Documents are stored as shallow copies: a nested object
    inside ``meta`` is shared with the caller's document.

    >>> store = InMemoryDocumentStore()
    >>> store.write_documents([Document("Paris is the capital of France."), Document("Berlin is in Germany.")])
    2
    >>> [doc.content for doc in store.bm25_retrieval("capital of France", top_k=1)]
    ['Paris is the capital of France.']
    """

    def __init__(self, path: str | None = None, analyzer: dict[str, Any] | None = None, create: bool = True) -> None:
        self.path = path
        self._analyzer = Analyzer.from_dict(analyzer)
        #: The model the stored embeddings came from (saved with the store), so that queries are embedded alike.
        self.embedding_model: str | None = None
        #: How the stored passages were split (``docqa index`` records its splitter's settings; saved with the store).
        self.split_settings: dict[str, Any] | None = None
        #: When set (see :meth:`WriteAheadLog.attach`), every write and delete is appended to it before returning.
        self.wal: WriteAheadLog | None = None
        self._snapshot: str | None = None
        self._lock = threading.RLock()
        self._reset()
        if path is None:
            return
        directory = Path(path)
        if (directory / MANIFEST).is_file():
            self._load_into(directory, analyzer)
        elif directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise DocumentStoreError(
                f"document store path '{directory}' exists but is not a docqa store (no {MANIFEST})"
            )
        elif not create:
            raise NoDocumentStoreError(
                f"no document store at {directory}: create one with `docqa index PATH... --store {directory}` "
                "(or pass create: true to start an empty one)"
            )

    def _reset(self) -> None:
        self._docs: list[Document | None] = []
        self._id_to_row: dict[str, int] = {}
        self._index = BM25Index()
        self._embeddings: np.ndarray | None = None  # (capacity, dim) float32; rows aligned with _docs
        self._has_embedding = np.zeros(0, dtype=bool)
        self._revision = 0
        self._columns: DocumentColumns | None = None
        self._norms: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"InMemoryDocumentStore(path={self.path!r}, documents={self.count_documents()})"

    # ------------------------------------------------------------------------------------- protocol
    @property
    def analyzer(self) -> Analyzer:
        return self._analyzer

    @property
    def revision(self) -> int:
        """Incremented on every change of the stored documents (write or delete)."""
        return self._revision

    @property
    def snapshot(self) -> str | None:
        """The data folder at ``path`` this store was loaded from or last saved to (None: neither yet)."""
        return self._snapshot

    @_guarded
    def count_documents(self) -> int:
        return self._index.n_live

    @_guarded
    def write_documents(self, documents: Sequence[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Store copies of ``documents``; return how many were written. A failing batch writes nothing."""
        policy = _as_policy(policy)
        if isinstance(documents, (str, Document)) or not isinstance(documents, Sequence):
            raise DocumentStoreError(f"write_documents expects a list of Documents, got {type(documents).__name__}")
        for position, document in enumerate(documents):
            if not isinstance(document, Document):
                raise DocumentStoreError(
                    f"write_documents: item {position} is a {type(document).__name__}, not a Document"
                )
        selected, replaced = self._plan_write(documents, policy)
        if not selected:
            return 0
        vectors, has_vector = self._check_embeddings(selected)
        analyze = self._analyzer
        contents = [document.content for document in selected]
        batches = (
            [analyze(text) for text in contents[i : i + _INDEX_BATCH]] for i in range(0, len(contents), _INDEX_BATCH)
        )
        if self.wal is not None:
            self.wal.log_write(selected, self.embedding_model)
        self._index.add(batches)  # tokenizes everything before changing any state
        if replaced:
            self._tombstone([self._id_to_row.pop(doc_id) for doc_id in replaced])
        first_row = len(self._docs)
        for offset, document in enumerate(selected):
            self._docs.append(Document(content=document.content, meta=dict(document.meta), id=document.id))
            self._id_to_row[document.id] = first_row + offset
        self._append_embeddings(vectors, has_vector)
        self._changed()
        return len(selected)

    def _plan_write(self, documents: Sequence[Document], policy: DuplicatePolicy) -> tuple[list[Document], list[str]]:
        """The documents to append and the stored ids they replace."""
        if policy is DuplicatePolicy.OVERWRITE:
            latest: dict[str, Document] = {}
            for document in documents:
                latest[document.id] = document
            return list(latest.values()), [doc_id for doc_id in latest if doc_id in self._id_to_row]
        selected: list[Document] = []
        seen: set[str] = set()
        for document in documents:
            duplicate = document.id in self._id_to_row or document.id in seen
            if duplicate and policy is not DuplicatePolicy.SKIP:
                where = "already in the store" if document.id in self._id_to_row else "repeated in the batch"
                raise DuplicateDocumentError(f"document {document.id} is {where} (duplicate policy FAIL)")
            if not duplicate:
                seen.add(document.id)
                selected.append(document)
        return selected, []

    @_guarded
    def delete_documents(self, ids: list[str]) -> None:
        """Delete the documents with these ids; unknown ids are ignored."""
        if isinstance(ids, str):
            raise DocumentStoreError("delete_documents expects a list of ids, not a single string")
        if self.wal is not None and (known := [doc_id for doc_id in dict.fromkeys(ids) if doc_id in self._id_to_row]):
            self.wal.log_delete(known)
        rows = {self._id_to_row.pop(doc_id) for doc_id in ids if doc_id in self._id_to_row}
        if rows:
            self._tombstone(sorted(rows))
            self._changed()

    @_guarded
    def get_documents_by_id(self, ids: list[str], *, return_embedding: bool = True) -> list[Document]:
        """The stored documents with these ids, in the order asked; unknown ids are left out."""
        if isinstance(ids, str):
            raise DocumentStoreError("get_documents_by_id expects a list of ids, not a single string")
        rows = [self._id_to_row[doc_id] for doc_id in ids if doc_id in self._id_to_row]
        return [self._output(row, None, return_embedding) for row in rows]

    @_guarded
    def filter_documents(
        self, filters: dict[str, Any] | None = None, *, return_embedding: bool = True
    ) -> list[Document]:
        """The stored documents matching ``filters`` (all if None), in insertion order."""
        mask = self._filter_mask(filters)
        rows = np.flatnonzero(mask if mask is not None else self._index.live)
        return [self._output(int(row), None, return_embedding) for row in rows]

    # ------------------------------------------------------------------------------------ internals
    def _changed(self) -> None:
        self._revision += 1
        self._columns = None
        self._norms = None
        if len(self._docs) >= 64 and len(self._docs) - self._index.n_live > _COMPACT_RATIO * len(self._docs):
            self._compact()

    def _tombstone(self, rows: list[int]) -> None:
        self._index.remove(np.asarray(rows, dtype=np.int64))
        for row in rows:
            self._docs[row] = None

    @_guarded
    def compact(self) -> None:
        """Drop the rows of deleted documents now (:meth:`save` does it first). After it, a save only reads
        the store, so searches may run beside it (``docqa serve`` lets them during its checkpoints)."""
        if self._index.n_live != len(self._docs):
            self._compact()

    def _compact(self) -> None:
        keep = self._index.compact()
        self._docs = [self._docs[row] for row in keep]
        self._id_to_row = {doc.id: row for row, doc in enumerate(self._docs) if doc is not None}
        if self._embeddings is not None:
            self._embeddings = np.ascontiguousarray(self._embeddings[keep])
        self._has_embedding = self._has_embedding[keep]
        self._columns = None
        self._norms = None

    def _filter_mask(self, filters: dict[str, Any] | None) -> np.ndarray | None:
        """Live rows matching ``filters`` (None when there is no filter)."""
        if filters is None:
            return None
        node = validate_filters(filters)
        if self._columns is None:
            self._columns = DocumentColumns(self._docs)
        return evaluate(node, self._columns) & self._index.live

    def _output(self, row: int, score: float | None, with_embedding: bool) -> Document:
        stored = self._docs[row]
        assert stored is not None
        embedding = None
        if with_embedding and self._embeddings is not None and self._has_embedding[row]:
            embedding = self._embeddings[row].copy()
        return Document(stored.content, dict(stored.meta), stored.id, score, embedding)

    # ------------------------------------------------------------------------------------------ BM25
    @_guarded
    def bm25_retrieval(
        self,
        query: str,
        *,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        variant: str = "okapi",
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        delta: float | None = None,
        return_embedding: bool = False,
    ) -> list[Document]:
        """The ``top_k`` best BM25 matches for ``query`` among documents matching ``filters``, best first.

        Scores are rank-bm25's (``variant`` okapi, bm25l or bm25plus; ``delta=None`` = the variant's default).
        A query whose tokens are all unknown (or stopwords) returns ``[]``; an empty query is an error.
        """
        check_int("InMemoryDocumentStore", "top_k", top_k)
        if not isinstance(query, str) or not query.strip():
            raise DocqaError(f"BM25 query must be a non-empty string, got {query!r}")
        params = BM25Params(variant, k1, b, epsilon, delta)
        mask = self._filter_mask(filters)
        rows, scores = self._index.top_k(self._analyzer(query), top_k, params, mask)
        return [self._output(int(row), float(score), return_embedding) for row, score in zip(rows, scores, strict=True)]

    @_guarded
    def keyword_retrieval(
        self, query: str, *, top_k: int = 10, filters: dict[str, Any] | None = None
    ) -> list[Document]:
        """:meth:`bm25_retrieval` with its default parameters (the store-agnostic keyword search)."""
        return self.bm25_retrieval(query, top_k=top_k, filters=filters)

    @_guarded
    def prepare_bm25(
        self,
        *,
        variant: str = "okapi",
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        delta: float | None = None,
    ) -> None:
        """Precompute the score matrix of a BM25 configuration now rather than at the first query after a change."""
        self._index.prepare(BM25Params(variant, k1, b, epsilon, delta))

    @_guarded
    def bm25_scores(
        self,
        query: str,
        *,
        variant: str = "okapi",
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        delta: float | None = None,
    ) -> dict[str, float]:
        """Every stored document's BM25 score for ``query`` (id -> score), like rank-bm25's ``get_scores``."""
        params = BM25Params(variant, k1, b, epsilon, delta)
        scores = self._index.score_all(self._analyzer(query), params)
        return {doc.id: float(scores[row]) for row, doc in enumerate(self._docs) if doc is not None}

    # ------------------------------------------------------------------------------------ embeddings
    @property
    @_guarded
    def embedding_dim(self) -> int | None:
        """The dimension of the stored embeddings (None when no stored document has one)."""
        if self._embeddings is None or not (self._has_embedding & self._index.live).any():
            return None
        return int(self._embeddings.shape[1])

    def _check_embeddings(self, documents: list[Document]) -> tuple[np.ndarray | None, np.ndarray]:
        """The batch's embeddings as one float32 matrix (zeros where missing) and which rows have one."""
        has_vector = np.array([document.embedding is not None for document in documents], dtype=bool)
        if not has_vector.any():
            return None, has_vector
        dim = self.embedding_dim
        rows: list[np.ndarray] = []
        for document in documents:
            if document.embedding is None:
                continue
            try:
                vector = np.asarray(document.embedding, dtype=np.float32)
            except (TypeError, ValueError):
                raise DocumentStoreError(f"document {document.id}: embedding is not a list of numbers") from None
            if vector.ndim != 1 or vector.size == 0:
                raise DocumentStoreError(f"document {document.id}: embedding must be a non-empty 1-D vector")
            dim = len(vector) if dim is None else dim
            if len(vector) != dim:
                raise DocumentStoreError(
                    f"document {document.id}: embedding has dimension {len(vector)}, store has {dim}"
                )
            if not np.isfinite(vector).all():
                raise DocumentStoreError(f"document {document.id}: embedding contains NaN or infinite values")
            rows.append(vector)
        matrix = np.zeros((len(documents), int(dim)), dtype=np.float32)  # type: ignore[arg-type]
        matrix[has_vector] = np.stack(rows)
        return matrix, has_vector

    def _append_embeddings(self, vectors: np.ndarray | None, has_vector: np.ndarray) -> None:
        n_rows = len(self._docs)
        start = n_rows - len(has_vector)
        self._has_embedding = np.concatenate([self._has_embedding, has_vector])
        if vectors is None and self._embeddings is None:
            return
        dim = vectors.shape[1] if vectors is not None else self._embeddings.shape[1]  # type: ignore[union-attr]
        current = self._embeddings
        if current is None or current.shape[1] != dim or len(current) < n_rows:
            grown = np.zeros((max(n_rows, int(len(current) * 1.5) if current is not None else 0), dim), np.float32)
            if current is not None and current.shape[1] == dim:
                grown[:start] = current[:start]
            else:  # a new dimension: only possible when no live row has an embedding
                self._has_embedding[:start] = False
            self._embeddings = current = grown
        current[start:n_rows] = 0.0 if vectors is None else vectors

    @_guarded
    def embedding_matrix(self) -> tuple[np.ndarray, list[str]]:
        """The embeddings of the stored documents that have one (a float32 copy) and those documents' ids."""
        rows = np.flatnonzero(self._has_embedding & self._index.live)
        dim = 0 if self._embeddings is None else self._embeddings.shape[1]
        vectors = self._embeddings[rows] if self._embeddings is not None else np.zeros((0, dim), np.float32)
        return vectors, [self._docs[row].id for row in rows]  # type: ignore[union-attr]

    @_guarded
    def embedding_retrieval(
        self,
        query_embedding: Sequence[float] | np.ndarray,
        *,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        similarity: str = "cosine",
        return_embedding: bool = False,
    ) -> list[Document]:
        """Exact nearest neighbours of ``query_embedding`` (``cosine`` or ``dot_product``), best first."""
        check_int("InMemoryDocumentStore", "top_k", top_k)
        if similarity not in SIMILARITIES:
            raise DocumentStoreError(f"unknown similarity {similarity!r}; expected one of {list(SIMILARITIES)}")
        query = self._check_query_embedding(query_embedding, similarity)
        mask = self._filter_mask(filters)
        allowed = self._has_embedding & (self._index.live if mask is None else mask)
        candidates = np.flatnonzero(allowed)
        matrix = self._embeddings
        assert matrix is not None
        if len(candidates) * 2 < len(self._docs):
            scores = matrix[candidates] @ query
        else:  # most rows qualify: one product over all rows beats gathering them first
            scores = (matrix[: len(self._docs)] @ query)[candidates]
        scores = scores.astype(np.float64)
        if similarity == "cosine":
            norms = self._row_norms()[candidates]
            with np.errstate(divide="ignore", invalid="ignore"):
                scores = np.where(norms > 0, scores / (norms * float(np.linalg.norm(query))), 0.0)
        rows, best = select_top_k(candidates, scores, top_k)
        return [self._output(int(row), float(score), return_embedding) for row, score in zip(rows, best, strict=True)]

    def _check_query_embedding(self, query_embedding: Any, similarity: str) -> np.ndarray:
        return check_query_embedding(query_embedding, self.embedding_dim, similarity)

    def _row_norms(self) -> np.ndarray:
        if self._norms is None:
            assert self._embeddings is not None
            n_rows = len(self._docs)
            norms = np.empty(n_rows, dtype=np.float64)
            for start in range(0, n_rows, 8192):  # float64 in chunks: no full-size temporary copy
                chunk = self._embeddings[start : min(start + 8192, n_rows)].astype(np.float64)
                norms[start : start + len(chunk)] = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
            self._norms = norms
        return self._norms

    # ----------------------------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Save atomically to directory ``path`` (default: the store's ``path``); return the directory.

        The data goes to a fresh ``data-<uuid>/`` folder inside the directory, is fsynced, and only then does
        ``manifest.json`` (replaced atomically) point to it; the previous data folder is removed afterwards. A
        crash at any moment leaves the previous save loadable. Concurrent saves and loads, also from other
        processes, are serialized by an OS lock on the directory (exclusive here, shared while loading), so
        under it every other ``data-*`` folder is the previous save's or an orphan of a killed save: both go.
        """
        if path is None and self.path is None:
            raise DocumentStoreError("save: no directory given and the store has no path")
        directory = Path(path if path is not None else self.path)  # type: ignore[arg-type]
        _check_save_target(directory)
        self.compact()
        directory.mkdir(parents=True, exist_ok=True)
        with store_lock(directory, exclusive=True):
            _check_save_target(directory)  # again under the lock: another process may have written meanwhile
            check_writer(directory, self.wal)  # a process serving the store (docqa serve) is its only writer
            data_name = self._save_locked(directory)
            _remove_stale(directory, keep=data_name)
        if self.path is not None and directory == Path(self.path):
            self._snapshot = data_name
        return directory

    def _save_locked(self, directory: Path) -> str:
        """Write a new data folder and point the manifest at it; return the folder's name."""
        data_name = f"{_DATA_PREFIX}{uuid.uuid4().hex}"
        try:
            files = self._write_data(directory / data_name)
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "data_dir": data_name,
                "num_documents": len(self._docs),
                "embedding_dim": self.embedding_dim,
                "embedding_model": self.embedding_model,
                "split_settings": self.split_settings,
                "analyzer": self._analyzer.to_dict(),
                "files": files,
            }
            _write_atomically(directory / MANIFEST, json.dumps(manifest, indent=2).encode("utf-8"))
        except BaseException:
            shutil.rmtree(directory / data_name, ignore_errors=True)
            raise
        return data_name

    def _write_data(self, folder: Path) -> dict[str, int]:
        """Write every data file into ``folder`` (fsynced); return file name -> size in bytes."""
        folder.mkdir()
        with open(folder / "documents.jsonl", "wb") as handle:
            handle.writelines(_document_lines(self._docs))
            _sync(handle)
        with open(folder / "vocab.json", "wb") as handle:
            handle.write(json.dumps(self._index.terms(), ensure_ascii=False).encode("utf-8"))
            _sync(handle)
        arrays = {f"bm25_{name}.npy": array for name, array in self._index.to_arrays().items()}
        if self.embedding_dim is not None:
            assert self._embeddings is not None
            arrays["embeddings.npy"] = self._embeddings[: len(self._docs)]
            arrays["has_embedding.npy"] = self._has_embedding
        for name, array in arrays.items():
            with open(folder / name, "wb") as handle:
                np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
                _sync(handle)
        fsync_directory(folder)
        return {item.name: item.stat().st_size for item in sorted(folder.iterdir())}

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> InMemoryDocumentStore:
        """Load a store saved with :meth:`save` (no re-tokenization); DocumentStoreError if it is not one."""
        directory = Path(path)
        if not (directory / MANIFEST).is_file():
            raise DocumentStoreError(
                f"cannot load document store '{directory}': no {MANIFEST} (not a saved docqa store)"
            )
        return cls(path=str(path))

    def _load_into(self, directory: Path, analyzer: dict[str, Any] | None) -> None:
        with store_lock(directory, exclusive=False):  # no save can swap or delete the data while it is read
            self._read_locked(directory, analyzer)
            replay(self, directory)  # changes logged since that snapshot (see docqa.document_stores.wal)

    def _read_locked(self, directory: Path, analyzer: dict[str, Any] | None) -> None:
        manifest = _read_manifest(directory)
        self._snapshot = manifest["data_dir"]
        saved = _loading(directory, MANIFEST, lambda: Analyzer.from_dict(manifest["analyzer"]))
        if analyzer is not None and Analyzer.from_dict(analyzer) != saved:
            raise DocumentStoreError(
                f"document store '{directory}' was indexed with analyzer {saved.to_dict()}, not {analyzer}"
            )
        self._analyzer = saved
        folder = directory / manifest["data_dir"]
        for name, size in manifest["files"].items():
            if not (folder / name).is_file() or (folder / name).stat().st_size != size:
                raise DocumentStoreError(
                    f"cannot load document store '{directory}': {folder.name}/{name} is missing or truncated"
                )
        docs = _read_documents(directory, folder / "documents.jsonl")
        terms = _loading(directory, "vocab.json", lambda: _read_terms(folder / "vocab.json"))
        arrays = {name: _load_array(directory, folder / f"bm25_{name}.npy") for name in _INDEX_ARRAYS}
        index = _loading(directory, "bm25_*.npy", lambda: BM25Index.from_arrays(terms, arrays))
        if index.n_rows != len(docs) or len(docs) != manifest["num_documents"]:
            raise DocumentStoreError(
                f"cannot load document store '{directory}': documents.jsonl and bm25 arrays disagree"
            )
        self._docs, self._index = list(docs), index
        self._id_to_row = {doc.id: row for row, doc in enumerate(docs)}
        if len(self._id_to_row) != len(docs):
            raise DocumentStoreError(f"cannot load document store '{directory}': documents.jsonl repeats an id")
        self._has_embedding = np.zeros(len(docs), dtype=bool)
        self.embedding_model = manifest.get("embedding_model")
        self.split_settings = manifest.get("split_settings")
        if manifest["embedding_dim"] is not None:
            self._load_embeddings(directory, folder, len(docs), manifest["embedding_dim"])

    def _load_embeddings(self, directory: Path, folder: Path, n_docs: int, dim: int) -> None:
        embeddings = _load_array(directory, folder / "embeddings.npy")
        has_embedding = _load_array(directory, folder / "has_embedding.npy")
        if embeddings.shape != (n_docs, dim) or embeddings.dtype != np.float32 or has_embedding.shape != (n_docs,):
            raise DocumentStoreError(f"cannot load document store '{directory}': embeddings.npy has the wrong shape")
        self._embeddings = embeddings
        self._has_embedding = has_embedding.astype(bool)


def _as_policy(policy: Any) -> DuplicatePolicy:
    try:
        policy = DuplicatePolicy(policy)
    except ValueError:
        raise DocumentStoreError(
            f"unknown duplicate policy {policy!r}; expected one of none, skip, overwrite, fail"
        ) from None
    return DuplicatePolicy.FAIL if policy is DuplicatePolicy.NONE else policy


def _check_save_target(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise DocumentStoreError(f"cannot save document store to '{directory}': it is a file")
    if directory.is_dir() and not (directory / MANIFEST).exists() and any(directory.iterdir()):
        raise DocumentStoreError(
            f"cannot save document store to '{directory}': non-empty folder that is not a docqa store"
        )


@contextmanager
def store_lock(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold an OS advisory lock (``flock``) on the store directory: exclusive to save, shared to load.

    The lock belongs to the open descriptor, so a killed process releases it. Where directories cannot be
    opened or ``fcntl`` does not exist (Windows), there is no lock: saves stay atomic, not serialized.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError as error:
        raise DocumentStoreError(f"cannot lock document store '{directory}': {error.strerror or error}") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _remove_stale(directory: Path, keep: str) -> None:
    """Remove every data folder but ``keep`` and temporary manifests; only call under the exclusive lock."""
    for stale in directory.glob(f"{_DATA_PREFIX}*"):
        if stale.name != keep and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    for temporary in directory.glob(f".{MANIFEST}.*.tmp"):
        temporary.unlink(missing_ok=True)
    for log in directory.glob(f"{WAL_PREFIX}{_DATA_PREFIX}*.jsonl"):  # logs of older snapshots, folded in
        if log.name != f"{WAL_PREFIX}{keep}.jsonl":
            log.unlink(missing_ok=True)


def _document_lines(docs: Sequence[Document | None]) -> Iterator[bytes]:
    for doc in docs:
        assert doc is not None
        try:
            line = json.dumps({"id": doc.id, "content": doc.content, "meta": doc.meta}, ensure_ascii=False)
        except (TypeError, ValueError) as error:
            raise DocumentStoreError(
                f"cannot save document {doc.id}: its meta is not JSON-serializable ({error})"
            ) from None
        yield line.encode("utf-8") + b"\n"


def _sync(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _write_atomically(target: Path, payload: bytes) -> None:
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(payload)
            _sync(handle)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_directory(target.parent)


def _loading(directory: Path, name: str, read: Any) -> Any:
    """Run ``read()``, turning any failure into a DocumentStoreError naming the store and the file."""
    try:
        return read()
    except DocumentStoreError:
        raise
    except (OSError, ValueError, TypeError, KeyError, DocqaError) as error:
        raise DocumentStoreError(f"cannot load document store '{directory}': {name} is corrupt ({error})") from None


def _read_manifest(directory: Path) -> dict[str, Any]:
    manifest = _loading(directory, MANIFEST, lambda: json.loads((directory / MANIFEST).read_text("utf-8")))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DocumentStoreError(f"cannot load document store '{directory}': {MANIFEST} is not a docqa store manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise DocumentStoreError(
            f"cannot load document store '{directory}': {MANIFEST} has format_version {version!r}, "
            f"this docqa reads {FORMAT_VERSION}"
        )
    data_dir, files = manifest.get("data_dir"), manifest.get("files")
    valid = (
        isinstance(data_dir, str)
        and data_dir.startswith(_DATA_PREFIX)
        and "/" not in data_dir
        and "\\" not in data_dir
        and isinstance(files, dict)
        and isinstance(manifest.get("num_documents"), int)
        and (manifest.get("embedding_dim") is None or isinstance(manifest.get("embedding_dim"), int))
        and (manifest.get("embedding_model") is None or isinstance(manifest.get("embedding_model"), str))
        and (manifest.get("split_settings") is None or isinstance(manifest.get("split_settings"), dict))
    )
    if not valid:
        raise DocumentStoreError(
            f"cannot load document store '{directory}': {MANIFEST} is missing or has invalid fields"
        )
    return manifest


def _read_documents(directory: Path, file: Path) -> list[Document]:
    docs: list[Document] = []
    with open(file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
                valid = isinstance(record["content"], str) and isinstance(record["meta"], dict)
                valid = valid and isinstance(record["id"], str) and bool(record["id"])
            except (ValueError, KeyError, TypeError) as error:
                raise DocumentStoreError(
                    f"cannot load document store '{directory}': documents.jsonl line {number} is corrupt ({error})"
                ) from None
            if not valid:
                raise DocumentStoreError(
                    f"cannot load document store '{directory}': documents.jsonl line {number} is invalid"
                )
            docs.append(Document(record["content"], record["meta"], record["id"]))
    return docs


def _read_terms(file: Path) -> list[str]:
    terms = json.loads(file.read_text("utf-8"))
    if not isinstance(terms, list) or not all(isinstance(term, str) for term in terms):
        raise ValueError("expected a JSON list of strings")
    return terms


def _load_array(directory: Path, file: Path) -> np.ndarray:
    return _loading(directory, f"{file.parent.name}/{file.name}", lambda: np.load(file, allow_pickle=False))
