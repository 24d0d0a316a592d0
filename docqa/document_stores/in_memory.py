"""The in-memory document store: BM25 and exact embedding search over segments, saved atomically, safe to share
between threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from docqa.core.component import capture_init_parameters
from docqa.core.validation import check_int
from docqa.document_stores import bm25_index, persistence
from docqa.document_stores.base import DuplicatePolicy
from docqa.document_stores.bm25_index import BM25Params, select_top_k
from docqa.document_stores.durable import store_lock
from docqa.document_stores.filters import evaluate, validate_filters
from docqa.document_stores.persistence import MANIFEST, Settings
from docqa.document_stores.query_embedding import check_query_embedding
from docqa.document_stores.segment import Segment, build_segment
from docqa.document_stores.state import StoreState, tail_merge_start
from docqa.document_stores.wal import WriteAheadLog, check_writer, replay
from docqa.errors import DocqaError, DocumentStoreError, DuplicateDocumentError, NoDocumentStoreError
from docqa.schema import Document
from docqa.text.analyzer import Analyzer

__all__ = ["MANIFEST", "SIMILARITIES", "InMemoryDocumentStore", "store_lock"]

SIMILARITIES = ("cosine", "dot_product")
_COMPACT_RATIO = 0.25  # an in-memory segment is rewritten once this fraction of its rows are deleted


@capture_init_parameters
class InMemoryDocumentStore:
    """Documents searchable by BM25 (:meth:`bm25_retrieval`) and by embedding (:meth:`embedding_retrieval`),
    kept in memory or memory-mapped from a saved directory.

    ``analyzer`` configures BM25 tokenization (see :class:`docqa.text.Analyzer`; ``None`` = default). If ``path``
    holds a saved store, it is opened (its saved analyzer is used; passing a different one is an error) in O(1):
    its files are memory-mapped, read when a query needs them. :meth:`save` with no argument saves back there,
    writing only what changed. Where ``path`` holds no store, ``create=True`` starts an empty one there and
    ``create=False`` raises ``DocumentStoreError("no document store at PATH...")``; pipeline files open stores
    with ``create: false`` unless they say otherwise (see :mod:`docqa.core.serialization`).

    Duplicate ids: ``DuplicatePolicy.NONE`` means ``FAIL``. Filters: see :mod:`docqa.document_stores.filters`.
    Retrieval returns copies with ``score`` set, best first, ties in insertion order; only documents sharing at
    least one term with the query are returned by BM25. Documents are stored as shallow copies: a nested object
    inside ``meta`` is shared with the caller's document.

    Threads: any number of threads may read (retrieve, filter, count, get) while one writes, deletes or saves;
    writes, deletes and saves run one at a time. A reader sees the store as it was before a write or after
    it, never half-way, and is never blocked (each change publishes a new immutable
    :class:`~docqa.document_stores.state.StoreState`; a reader works on the one it took).

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
        self._state = StoreState()
        self._lock = threading.RLock()  # writers, deletes and saves; readers never take it
        if path is None:
            return
        directory = Path(path)
        if (directory / MANIFEST).is_file():
            self._open(directory, analyzer)
        elif directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise DocumentStoreError(
                f"document store path '{directory}' exists but is not a docqa store (no {MANIFEST})"
            )
        elif not create:
            raise NoDocumentStoreError(
                f"no document store at {directory}: create one with `docqa index PATH... --store {directory}` "
                "(or pass create: true to start an empty one)"
            )

    def __repr__(self) -> str:
        return f"InMemoryDocumentStore(path={self.path!r}, documents={self.count_documents()})"

    # ------------------------------------------------------------------------------------- protocol
    @property
    def analyzer(self) -> Analyzer:
        return self._analyzer

    @property
    def revision(self) -> int:
        """Incremented on every change of the stored documents (write or delete)."""
        return self._state.revision

    @property
    def snapshot(self) -> str | None:
        """The data folder at ``path`` this store was loaded from or last saved to (None: neither yet)."""
        return self._snapshot

    @property
    def segments(self) -> tuple[Segment, ...]:
        """The store's segments, oldest first (saved ones have a ``name``)."""
        return self._state.segments

    def count_documents(self) -> int:
        return self._state.n_live

    def write_documents(self, documents: Sequence[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Store copies of ``documents``; return how many were written. A failing batch writes nothing."""
        policy = _as_policy(policy)
        _check_documents(documents)
        with self._lock:
            state = self._state
            selected, replaced = _plan_write(state, documents, policy)
            if not selected:
                return 0
            vectors, has_vector = self._check_embeddings(state, selected)
            segment = build_segment(selected, self._analyzer, state.vocabulary, vectors, has_vector)
            if self.wal is not None:
                self.wal.log_write(selected, self.embedding_model)
            if replaced:
                state = state.without(_rows_by_segment(*state.locate(replaced)))
            self._state = _merge_memory_tail(state.with_segment(segment))
        return len(selected)

    def delete_documents(self, ids: list[str]) -> None:
        """Delete the documents with these ids; unknown ids are ignored."""
        if isinstance(ids, str):
            raise DocumentStoreError("delete_documents expects a list of ids, not a single string")
        with self._lock:
            state = self._state
            unique = list(dict.fromkeys(ids))
            where, rows = state.locate(unique)
            if not (where >= 0).any():
                return
            if self.wal is not None:
                self.wal.log_delete([doc_id for doc_id, found in zip(unique, where, strict=True) if found >= 0])
            self._state = _compact_memory(state.without(_rows_by_segment(where, rows)))

    def get_documents_by_id(self, ids: list[str], *, return_embedding: bool = True) -> list[Document]:
        """The stored documents with these ids, in the order asked; unknown ids are left out."""
        if isinstance(ids, str):
            raise DocumentStoreError("get_documents_by_id expects a list of ids, not a single string")
        state = self._state
        where, rows = state.locate(list(ids))
        return [_output(state, s, row, None, return_embedding) for s, row in zip(where, rows, strict=True) if s >= 0]

    def filter_documents(
        self, filters: dict[str, Any] | None = None, *, return_embedding: bool = True
    ) -> list[Document]:
        """The stored documents matching ``filters`` (all if None), in insertion order."""
        state = self._state
        masks = _filter_masks(state, filters)
        found: list[Document] = []
        for s, live in enumerate(state.live):
            rows = np.flatnonzero(live if masks is None else masks[s] & live)
            found.extend(_output(state, s, int(row), None, return_embedding) for row in rows)
        return found

    def compact(self) -> None:
        """Merge the segments held in memory (written since the last save) into one, dropping their deleted
        rows. Saved segments are merged by :meth:`save` when worth it; ``save(compact=True)`` (``docqa
        compact``) rewrites the whole store as one segment."""
        with self._lock:
            state = self._state
            first = _first_in_memory(state)
            if len(state.segments) - first > 1 or any((~live).any() for live in state.live[first:]):
                self._state = state.merged(
                    first, len(state.segments), persistence.compact_in_memory(state, first, len(state.segments))
                )

    # ------------------------------------------------------------------------------------------ BM25
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
        state = self._state
        hits = bm25_index.top_k(state, self._analyzer(query), top_k, params, _filter_masks(state, filters))
        return [_output(state, s, row, score, return_embedding) for s, row, score in hits]

    def keyword_retrieval(
        self, query: str, *, top_k: int = 10, filters: dict[str, Any] | None = None
    ) -> list[Document]:
        """:meth:`bm25_retrieval` with its default parameters (the store-agnostic keyword search)."""
        return self.bm25_retrieval(query, top_k=top_k, filters=filters)

    def prepare_bm25(
        self,
        *,
        variant: str = "okapi",
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        delta: float | None = None,
    ) -> None:
        """Check a BM25 configuration; nothing is precomputed (term scores come from the frequencies at query
        time, so no write ever invalidates a score matrix)."""
        BM25Params(variant, k1, b, epsilon, delta)

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
        state = self._state
        scores = bm25_index.score_all(state, self._analyzer(query), params)
        result: dict[str, float] = {}
        for segment, live, segment_scores in zip(state.segments, state.live, scores, strict=True):
            rows = np.flatnonzero(live)
            result.update(zip(segment.ids.items(rows), segment_scores[rows].tolist(), strict=True))
        return result

    # ------------------------------------------------------------------------------------ embeddings
    @property
    def embedding_dim(self) -> int | None:
        """The dimension of the stored embeddings (None when no stored document has one)."""
        return _embedding_dim(self._state)

    def _check_embeddings(self, state: StoreState, documents: list[Document]) -> tuple[np.ndarray | None, np.ndarray]:
        """The batch's embeddings as one float32 matrix (zeros where missing) and which rows have one."""
        has_vector = np.array([document.embedding is not None for document in documents], dtype=bool)
        if not has_vector.any():
            return None, has_vector
        dim = _embedding_dim(state)
        rows: list[np.ndarray] = []
        for document in documents:
            if document.embedding is not None:
                rows.append(_vector(document, dim))
                dim = len(rows[-1])
        matrix = np.zeros((len(documents), int(dim)), dtype=np.float32)  # type: ignore[arg-type]
        matrix[has_vector] = np.stack(rows)
        return matrix, has_vector

    def embedding_matrix(self) -> tuple[np.ndarray, list[str]]:
        """The embeddings of the stored documents that have one (a float32 copy) and those documents' ids."""
        state = self._state
        dim = _embedding_dim(state)
        vectors, ids = [np.zeros((0, dim or 0), np.float32)], []
        for segment, live in zip(state.segments, state.live, strict=True):
            if segment.embeddings is None or segment.embedding_dim != dim:
                continue
            rows = np.flatnonzero(segment.has_embedding & live)
            vectors.append(np.asarray(segment.embeddings[rows], dtype=np.float32))
            ids.extend(segment.ids.items(rows))
        return np.concatenate(vectors), ids

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
        state = self._state
        query = check_query_embedding(query_embedding, _embedding_dim(state), similarity)
        masks = _filter_masks(state, filters)
        rows_out, scores_out, offset = [np.zeros(0, np.int64)], [np.zeros(0)], 0
        for s, segment in enumerate(state.segments):
            if segment.embeddings is not None and segment.embedding_dim == len(query):
                rows, scores = _nearest(
                    segment, state.live[s] if masks is None else masks[s] & state.live[s], query, similarity
                )
                rows_out.append(rows + offset)
                scores_out.append(scores)
            offset += segment.n_rows
        rows, best = select_top_k(np.concatenate(rows_out), np.concatenate(scores_out), top_k)
        return [
            _output(state, *_segment_row(state, int(row)), float(score), return_embedding)
            for row, score in zip(rows, best, strict=True)
        ]

    # ----------------------------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str] | None = None, *, compact: bool = False) -> Path:
        """Save atomically to directory ``path`` (default: the store's ``path``); return the directory.

        Saving to the store's own path writes only what changed since it was opened or saved (the documents
        written since, as one new segment, and the deletions), merging segments when worth it; ``compact=True``,
        or another directory, rewrites everything as one segment without the deleted documents. New files are
        fsynced before ``manifest.json`` is replaced atomically, so a crash at any moment leaves the previous
        save loadable. Concurrent saves and loads, also from other processes, are serialized by an OS lock on
        the directory (exclusive here, shared while loading); under it, folders no manifest names any more (the
        previous save's, or a killed save's) are removed. Readers in this process go on meanwhile.
        """
        if path is None and self.path is None:
            raise DocumentStoreError("save: no directory given and the store has no path")
        directory = Path(path if path is not None else self.path)  # type: ignore[arg-type]
        persistence.check_save_target(directory)
        directory.mkdir(parents=True, exist_ok=True)
        own = self.path is not None and directory.resolve() == Path(self.path).resolve()
        with self._lock, store_lock(directory, exclusive=True):
            persistence.check_save_target(directory)  # again under the lock: another process may have written
            check_writer(directory, self.wal)  # a process serving the store (docqa serve) is its only writer
            saved = persistence.save_state(
                directory, self._state, self._settings(), reuse=own and self._is_current(directory), compact=compact
            )
            if own:
                self._state, self._snapshot = saved.state, saved.snapshot
                if self.wal is not None:
                    self.wal.rotate(directory)
        return directory

    def _settings(self) -> Settings:
        return Settings(self._analyzer.to_dict(), self.embedding_model, self.split_settings)

    def _is_current(self, directory: Path) -> bool:
        """Whether the directory's manifest is still the snapshot this store was loaded from or saved as."""
        try:
            return persistence.read_manifest(directory)["data_dir"] == self._snapshot
        except DocumentStoreError:
            return False

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> InMemoryDocumentStore:
        """Open a store saved with :meth:`save`; DocumentStoreError if it is not one."""
        directory = Path(path)
        if not (directory / MANIFEST).is_file():
            raise DocumentStoreError(
                f"cannot load document store '{directory}': no {MANIFEST} (not a saved docqa store)"
            )
        return cls(path=str(path))

    def _open(self, directory: Path, analyzer: dict[str, Any] | None) -> None:
        with store_lock(directory, exclusive=False):  # no save can swap or delete the data while it is mapped
            opened = persistence.open_saved(directory)
            saved = persistence.loading(directory, MANIFEST, lambda: Analyzer.from_dict(opened.settings.analyzer))
            if analyzer is not None and Analyzer.from_dict(analyzer) != saved:
                raise DocumentStoreError(
                    f"document store '{directory}' was indexed with analyzer {saved.to_dict()}, not {analyzer}"
                )
            self._analyzer, self._state, self._snapshot = saved, opened.state, opened.snapshot
            self.embedding_model = opened.settings.embedding_model
            self.split_settings = opened.settings.split_settings
            replay(self, directory)  # changes logged since that snapshot (see docqa.document_stores.wal)


# ---------------------------------------------------------------------------------------------- helpers
def _as_policy(policy: Any) -> DuplicatePolicy:
    try:
        policy = DuplicatePolicy(policy)
    except ValueError:
        raise DocumentStoreError(
            f"unknown duplicate policy {policy!r}; expected one of none, skip, overwrite, fail"
        ) from None
    return DuplicatePolicy.FAIL if policy is DuplicatePolicy.NONE else policy


def _check_documents(documents: Any) -> None:
    if isinstance(documents, (str, Document)) or not isinstance(documents, Sequence):
        raise DocumentStoreError(f"write_documents expects a list of Documents, got {type(documents).__name__}")
    for position, document in enumerate(documents):
        if not isinstance(document, Document):
            raise DocumentStoreError(f"write_documents: item {position} is a {type(document).__name__}, not a Document")


def _plan_write(
    state: StoreState, documents: Sequence[Document], policy: DuplicatePolicy
) -> tuple[list[Document], list[str]]:
    """The documents to append and the stored ids they replace."""
    if policy is DuplicatePolicy.OVERWRITE:
        latest = {document.id: document for document in documents}
        where, _ = state.locate(list(latest))
        return list(latest.values()), [doc_id for doc_id, s in zip(latest, where, strict=True) if s >= 0]
    where, _ = state.locate([document.id for document in documents])
    selected: list[Document] = []
    seen: set[str] = set()
    for document, stored in zip(documents, (where >= 0).tolist(), strict=True):
        duplicate = stored or document.id in seen
        if duplicate and policy is not DuplicatePolicy.SKIP:
            where_text = "already in the store" if stored else "repeated in the batch"
            raise DuplicateDocumentError(f"document {document.id} is {where_text} (duplicate policy FAIL)")
        if not duplicate:
            seen.add(document.id)
            selected.append(document)
    return selected, []


def _rows_by_segment(where: np.ndarray, rows: np.ndarray) -> dict[int, np.ndarray]:
    found = where >= 0
    where, rows = where[found], rows[found]
    return {int(s): np.unique(rows[where == s]) for s in np.unique(where).tolist()}


def _first_in_memory(state: StoreState) -> int:
    """The index of the first segment not yet saved (they are always the newest)."""
    return next((i for i, segment in enumerate(state.segments) if segment.name is None), len(state.segments))


def _merge_memory_tail(state: StoreState) -> StoreState:
    """Merge runs of in-memory segments by the tiered policy (a write of one row at a time stays cheap)."""
    first = _first_in_memory(state)
    while (start := tail_merge_start([int(live.sum()) for live in state.live[first:]])) is not None:
        start += first
        state = state.merged(
            start, len(state.segments), persistence.compact_in_memory(state, start, len(state.segments))
        )
    return state


def _compact_memory(state: StoreState) -> StoreState:
    """Rewrite the in-memory segments that deletes left mostly empty."""
    for index in range(len(state.segments) - 1, _first_in_memory(state) - 1, -1):
        live = state.live[index]
        if len(live) >= 64 and np.count_nonzero(~live) > _COMPACT_RATIO * len(live):
            state = state.merged(index, index + 1, persistence.compact_in_memory(state, index, index + 1))
    return state


def _filter_masks(state: StoreState, filters: dict[str, Any] | None) -> list[np.ndarray] | None:
    """Per segment, the rows matching ``filters`` (None when there is no filter)."""
    if filters is None:
        return None
    node = validate_filters(filters)
    return [evaluate(node, segment.columns) for segment in state.segments]


def _output(state: StoreState, segment_index: int, row: int, score: float | None, with_embedding: bool) -> Document:
    segment = state.segments[int(segment_index)]
    document = segment.document(int(row))
    document.score = score
    if with_embedding and segment.embeddings is not None and segment.has_embedding[row]:
        document.embedding = np.array(segment.embeddings[row], dtype=np.float32)
    return document


def _segment_row(state: StoreState, row: int) -> tuple[int, int]:
    for index, segment in enumerate(state.segments):
        if row < segment.n_rows:
            return index, row
        row -= segment.n_rows
    raise IndexError(row)


def _embedding_dim(state: StoreState) -> int | None:
    cached = state._cache.get("embedding_dim", "unset")
    if cached == "unset":
        cached = state._cache["embedding_dim"] = persistence.embedding_dim_of(state)
    return cached  # type: ignore[return-value]


def _vector(document: Document, dim: int | None) -> np.ndarray:
    try:
        vector = np.asarray(document.embedding, dtype=np.float32)
    except (TypeError, ValueError):
        raise DocumentStoreError(f"document {document.id}: embedding is not a list of numbers") from None
    if vector.ndim != 1 or vector.size == 0:
        raise DocumentStoreError(f"document {document.id}: embedding must be a non-empty 1-D vector")
    if dim is not None and len(vector) != dim:
        raise DocumentStoreError(f"document {document.id}: embedding has dimension {len(vector)}, store has {dim}")
    if not np.isfinite(vector).all():
        raise DocumentStoreError(f"document {document.id}: embedding contains NaN or infinite values")
    return vector


def _nearest(
    segment: Segment, allowed: np.ndarray, query: np.ndarray, similarity: str
) -> tuple[np.ndarray, np.ndarray]:
    """The allowed embedded rows of ``segment`` and their similarity to ``query``."""
    candidates = np.flatnonzero(allowed & segment.has_embedding)
    matrix = segment.embeddings
    assert matrix is not None
    if len(candidates) * 2 < segment.n_rows:
        scores = np.asarray(matrix[candidates]) @ query
    else:  # most rows qualify: one product over all rows beats gathering them first
        scores = (np.asarray(matrix) @ query)[candidates]
    scores = scores.astype(np.float64)
    if similarity == "cosine":
        norms = segment.norms()[candidates]
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(norms > 0, scores / (norms * float(np.linalg.norm(query))), 0.0)
    return candidates, scores
