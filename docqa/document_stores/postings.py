"""A segment's BM25 data: term frequencies by term (CSC, for queries) and the terms of each row (for deletes).

Term ids are global to the store (a segment's columns are the ids below its ``vocabulary``); rows are the
segment's own, in insertion order. Per term, the largest term frequency and the shortest document holding it
bound what the term can add to a score, which lets a query skip most of the postings of common terms
(see :mod:`docqa.document_stores.bm25_index`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ARRAYS = ("doc_len", "ptr", "rows", "tf", "fwd_ptr", "fwd_terms", "max_tf", "min_len")


@dataclass(frozen=True)
class Postings:
    """``ptr``/``rows``/``tf``: column ``t`` holds ``rows[ptr[t]:ptr[t+1]]`` (ascending) and their frequencies;
    ``fwd_ptr``/``fwd_terms``: the term ids of row ``r`` are ``fwd_terms[fwd_ptr[r]:fwd_ptr[r+1]]``."""

    doc_len: np.ndarray
    ptr: np.ndarray
    rows: np.ndarray
    tf: np.ndarray
    fwd_ptr: np.ndarray
    fwd_terms: np.ndarray
    max_tf: np.ndarray
    min_len: np.ndarray

    @property
    def n_rows(self) -> int:
        return len(self.doc_len)

    @property
    def vocabulary(self) -> int:
        return len(self.ptr) - 1

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAYS}

    def check(self) -> None:
        """Raise ValueError if the arrays do not fit together (cheap checks only: a store opens in O(1))."""
        n_rows, vocabulary, nnz = self.n_rows, self.vocabulary, len(self.rows)
        if vocabulary < 0 or len(self.fwd_ptr) != n_rows + 1 or len(self.tf) != nnz or len(self.fwd_terms) != nnz:
            raise ValueError("postings arrays have inconsistent lengths")
        if len(self.max_tf) != vocabulary or len(self.min_len) != vocabulary:
            raise ValueError("term bounds do not match the vocabulary")
        if int(self.ptr[0]) != 0 or int(self.ptr[-1]) != nnz or int(self.fwd_ptr[-1]) != nnz:
            raise ValueError("postings pointers do not match the postings")

    def column(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and term frequencies of ``term`` (empty for a term this segment does not know)."""
        if term >= self.vocabulary:
            return self.rows[:0], self.tf[:0]
        start, end = int(self.ptr[term]), int(self.ptr[term + 1])
        return self.rows[start:end], self.tf[start:end]

    def column_sizes(self) -> np.ndarray:
        return np.diff(self.ptr)

    def row_terms(self, rows: np.ndarray) -> np.ndarray:
        """The term ids of ``rows``, concatenated (a term once per row holding it)."""
        return np.asarray(self.fwd_terms)[ranges(self.fwd_ptr[rows], self.fwd_ptr[rows + 1])]


class RowCounter:
    """Builds postings from rows given batch by batch as lists of term ids (a token per entry, repeats counted);
    batches bound the memory of the counting."""

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, term_ids: Sequence[Sequence[int]]) -> None:
        import scipy.sparse as sp  # only when indexing: searching a saved store does not import scipy

        n_rows = len(term_ids)
        lengths = np.fromiter(map(len, term_ids), dtype=np.int64, count=n_rows)
        total = int(lengths.sum())
        flat = np.fromiter(itertools.chain.from_iterable(term_ids), dtype=np.int64, count=total)
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
        width = int(flat.max()) + 1 if total else 1
        counts = sp.csr_matrix((np.ones(total, dtype=np.int64), (rows, flat)), shape=(n_rows, width))
        counts.sum_duplicates()  # rows' term ids ascending, repeats summed into frequencies
        self._parts.append((counts.indptr.astype(np.int64), counts.indices, counts.data, lengths))

    def postings(self, vocabulary: int) -> Postings:
        offsets = np.cumsum([0] + [int(part[0][-1]) for part in self._parts])
        pieces = zip(self._parts, offsets, strict=False)
        indptr = np.concatenate([np.zeros(1, np.int64)] + [part[0][1:] + offset for part, offset in pieces])
        indices, data, lengths = (
            np.concatenate([np.zeros(0, np.int64)] + [part[i] for part in self._parts]) for i in (1, 2, 3)
        )
        self._parts = []
        return from_csr(indptr, indices, data, lengths, vocabulary)


def from_csr(indptr: np.ndarray, indices: np.ndarray, tf: np.ndarray, doc_len: np.ndarray, vocabulary: int) -> Postings:
    """Postings from rows in CSR form (``indices[indptr[r]:indptr[r+1]]`` the ascending term ids of row ``r``)."""
    import scipy.sparse as sp

    n_rows = len(doc_len)
    indptr = np.asarray(indptr, dtype=np.int64)
    csc = sp.csr_matrix((np.asarray(tf), np.asarray(indices), indptr), shape=(n_rows, max(vocabulary, 1))).tocsc()
    csc.sort_indices()
    doc_len = np.asarray(doc_len)
    return with_bounds(
        doc_len=doc_len.astype(np.int32 if not n_rows or doc_len.max() < 2**31 else np.int64),
        ptr=csc.indptr.astype(np.int64)[: vocabulary + 1],
        rows=csc.indices.astype(np.int32),
        tf=narrow(csc.data),
        fwd_ptr=indptr,
        fwd_terms=narrow(np.asarray(indices), vocabulary),
    )


