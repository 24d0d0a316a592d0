"""The numerical core of BM25: an incrementally maintained sparse index with rank-bm25's exact scoring.

Layout
------
* Rows are documents (the store's rows, in insertion order), columns are terms (``vocab``: term -> column).
* Term frequencies live in growable CSR arrays (``indptr``, ``indices``, ``tf``): a write appends rows, a delete
  tombstones rows (``live``) and decrements document frequencies, :meth:`BM25Index.compact` drops dead rows
  and dead terms. Nothing is rebuilt per query.
* For queries, a CSC copy of the structure and, per scoring configuration, a CSC matrix of precomputed
  per-(document, term) scores are derived lazily and dropped on every change. A query then adds up a few
  columns, plus a constant for BM25+, and selects the top k with ``np.argpartition``.

Scoring
-------
Exactly rank-bm25 0.2.2's ``get_scores`` (``N`` live documents, ``n(t)`` live documents containing ``t``,
``avgdl`` their mean length, ``norm(d) = 1 - b + b * len(d) / avgdl``), summed over query tokens, a repeated
token counting each time, a token absent from the live corpus counting 0:

* ``okapi``: ``idf(t) = ln(N - n + 0.5) - ln(n + 0.5)``; negative idfs are replaced by ``epsilon`` times the
  average idf over the live vocabulary; term score ``idf * tf * (k1 + 1) / (tf + k1 * norm)``.
* ``bm25l``: ``idf = ln(N + 1) - ln(n + 0.5)``, ``ctd = tf / norm``, term score
  ``idf * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)`` (rank-bm25 multiplies by ``tf``, so a document
  without the term gets 0 from it). Default ``delta`` 0.5.
* ``bm25plus``: ``idf = ln((N + 1) / n)``, term score ``idf * (delta + tf * (k1 + 1) / (k1 * norm + tf))``,
  which is ``idf * delta`` for a document without the term: every document gets that constant. Default
  ``delta`` 1.

Ties are broken by row (earlier insertion first).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from docqa.errors import DocqaError

VARIANTS = ("okapi", "bm25l", "bm25plus")
DEFAULT_DELTA = {"bm25l": 0.5, "bm25plus": 1.0}
_MAX_CACHED_CONFIGS = 4
_SCORE_CHUNK = 1 << 20


@dataclass(frozen=True)
class BM25Params:
    """A BM25 scoring configuration; ``delta=None`` takes the variant's default (okapi takes none)."""

    variant: str = "okapi"
    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25
    delta: float | None = None

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise DocqaError(f"unknown BM25 variant {self.variant!r}; expected one of {list(VARIANTS)}")
        for name in ("k1", "b", "epsilon"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise DocqaError(f"BM25 parameter {name} must be a finite number, not {value!r}")
        if self.k1 < 0:
            raise DocqaError(f"BM25 parameter k1 must be >= 0, not {self.k1}")
        if not 0 <= self.b <= 1:
            raise DocqaError(f"BM25 parameter b must be between 0 and 1, not {self.b}")
        if self.variant == "okapi":
            if self.delta is not None:
                raise DocqaError("BM25 parameter delta applies to 'bm25l' and 'bm25plus' only, not 'okapi'")
            return
        if self.delta is None:
            object.__setattr__(self, "delta", DEFAULT_DELTA[self.variant])
        elif isinstance(self.delta, bool) or not isinstance(self.delta, (int, float)) or not math.isfinite(self.delta):
            raise DocqaError(f"BM25 parameter delta must be a finite number, not {self.delta!r}")


class _Growable:
    """A 1-D numpy array with amortised appends."""

    def __init__(self, dtype: type | np.dtype, initial: np.ndarray | None = None) -> None:
        self._data = np.empty(0, dtype=dtype) if initial is None else np.ascontiguousarray(initial, dtype=dtype)
        self._size = len(self._data)

    @property
    def view(self) -> np.ndarray:
        return self._data[: self._size]

    def __len__(self) -> int:
        return self._size

    def extend(self, values: np.ndarray) -> None:
        needed = self._size + len(values)
        if needed > len(self._data):
            capacity = needed if self._size == 0 else max(needed, int(len(self._data) * 1.5))
            grown = np.empty(capacity, dtype=self._data.dtype)
            grown[: self._size] = self.view
            self._data = grown
        self._data[self._size : needed] = values
        self._size = needed


class _TermIds(dict[str, int]):
    """term -> column; looking up an unknown term assigns it the next column (used only while indexing)."""

    def __missing__(self, term: str) -> int:
        column = self[term] = len(self)
        return column


@dataclass
class _Structure:
    """The CSC view of the live term frequencies: column ``t`` is ``rows/tf[indptr[t]:indptr[t+1]]``."""

    indptr: np.ndarray
    rows: np.ndarray
    tf: np.ndarray


@dataclass
class _ScoreMatrix:
    indptr: np.ndarray
    rows: np.ndarray
    values: np.ndarray
    absent: np.ndarray  # per term: what a live document without the term gets from it
    positive: np.ndarray  # per term: every stored value of the column is > 0


class BM25Index:
    """Incremental BM25 index over token lists; rows are numbered in insertion order."""

    def __init__(self) -> None:
        self._vocab = _TermIds()
        self._indptr = _Growable(np.int64, np.zeros(1, dtype=np.int64))
        self._indices = _Growable(np.int32)
        self._tf = _Growable(np.int32)
        self._doc_len = _Growable(np.int64)
        self._live = _Growable(np.bool_)
        self._df = np.zeros(0, dtype=np.int64)
        self._n_live = 0
        self._total_len = 0
        self._structure: _Structure | None = None
        self._score_cache: dict[BM25Params, _ScoreMatrix] = {}

    # ----------------------------------------------------------------------------------------- state
    @property
    def n_rows(self) -> int:
        return len(self._live)

    @property
    def n_live(self) -> int:
        return self._n_live

    @property
    def live(self) -> np.ndarray:
        return self._live.view

    @property
    def vocabulary_size(self) -> int:
        """Terms in at least one live document."""
        return int(np.count_nonzero(self._df))

    def _changed(self) -> None:
        self._structure = None
        self._score_cache.clear()

    # ------------------------------------------------------------------------------------ mutations
    def add(self, token_batches: Iterable[Sequence[Sequence[str]]]) -> None:
        """Append one row per token list; batches bound the memory of the token lists in flight."""
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for batch in token_batches:
            parts.append(self._count_batch(batch))
        if not parts:
            return
        nnz_before = len(self._indices)
        offsets = np.cumsum([0] + [len(part[1]) for part in parts[:-1]], dtype=np.int64) + nnz_before
        self._indptr.extend(np.concatenate([part[0] + offset for part, offset in zip(parts, offsets, strict=True)]))
        self._indices.extend(np.concatenate([part[1] for part in parts]))
        self._tf.extend(np.concatenate([part[2] for part in parts]))
        lengths = np.concatenate([part[3] for part in parts])
        self._doc_len.extend(lengths)
        self._live.extend(np.ones(len(lengths), dtype=bool))
        new_indices = self._indices.view[nnz_before:]
        self._df = np.concatenate([self._df, np.zeros(len(self._vocab) - len(self._df), dtype=np.int64)])
        self._df += np.bincount(new_indices, minlength=len(self._df))
        self._n_live += len(lengths)
        self._total_len += int(lengths.sum())
        self._changed()

    def _count_batch(
        self, token_lists: Sequence[Sequence[str]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """CSR pieces (row ends relative to the batch, term ids, tf, lengths) of one batch."""
        n = len(token_lists)
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=n)
        total = int(lengths.sum())
        all_tokens = itertools.chain.from_iterable(token_lists)
        term_ids = np.fromiter(map(self._vocab.__getitem__, all_tokens), dtype=np.int32, count=total)
        rows = np.repeat(np.arange(n, dtype=np.int32), lengths)
        # COO -> CSR sums repeated (row, term) pairs into term frequencies, rows sorted by term id.
        counts = sp.coo_matrix(
            (np.ones(total, dtype=np.int32), (rows, term_ids)), shape=(n, max(len(self._vocab), 1))
        ).tocsr()
        counts.sum_duplicates()
        return (
            counts.indptr[1:].astype(np.int64),
            counts.indices.astype(np.int32, copy=False),
            counts.data.astype(np.int32, copy=False),
            lengths,
        )

    def remove(self, rows: np.ndarray) -> None:
        """Tombstone live ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return
        live = self._live.view
        if not live[rows].all() or len(np.unique(rows)) != len(rows):
            raise DocqaError("BM25Index.remove: rows must be distinct live rows")
        entries = _ranges(self._indptr.view[rows], self._indptr.view[rows + 1])
        self._df -= np.bincount(self._indices.view[entries], minlength=len(self._df))
        live[rows] = False
        self._n_live -= len(rows)
        self._total_len -= int(self._doc_len.view[rows].sum())
        self._changed()

    def compact(self) -> np.ndarray:
        """Drop dead rows and terms no live row uses; return the kept (old) row numbers."""
        keep = np.flatnonzero(self._live.view)
        indptr = self._indptr.view
        entries = _ranges(indptr[keep], indptr[keep + 1])
        term_alive = self._df > 0
        remap = np.full(len(self._df), -1, dtype=np.int32)
        remap[term_alive] = np.arange(int(term_alive.sum()), dtype=np.int32)
        terms = self.terms()
        vocab = _TermIds()
        for column in np.flatnonzero(term_alive):
            vocab[terms[column]] = len(vocab)
        row_nnz = indptr[keep + 1] - indptr[keep]
        self._vocab = vocab
        self._indptr = _Growable(np.int64, np.concatenate([[0], np.cumsum(row_nnz)]))
        self._indices = _Growable(np.int32, remap[self._indices.view[entries]])
        self._tf = _Growable(np.int32, self._tf.view[entries])
        self._doc_len = _Growable(np.int64, self._doc_len.view[keep])
        self._live = _Growable(np.bool_, np.ones(len(keep), dtype=bool))
        self._df = self._df[term_alive]
        self._changed()
        return keep

    def terms(self) -> list[str]:
        """Column -> term."""
        terms = [""] * len(self._vocab)
        for term, column in self._vocab.items():
            terms[column] = term
        return terms

    # ---------------------------------------------------------------------------------- persistence
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The index's arrays (call :meth:`compact` first so that every row is live)."""
        if self._n_live != self.n_rows:
            raise DocqaError("BM25Index.to_arrays needs a compacted index")
        return {
            "indptr": self._indptr.view,
            "indices": self._indices.view,
            "tf": self._tf.view,
            "doc_len": self._doc_len.view,
        }

    @classmethod
    def from_arrays(cls, terms: list[str], arrays: dict[str, np.ndarray]) -> BM25Index:
        """Rebuild from :meth:`to_arrays` and :meth:`terms` without tokenizing; raises ValueError if inconsistent."""
        indptr, indices, tf, doc_len = (arrays[name] for name in ("indptr", "indices", "tf", "doc_len"))
        n_rows = len(doc_len)
        if indptr.ndim != 1 or len(indptr) != n_rows + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise ValueError("indptr does not match doc_len")
        if len(indices) != indptr[-1] or len(tf) != len(indices) or np.any(tf < 1):
            raise ValueError("indices/tf do not match indptr")
        if len(indices) and (indices.min() < 0 or indices.max() >= len(terms)):
            raise ValueError("term index out of range of the vocabulary")
        if len(set(terms)) != len(terms):
            raise ValueError("vocabulary has repeated terms")
        index = cls()
        index._vocab = _TermIds(zip(terms, range(len(terms)), strict=True))
        index._indptr = _Growable(np.int64, indptr)
        index._indices = _Growable(np.int32, indices)
        index._tf = _Growable(np.int32, tf)
        index._doc_len = _Growable(np.int64, doc_len)
        index._live = _Growable(np.bool_, np.ones(n_rows, dtype=bool))
        index._df = np.bincount(indices, minlength=len(terms)).astype(np.int64)
        index._n_live = n_rows
        index._total_len = int(doc_len.sum())
        return index

    # -------------------------------------------------------------------------------------- scoring
    def _get_structure(self) -> _Structure:
        if self._structure is None:
            shape = (self.n_rows, len(self._vocab))
            indptr = self._indptr.view
            if indptr[-1] < np.iinfo(np.int32).max:  # int32 index arrays keep scipy from upcasting (copying)
                indptr = indptr.astype(np.int32)
            csr = sp.csr_matrix((self._tf.view, self._indices.view, indptr), shape=shape, copy=False)
            csc = csr.tocsc()  # dead rows stay in the columns; queries mask them out
            self._structure = _Structure(
                csc.indptr.astype(np.int64), csc.indices.astype(np.int32, copy=False), csc.data
            )
        return self._structure

    def _idf(self, params: BM25Params) -> np.ndarray:
        n_docs, df = float(self._n_live), self._df.astype(np.float64)
        present = self._df > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            if params.variant == "okapi":
                idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
                if present.any():
                    floor = params.epsilon * (idf[present].sum() / np.count_nonzero(present))
                    idf[present & (idf < 0)] = floor
            elif params.variant == "bm25l":
                idf = math.log(n_docs + 1) - np.log(df + 0.5)
            else:
                idf = np.log((n_docs + 1) / df)
        idf[~present] = 0.0
        return idf

    def _get_scores(self, params: BM25Params) -> _ScoreMatrix:
        cached = self._score_cache.get(params)
        if cached is not None:
            return cached
        structure = self._get_structure()
        idf = self._idf(params)
        avgdl = self._total_len / self._n_live if self._n_live else 1.0
        if avgdl == 0:
            avgdl = 1.0  # every live document is empty: no column has live entries
        norm = 1 - params.b + params.b * self._doc_len.view / avgdl
        values = np.empty(len(structure.tf), dtype=np.float64)
        for start in range(0, len(values), _SCORE_CHUNK):  # chunks bound the temporaries' memory
            stop = min(start + _SCORE_CHUNK, len(values))
            terms = np.searchsorted(structure.indptr, np.arange(start, stop), side="right") - 1
            tf = structure.tf[start:stop].astype(np.float64)
            values[start:stop] = _term_scores(params, tf, norm[structure.rows[start:stop]], idf[terms])
        absent = idf * params.delta if params.variant == "bm25plus" else np.zeros_like(idf)  # type: ignore[operator]
        positive = _positive_columns(structure.indptr, values)
        matrix = _ScoreMatrix(structure.indptr, structure.rows, values, absent, positive)
        if len(self._score_cache) >= _MAX_CACHED_CONFIGS:
            self._score_cache.pop(next(iter(self._score_cache)))
        self._score_cache[params] = matrix
        return matrix

    def prepare(self, params: BM25Params) -> None:
        """Build (and cache) the score matrix for ``params`` now."""
        self._get_scores(params)

    def _query_terms(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        columns = [column for column in map(self._vocab.get, tokens) if column is not None]
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.unique(np.asarray(columns, dtype=np.int64), return_counts=True)

    def _accumulate(self, matrix: _ScoreMatrix, columns: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Dense per-row sums of the query's columns (without the BM25+ constant)."""
        scores = np.zeros(self.n_rows, dtype=np.float64)
        indptr, rows, values = matrix.indptr, matrix.rows, matrix.values
        for column, count in zip(columns.tolist(), counts.tolist(), strict=True):
            start, end = indptr[column], indptr[column + 1]
            # np.add.at is much faster than fancy-index += on int32 row numbers; rows are distinct anyway.
            np.add.at(scores, rows[start:end], values[start:end] if count == 1 else values[start:end] * count)
        return scores

    def _touched(self, matrix: _ScoreMatrix, columns: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Rows containing at least one of ``columns``."""
        if matrix.positive[columns].all():  # every entry of these columns is > 0: a touched row sums above 0
            return scores > 0
        touched = np.zeros(self.n_rows, dtype=bool)
        for column in columns.tolist():
            touched[matrix.rows[matrix.indptr[column] : matrix.indptr[column + 1]].astype(np.intp)] = True
        return touched

    def score_all(self, tokens: Sequence[str], params: BM25Params) -> np.ndarray:
        """Every row's score for the query (dead rows: NaN), as rank-bm25's ``get_scores`` on the live rows."""
        columns, counts = self._query_terms(tokens)
        scores = np.zeros(self.n_rows, dtype=np.float64)
        if len(columns):
            matrix = self._get_scores(params)
            scores = self._accumulate(matrix, columns, counts) + float(np.dot(matrix.absent[columns], counts))
        scores[~self._live.view] = np.nan
        return scores

    def top_k(
        self, tokens: Sequence[str], k: int, params: BM25Params, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best live rows (allowed by ``mask``) containing at least one query term, best first."""
        columns, counts = self._query_terms(tokens)
        if not len(columns) or k < 1:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        matrix = self._get_scores(params)
        scores = self._accumulate(matrix, columns, counts)
        allowed = self._touched(matrix, columns, scores)
        if self._n_live != self.n_rows:
            allowed &= self._live.view
        if mask is not None:
            allowed &= mask
        threshold = self._lower_bound(matrix, columns, scores, allowed, k)
        candidates = np.flatnonzero(allowed & (scores >= threshold) if threshold > -np.inf else allowed)
        constant = float(np.dot(matrix.absent[columns], counts))
        return select_top_k(candidates, scores[candidates] + constant, k)

    @staticmethod
    def _lower_bound(
        matrix: _ScoreMatrix, columns: np.ndarray, scores: np.ndarray, allowed: np.ndarray, k: int
    ) -> float:
        """A score the k-th best row reaches for sure: the k-th best among the rows of the rarest columns.

        Rows holding rare (high-idf) terms usually score highest, so few rows pass the bound and the top-k
        selection runs on a handful of candidates instead of on every row holding a common term.
        """
        sizes = matrix.indptr[columns + 1] - matrix.indptr[columns]
        wanted = 4 * k
        picked: list[np.ndarray] = []
        for position in np.argsort(sizes, kind="stable").tolist():
            start = int(matrix.indptr[columns[position]])
            take = min(int(sizes[position]), wanted)
            picked.append(matrix.rows[start : start + take])
            wanted -= take
            if wanted <= 0:
                break
        sample = np.unique(np.concatenate(picked))  # a row in two columns must count once
        sample = scores[sample[allowed[sample]]]
        if len(sample) < k:
            return -np.inf
        return float(np.partition(sample, len(sample) - k)[len(sample) - k])


def select_top_k(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` highest ``scores`` (ties: lower row first), best first, without sorting everything."""
    if len(scores) > k:
        best = np.argpartition(scores, len(scores) - k)[len(scores) - k :]
        keep = np.flatnonzero(scores >= scores[best].min())  # every tie at the boundary competes on row
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))[:k]
    return rows[order], scores[order]


def _term_scores(params: BM25Params, tf: np.ndarray, norm: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """rank-bm25's per-(document, term) score, operation for operation; BM25+ without its tf=0 constant."""
    k1 = params.k1
    with np.errstate(divide="ignore", invalid="ignore"):
        if params.variant == "okapi":
            return idf * (tf * (k1 + 1) / (tf + k1 * norm))
        delta = float(params.delta)  # type: ignore[arg-type]
        if params.variant == "bm25l":
            ctd = tf / norm
            return idf * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)
        return idf * (delta + (tf * (k1 + 1)) / (k1 * norm + tf)) - idf * delta


def _positive_columns(indptr: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per column: whether all its values are > 0 (true for empty columns)."""
    starts = indptr[:-1]
    nonempty = indptr[1:] > starts
    minimum = np.full(len(starts), np.inf)
    if len(values):
        minimum[nonempty] = np.minimum.reduceat(values, starts[nonempty])
    return minimum > 0


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, end)`` for each pair, vectorised."""
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(total, dtype=np.int64) + offsets
