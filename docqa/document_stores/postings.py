"""A segment's BM25 data: postings by term (CSC, for queries) and the terms of each row (for deletes).

Term ids are global to the store (a segment's columns are the ids below its ``vocabulary``); rows are the
segment's own, in insertion order. Each posting stores its row and a *pair* code: the index of its (term
frequency, document length) in the segment's pair table. A term's score in a row depends on the row only
through that pair, so a query computes the score of each distinct pair once (a few thousand) and a posting's
score is one lookup: ``idf * pair_score[pair]``. The most common terms (held by at least 1/:data:`DENSE_FRACTION`
of the rows: ``the``, ``of``...) also have a dense column, their frequency in every row, so that a query finds
their frequency in a given row by indexing instead of searching a long column.

Per term, the *peaks* of its column bound what the term can add to a score: the (frequency, length) pairs no
other entry beats on both (a higher frequency in a document no longer). A term's score grows with the frequency
and shrinks with the length, so its largest value in the column is at a peak, whatever ``k1``, ``b`` and the
average length; a query reads a few peaks instead of the column to skip most of the postings of common terms
(see :mod:`docqa.document_stores.bm25_index`). Frequencies from :data:`PEAK_CAP` up share one peak, the largest
of them with the shortest length among them (still a bound).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ARRAYS = (
    "doc_len", "ptr", "rows", "pair", "pair_tf", "pair_len", "fwd_ptr", "fwd_terms", "peak_ptr", "peak_tf", "peak_len",
    "dense_terms", "dense_tf",
)  # fmt: skip
PEAK_CAP = 64
DENSE_FRACTION = 16  # a term held by at least 1/16 of a segment's rows also gets a dense column of frequencies
_DENSE_MIN_ROWS = 1024
_DENSE_CELLS = 1 << 24  # a dense (frequency x length) or (column x frequency) grid up to this size, else sorting


@dataclass(frozen=True)
class Postings:
    """Column ``t`` holds ``rows[ptr[t]:ptr[t+1]]`` (ascending) with their ``pair`` codes (frequency
    ``pair_tf[code]``, document length ``pair_len[code]``); the term ids of row ``r`` are
    ``fwd_terms[fwd_ptr[r]:fwd_ptr[r+1]]``; the peaks of column ``t`` are at ``peak_ptr[t]:peak_ptr[t+1]``."""

    doc_len: np.ndarray
    ptr: np.ndarray
    rows: np.ndarray
    pair: np.ndarray
    pair_tf: np.ndarray
    pair_len: np.ndarray
    fwd_ptr: np.ndarray
    fwd_terms: np.ndarray
    peak_ptr: np.ndarray
    peak_tf: np.ndarray
    peak_len: np.ndarray
    dense_terms: np.ndarray
    dense_tf: np.ndarray

    @property
    def n_rows(self) -> int:
        return len(self.doc_len)

    @property
    def vocabulary(self) -> int:
        return len(self.ptr) - 1

    @property
    def tf(self) -> np.ndarray:
        """Every posting's term frequency (computed: for merging, not for queries)."""
        return np.asarray(self.pair_tf)[self.pair]

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAYS}

    def check(self) -> None:
        """Raise ValueError if the arrays do not fit together (cheap checks only: a store opens in O(1))."""
        n_rows, vocabulary, nnz = self.n_rows, self.vocabulary, len(self.rows)
        if vocabulary < 0 or len(self.fwd_ptr) != n_rows + 1 or len(self.pair) != nnz or len(self.fwd_terms) != nnz:
            raise ValueError("postings arrays have inconsistent lengths")
        if len(self.pair_tf) != len(self.pair_len):
            raise ValueError("the pair table's frequencies and lengths differ in size")
        if len(self.peak_ptr) != vocabulary + 1 or not len(self.peak_tf) == len(self.peak_len) == self.peak_ptr[-1]:
            raise ValueError("term peaks do not match the vocabulary")
        if int(self.ptr[0]) != 0 or int(self.ptr[-1]) != nnz or int(self.fwd_ptr[-1]) != nnz:
            raise ValueError("postings pointers do not match the postings")
        if self.dense_tf.shape != (len(self.dense_terms), n_rows):
            raise ValueError("the dense columns do not match the rows")

    def dense_column(self, term: int) -> np.ndarray | None:
        """The frequency of ``term`` in every row, if the term has a dense column here."""
        terms = self.dense_terms
        at = int(np.searchsorted(terms, term))
        return self.dense_tf[at] if at < len(terms) and int(terms[at]) == term else None

    def column(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and pair codes of ``term`` (empty for a term this segment does not know)."""
        if term >= self.vocabulary:
            return self.rows[:0], self.pair[:0]
        start, end = int(self.ptr[term]), int(self.ptr[term + 1])
        return self.rows[start:end], self.pair[start:end]

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
    return assemble(
        doc_len=doc_len.astype(np.int32 if not n_rows or doc_len.max() < 2**31 else np.int64),
        ptr=csc.indptr.astype(np.int64)[: vocabulary + 1],
        rows=csc.indices.astype(np.int32),
        tf=csc.data,
        fwd_ptr=indptr,
        fwd_terms=narrow(np.asarray(indices), vocabulary),
    )


def assemble(
    doc_len: np.ndarray, ptr: np.ndarray, rows: np.ndarray, tf: np.ndarray, fwd_ptr: np.ndarray, fwd_terms: np.ndarray
) -> Postings:
    """Postings from their columns' rows and frequencies: the pair table and the peaks computed."""
    lengths = np.asarray(doc_len, dtype=np.int64)[rows]
    tf = np.asarray(tf, dtype=np.int64)
    pair, pair_tf, pair_len = _pairs(tf, lengths)
    peak_ptr, peak_tf, peak_len = peaks(ptr, tf, lengths)
    dense_terms, dense_tf = _dense(ptr, rows, tf, len(doc_len))
    return Postings(
        doc_len,
        ptr,
        rows,
        pair,
        pair_tf,
        pair_len,
        fwd_ptr,
        fwd_terms,
        peak_ptr,
        peak_tf,
        peak_len,
        dense_terms,
        dense_tf,
    )


def _dense(ptr: np.ndarray, rows: np.ndarray, tf: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The terms held by at least 1/DENSE_FRACTION of the rows, and their frequency in every row."""
    sizes = np.diff(ptr)
    terms = np.flatnonzero(sizes * DENSE_FRACTION >= n_rows) if n_rows >= _DENSE_MIN_ROWS else np.zeros(0, np.int64)
    top = max((int(tf[ptr[t] : ptr[t + 1]].max()) for t in terms.tolist()), default=0)
    matrix = np.zeros((len(terms), n_rows), dtype=np.uint8 if top < 256 else np.uint16 if top < 2**16 else np.int32)
    for index, term in enumerate(terms.tolist()):
        matrix[index, rows[ptr[term] : ptr[term + 1]]] = tf[ptr[term] : ptr[term + 1]]
    return terms.astype(np.int32), matrix


def _pairs(tf: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each posting's code in the table of distinct (frequency, length) pairs, and the table."""
    if not len(tf):
        return np.zeros(0, np.uint16), np.zeros(0, np.int32), np.zeros(0, np.int32)
    width = int(lengths.max()) + 1
    keys = tf * width + lengths
    if int(tf.max() + 1) * width <= _DENSE_CELLS:
        present = np.bincount(keys, minlength=1) > 0
        table = np.flatnonzero(present)
        code_of = np.zeros(len(present), dtype=np.int64)
        code_of[table] = np.arange(len(table))
        codes = code_of[keys]
    else:
        table, codes = np.unique(keys, return_inverse=True)
    return narrow(codes), (table // width).astype(np.int32), (table % width).astype(np.int32)


def peaks(ptr: np.ndarray, tf: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column, its peaks in decreasing frequency: the shortest length of each frequency that is shorter than
    every length of a higher frequency (frequencies >= PEAK_CAP as one, at their largest frequency)."""
    vocabulary = len(ptr) - 1
    width = PEAK_CAP + 1
    step = max(1, _DENSE_CELLS // width)
    counts, peak_tf, peak_len = np.zeros(vocabulary, dtype=np.int64), [], []
    big = np.iinfo(np.int64).max
    for first in range(0, vocabulary, step):  # columns in chunks: the grid stays small
        last = min(first + step, vocabulary)
        start, end = int(ptr[first]), int(ptr[last])
        column = np.repeat(np.arange(last - first, dtype=np.int64), np.diff(ptr[first : last + 1]))
        frequency = tf[start:end]
        bucket = PEAK_CAP - np.minimum(frequency, PEAK_CAP)  # 0: the capped bucket; frequency descending
        shortest = np.full((last - first) * width, big, dtype=np.int64)
        np.minimum.at(shortest, column * width + bucket, lengths[start:end])
        top = np.full(last - first, PEAK_CAP, dtype=np.int64)  # the largest frequency of the capped bucket
        capped = bucket == 0
        np.maximum.at(top, column[capped], frequency[capped])
        grid = shortest.reshape(last - first, width)
        before = np.concatenate([np.full((last - first, 1), big), np.minimum.accumulate(grid, axis=1)[:, :-1]], axis=1)
        is_peak = grid < before
        where_column, where_bucket = np.nonzero(is_peak)
        counts[first:last] = np.bincount(where_column, minlength=last - first)
        frequencies = np.where(where_bucket == 0, top[where_column], PEAK_CAP - where_bucket)
        peak_tf.append(frequencies)
        peak_len.append(grid[where_column, where_bucket])
    peak_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    tfs = np.concatenate([np.zeros(0, np.int64), *peak_tf]).astype(np.int32)
    return peak_ptr, tfs, np.concatenate([np.zeros(0, np.int64), *peak_len]).astype(np.int32)


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
    if len(parts) == 1 and term_map is None and (parts[0][1] is None or bool(parts[0][1].all())):
        return parts[0][0]  # one part kept whole: nothing to merge
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
    return assemble(doc_len, ptr, out_rows, out_tf, fwd_ptr, fwd_terms)


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
    return _KeptColumns(terms, rank, entry_rows[kept], postings.tf[kept], counts)


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