def with_bounds(
    doc_len: np.ndarray, ptr: np.ndarray, rows: np.ndarray, tf: np.ndarray, fwd_ptr: np.ndarray, fwd_terms: np.ndarray
) -> Postings:
    """Postings with each term's largest frequency and shortest holder computed from the columns."""
    vocabulary = len(ptr) - 1
    starts, sizes = ptr[:-1], np.diff(ptr)
    nonempty = np.flatnonzero(sizes > 0)
    max_tf = np.zeros(vocabulary, dtype=np.int32)
    min_len = np.zeros(vocabulary, dtype=np.int32 if doc_len.dtype == np.int32 else np.int64)
    if len(nonempty):
        max_tf[nonempty] = np.maximum.reduceat(tf, starts[nonempty])[: len(nonempty)]
        min_len[nonempty] = np.minimum.reduceat(doc_len[rows], starts[nonempty])[: len(nonempty)]
    return Postings(doc_len, ptr, rows, tf, fwd_ptr, fwd_terms, max_tf, min_len)


def narrow(values: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Non-negative integers in the smallest of uint16 / int32 / int64 that holds them (and ``limit - 1``)."""
    top = max(int(values.max()) if len(values) else 0, (limit or 0) - 1)
    dtype = np.uint16 if top < 2**16 else np.int32 if top < 2**31 else np.int64
    return values.astype(dtype, copy=False)


def merge(parts: Sequence[tuple[Postings, np.ndarray | None]], term_map: np.ndarray | None = None) -> Postings:
    """One segment's postings from ``parts`` in order: (postings, rows kept or None for all).

    ``term_map`` renumbers terms (old id -> new id, -1 for a term no kept row holds; increasing where >= 0),
    else term ids stay and the vocabulary is the largest of the parts'.
    """
    vocabulary = int(term_map.max()) + 1 if term_map is not None and len(term_map) else 0
    if term_map is None:
        vocabulary = max(postings.vocabulary for postings, _ in parts)
    kept = [(postings, _kept_rows(postings, keep)) for postings, keep in parts]
    doc_len = np.concatenate([postings.doc_len[rows] for postings, rows in kept])
    columns = [_kept_columns(postings, rows, term_map, vocabulary) for postings, rows in kept]
    counts = np.sum([column.counts for column in columns], axis=0) if columns else np.zeros(vocabulary, np.int64)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    out_rows = np.empty(int(ptr[-1]), dtype=np.int32)
    out_tf = np.empty(int(ptr[-1]), dtype=np.int64)
    before = np.zeros(vocabulary, dtype=np.int64)
    row_offset = 0
    for (_, rows), column in zip(kept, columns, strict=True):
        destination = ptr[column.terms] + before[column.terms] + column.rank
        out_rows[destination] = column.rows + row_offset
        out_tf[destination] = column.tf
        before += column.counts
        row_offset += len(rows)
    fwd_ptr, fwd_terms = _merge_forward(kept, term_map, vocabulary)
    return with_bounds(doc_len, ptr, out_rows, narrow(out_tf), fwd_ptr, fwd_terms)


@dataclass
class _KeptColumns:
    terms: np.ndarray  # per kept entry: its (new) term id
    rank: np.ndarray  # per kept entry: its position among the kept entries of its column in this part
    rows: np.ndarray  # per kept entry: its new row within the part
    tf: np.ndarray
    counts: np.ndarray  # per new term id: kept entries


def _kept_rows(postings: Postings, keep: np.ndarray | None) -> np.ndarray:
    return np.arange(postings.n_rows) if keep is None else np.flatnonzero(keep)


def _kept_columns(postings: Postings, rows: np.ndarray, term_map: np.ndarray | None, vocabulary: int) -> _KeptColumns:
    new_row = np.full(postings.n_rows, -1, dtype=np.int64)
    new_row[rows] = np.arange(len(rows))
    entry_rows = new_row[np.asarray(postings.rows)]
    kept = entry_rows >= 0
    terms = np.repeat(np.arange(postings.vocabulary, dtype=np.int64), postings.column_sizes())[kept]
    if term_map is not None:
        terms = term_map[terms]
    counts = np.bincount(terms, minlength=vocabulary)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(terms), dtype=np.int64) - starts[terms]
    return _KeptColumns(terms, rank, entry_rows[kept], np.asarray(postings.tf)[kept], counts)


def _merge_forward(
    kept: list[tuple[Postings, np.ndarray]], term_map: np.ndarray | None, vocabulary: int
) -> tuple[np.ndarray, np.ndarray]:
    lengths = [np.diff(postings.fwd_ptr)[rows] for postings, rows in kept]
    terms = [postings.row_terms(rows).astype(np.int64) for postings, rows in kept]
    flat = np.concatenate(terms) if terms else np.zeros(0, np.int64)
    if term_map is not None:
        flat = term_map[flat]
    fwd_ptr = np.concatenate([[0], np.cumsum(np.concatenate(lengths) if lengths else [])]).astype(np.int64)
    return fwd_ptr, narrow(flat, vocabulary)


def ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, end)`` for each pair, vectorised."""
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(ends, dtype=np.int64) - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(total, dtype=np.int64) + offsets
