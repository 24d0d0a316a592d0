"""The numerical core of BM25 over a store's segments: rank-bm25's exact scores, top k without scoring everything.

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

Statistics are the store's (:class:`~docqa.document_stores.state.StoreState`); term scores are computed when a
query reads a column, as ``idf * saturation(pair)`` with the saturation of each distinct (frequency, length)
pair of the segment computed once per state (:mod:`docqa.document_stores.postings`), so a write or a delete
changes no stored score. For okapi this is rank-bm25's own sequence of operations; for bm25l and bm25plus the
idf is applied last, which can differ from rank-bm25 in the last bit or two.

Top k (MaxScore)
----------------
Each term's score is bounded by its value at the column's largest frequency and shortest document (the score
grows with ``tf`` and shrinks with ``len``). A first bound ``theta`` on the k-th best score comes from the rows
of the rarest query terms; terms whose bounds add up to less than ``theta`` (the common ones: ``the``,
``of``...) cannot lift a row that lacks every other term into the top k, so only the rows of the other,
*essential* terms are candidates, and the common terms' columns are only looked up for the candidates that can
still make it. Once a segment's essential terms are added up, its rows with the best sums are scored fully,
which raises ``theta`` (usually to about the k-th best score) before the candidates are taken: few rows reach
it. The result is the exhaustive one: ties are broken by row (earlier insertion first), and every row sums its
terms in one order, so equal documents score equal.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import numpy as np

from docqa.document_stores.postings import ranges
from docqa.document_stores.state import StoreState
from docqa.errors import DocqaError

VARIANTS = ("okapi", "bm25l", "bm25plus")
DEFAULT_DELTA = {"bm25l": 0.5, "bm25plus": 1.0}
_PROBE_ROWS = 4096  # postings of the rarest terms read to find a first bound on the k-th best score (at least,
_PROBE_FRACTION = 64  # or the live documents / this)
_PROBE_TERMS = 4  # (and at most this many terms)
_PROBE_BEST = 8  # of their rows, the best PROBE_BEST * k are scored fully
_SAMPLE = 8  # the best of many rows: a threshold from a sample of SAMPLE times as many as wanted,
_SAMPLE_ABOVE = 2  # that about SAMPLE_ABOVE times as many as wanted reach
_DENSE_FRACTION = 64  # candidates gathered in a dense array once the postings exceed rows / this
_SCAN_FRACTION = 8  # and found by reading the whole array once they exceed rows / this
_SLACK = 1e-9  # relative margin on bounds: a bound is never trusted to the last rounding error
_MAX_BOUND_CELLS = 1 << 20  # (peaks x document lengths) tabulated per term for the candidates' bounds
_EXHAUSTIVE_FRACTION = 16  # no skipping when even the rarest query term is in more than 1/16 of the documents,
_EXHAUSTIVE_POSTINGS = 4096  # or when all the query's postings are this few
_CACHED_COLUMN = 1 << 14  # columns this long keep their saturations with the state...
_COLUMN_CACHE_BYTES = 64 << 20  # ...up to this many bytes


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


@dataclass
class _Query:
    """A query's distinct known terms (by global id), their counts, idfs, and bounds over the segments."""

    terms: np.ndarray
    counts: np.ndarray
    idf: np.ndarray
    upper: np.ndarray  # per term: no row gets more from it (counts included)
    lower: np.ndarray  # per term: no row gets less from it (0 when the idf is >= 0)
    avgdl: float
    params: BM25Params


def idf_values(params: BM25Params, n_docs: int, df: np.ndarray, mean_okapi_idf: float) -> np.ndarray:
    """The idf of terms with live document frequencies ``df`` (all > 0) among ``n_docs`` live documents; okapi's
    negative idfs become ``epsilon * mean_okapi_idf`` (the average over the live vocabulary)."""
    n, df = float(n_docs), np.asarray(df).astype(np.float64)
    if params.variant == "okapi":
        idf = np.log(n - df + 0.5) - np.log(df + 0.5)
        idf[idf < 0] = params.epsilon * mean_okapi_idf
        return idf
    if params.variant == "bm25l":
        return math.log(n + 1) - np.log(df + 0.5)
    return np.log((n + 1) / df)


def _mean_okapi_idf(state: StoreState) -> float:
    """The average okapi idf over the live vocabulary (computed once per state)."""
    cached = state._cache.get("mean_okapi_idf")
    if not isinstance(cached, float):
        present = state.df[state.df > 0].astype(np.float64)
        n_docs = float(state.n_live)
        idf = np.log(n_docs - present + 0.5) - np.log(present + 0.5)
        cached = state._cache["mean_okapi_idf"] = float(idf.sum() / len(present)) if len(present) else 0.0
    return cached


def saturation(params: BM25Params, tf: np.ndarray, doc_len: np.ndarray, avgdl: float) -> np.ndarray:
    """A term's score per unit of idf at frequency ``tf`` in a document of length ``doc_len``: the term score is
    ``idf * saturation`` (for okapi exactly rank-bm25's operations; BM25+ without its constant ``idf * delta``)."""
    k1, b = params.k1, params.b
    tf = np.asarray(tf, dtype=np.float64)
    norm = 1 - b + b * np.asarray(doc_len, dtype=np.float64) / avgdl
    with np.errstate(divide="ignore", invalid="ignore"):
        if params.variant == "okapi":
            return tf * (k1 + 1) / (tf + k1 * norm)
        delta = float(params.delta)  # type: ignore[arg-type]
        if params.variant == "bm25l":
            ctd = tf / norm
            return tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)
        return (tf * (k1 + 1)) / (k1 * norm + tf)


def _prepare(state: StoreState, tokens: Sequence[str], params: BM25Params) -> _Query | None:
    """The query's terms that some live document holds, with their idfs and bounds (None: no such term)."""
    if not tokens or not state.n_live:
        return None
    tally = Counter(tokens)
    distinct, counts = list(tally), np.fromiter(tally.values(), dtype=np.int64, count=len(tally))
    ids = state.vocabulary.query_ids(distinct)
    known = ids >= 0
    ids, counts = ids[known], counts[known]
    known = state.df[ids] > 0
    terms, counts = ids[known], counts[known].astype(np.float64)
    if not len(terms):
        return None
    order = np.argsort(terms)
    terms, counts = terms[order], counts[order]
    mean = _mean_okapi_idf(state) if params.variant == "okapi" else 0.0
    idf = idf_values(params, state.n_live, state.df[terms], mean)
    avgdl = state.total_len / state.n_live if state.total_len else 1.0
    upper, lower = _bounds(state, terms, idf, avgdl, params)
    return _Query(terms, counts, idf, upper * counts, lower * counts, avgdl, params)


def _bounds(
    state: StoreState, terms: np.ndarray, idf: np.ndarray, avgdl: float, params: BM25Params
) -> tuple[np.ndarray, np.ndarray]:
    """Per term, the most and the least one row can get from it in any segment (its value at the peaks)."""
    upper = np.zeros(len(terms))
    lower = np.zeros(len(terms))
    for segment in state.segments:
        inside = np.flatnonzero(terms < segment.vocabulary)
        if not len(inside):
            continue
        postings = segment.postings
        starts, ends = postings.peak_ptr[terms[inside]], postings.peak_ptr[terms[inside] + 1]
        sizes = ends - starts
        present = inside[sizes > 0]
        if not len(present):
            continue
        peaks = ranges(starts[sizes > 0], ends[sizes > 0])
        values = saturation(params, postings.peak_tf[peaks], postings.peak_len[peaks], avgdl)
        extreme = np.maximum.reduceat(values, np.concatenate([[0], np.cumsum(sizes[sizes > 0])[:-1]])) * idf[present]
        upper[present] = np.maximum(upper[present], extreme)
        lower[present] = np.minimum(lower[present], extreme)
    return np.maximum(upper, 0.0) * (1 + _SLACK), lower * (1 + _SLACK)


class _ScratchPool:
    """Zeroed arrays as long as the largest segment, lent to one query at a time and zeroed again by it; a few are
    kept for the next queries (threads querying at once each borrow their own, none waits for another). A query
    that raises gives nothing back: the pool never holds arrays left dirty."""

    def __init__(self, keep: int = 4) -> None:
        self._free: list[tuple[np.ndarray, np.ndarray]] = []
        self._lock = threading.Lock()
        self._keep = keep

    @contextmanager
    def borrow(self, n_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        with self._lock:
            pair = self._free.pop() if self._free else None
        if pair is None or len(pair[0]) < n_rows:
            pair = (np.zeros(n_rows), np.zeros(n_rows, dtype=bool))
        yield pair
        with self._lock:
            if len(self._free) < self._keep:
                self._free.append(pair)


_SCRATCH = _ScratchPool()


class _Columns:
    """The query's term scores per (segment, term), computed once per query."""

    def __init__(self, state: StoreState, query: _Query) -> None:
        self.state, self.query = state, query
        self._cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._pairs: dict[int, np.ndarray] = {}
        self._scaled_pairs: dict[tuple[int, int], np.ndarray] = {}

    def pair_scores(self, segment: int) -> np.ndarray:
        """The saturation of each (frequency, length) pair of ``segment`` (cached with the state)."""
        scores = self._pairs.get(segment)
        if scores is None:
            key = ("pairs", segment, self.query.params)
            cached = self.state._cache.get(key)
            if not isinstance(cached, np.ndarray):
                postings = self.state.segments[segment].postings
                cached = saturation(self.query.params, postings.pair_tf, postings.pair_len, self.query.avgdl)
                self.state._cache[key] = cached
            scores = self._pairs[segment] = cached
        return scores

    def weight(self, position: int) -> float:
        """The idf of query term ``position``, times its count in the query."""
        return float(self.query.idf[position] * self.query.counts[position])

    def scaled_pairs(self, segment: int, position: int) -> np.ndarray:
        """What a posting of query term ``position`` with each (frequency, length) pair of ``segment`` gets:
        ``idf * saturation``, times the term's count in the query (the same operations as on each posting)."""
        table = self._scaled_pairs.get((segment, position))
        if table is None:
            table = self._scaled_pairs[segment, position] = self._scaled(position, self.pair_scores(segment))
        return table

    def get(self, segment: int, position: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows holding query term ``position`` in ``segment`` and what each gets from it (counts included)."""
        key = (segment, position)
        cached = self._cache.get(key)
        if cached is None:
            rows, pairs = self.state.segments[segment].postings.column(int(self.query.terms[position]))
            cached = self._cache[key] = (rows, self._term_values(segment, position, pairs))
        return cached

    def _term_values(self, segment: int, position: int, pairs: np.ndarray) -> np.ndarray:
        """What each posting of a column gets; a long column's values are kept with the state (up to a budget),
        since common terms come back in query after query."""
        if len(pairs) < _CACHED_COLUMN:
            return np.take(self.scaled_pairs(segment, position), pairs)
        key = (
            "column",
            segment,
            int(self.query.terms[position]),
            float(self.query.counts[position]),
            self.query.params,
        )
        cached = self.state._cache.get(key)
        if isinstance(cached, np.ndarray):
            return cached
        values = np.take(self.scaled_pairs(segment, position), pairs)
        used = self.state._cache.get("column_bytes", 0)
        if isinstance(used, int) and used + values.nbytes <= _COLUMN_CACHE_BYTES:
            self.state._cache[key] = values
            self.state._cache["column_bytes"] = used + values.nbytes
        return values

    def lookup(self, segment: int, position: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For sorted ``rows`` of ``segment``: which hold term ``position``, and what they get from it."""
        if not len(rows):
            return np.zeros(0, np.int64), np.zeros(0)
        postings = self.state.segments[segment].postings
        term = int(self.query.terms[position])
        dense = postings.dense_column(term) if term < postings.vocabulary else None
        if dense is not None:  # a common term: its frequency in each row by indexing
            tf = dense[rows]
            hit = np.flatnonzero(tf)
            values = saturation(self.query.params, tf[hit], postings.doc_len[rows[hit]], self.query.avgdl)
            return hit, self._scaled(position, values)
        cached = self._cache.get((segment, position))
        column_rows, column = cached if cached is not None else postings.column(term)
        if not len(column_rows):
            return np.zeros(0, np.int64), np.zeros(0)
        at = np.searchsorted(column_rows, rows.astype(column_rows.dtype, copy=False))  # (else numpy casts the column)
        at[at == len(column_rows)] = 0
        hit = np.flatnonzero(column_rows[at] == rows)
        if cached is not None:  # the column's values, computed already
            return hit, column[at[hit]]
        return hit, self.scaled_pairs(segment, position)[column[at[hit]]]

    def _scaled(self, position: int, saturations: np.ndarray) -> np.ndarray:
        values = float(self.query.idf[position]) * saturations
        count = self.query.counts[position]
        return values if count == 1 else values * count


Refine = Callable[[np.ndarray, np.ndarray], float]


def _gather(
    columns: _Columns, segment: int, positions: Sequence[int], allowed: np.ndarray | None, refine: Refine | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The allowed rows of ``segment`` holding any of the terms at ``positions``, and the sum of what they get
    from those terms (added in the order of ``positions``, the same for every row). ``refine(rows, sums)`` (a
    row may come once per term, with its whole sum each time) gives a cutoff: only the rows reaching it, when
    it is > 0."""
    parts = [columns.get(segment, position) for position in positions]
    n_rows = columns.state.segments[segment].n_rows
    if len(parts) > 1 and sum(len(rows) for rows, _ in parts) * _DENSE_FRACTION > n_rows:
        return _gather_dense(parts, n_rows, allowed, refine)
    if len(parts) == 1:
        candidates, sums = parts[0][0], parts[0][1].copy()
    else:
        candidates = _sorted_unique(np.concatenate([rows for rows, _ in parts]))
        sums = np.zeros(len(candidates))
        for rows, values in parts:
            sums[np.searchsorted(candidates, rows)] += values
    if allowed is not None:
        keep = allowed[candidates]
        candidates, sums = candidates[keep], sums[keep]
    cutoff = -np.inf if refine is None else refine(candidates, sums)
    if cutoff > 0:
        keep = np.flatnonzero(sums >= cutoff)
        candidates, sums = candidates[keep], sums[keep]
    return candidates, sums


def _gather_dense(
    parts: list[tuple[np.ndarray, np.ndarray]], n_rows: int, allowed: np.ndarray | None, refine: Refine | None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_gather` in a (reused) array as long as the segment: for many postings."""
    every = np.concatenate([rows for rows, _ in parts]) if len(parts) > 1 else parts[0][0]
    with _SCRATCH.borrow(n_rows) as (sums, touched):
        for rows, values in parts:
            np.add.at(sums, rows, values)
        held = every if allowed is None else every[allowed[every]]
        totals = np.take(sums, held)  # (np.take: fancy indexing by int32 rows is slower)
        cutoff = -np.inf if refine is None else refine(held, totals)
        if cutoff > 0:
            candidates = _reaching(sums, held, totals, cutoff, n_rows)
        else:
            touched[held] = True
            candidates = np.flatnonzero(touched[:n_rows])
            touched[held] = False
        if allowed is not None:
            candidates = candidates[allowed[candidates]]
        found = candidates, sums[candidates]
        if len(every) * _SCAN_FRACTION > n_rows:  # zero again: the whole array, or only what was touched
            sums[:n_rows] = 0.0
        else:
            sums[every] = 0.0
    return found


def _reaching(sums: np.ndarray, rows: np.ndarray, totals: np.ndarray, cutoff: float, n_rows: int) -> np.ndarray:
    """The rows (sorted, each once) whose sum reaches ``cutoff`` > 0: from the postings when few do, else by
    reading the array (rows no term holds sum to 0)."""
    reach = np.flatnonzero(totals >= cutoff)
    if len(reach) * _SCAN_FRACTION > n_rows:
        return np.flatnonzero(sums[:n_rows] >= cutoff)
    return _sorted_unique(rows[reach])


def _sorted_unique(rows: np.ndarray) -> np.ndarray:
    """``np.unique`` by sorting (numpy's hashing ``unique`` is several times slower on row numbers)."""
    rows = np.sort(rows)
    return rows[np.concatenate([[True], rows[1:] != rows[:-1]])] if len(rows) else rows


def _kth(values: list[np.ndarray], k: int) -> float:
    """The k-th largest of all ``values`` (-inf when there are fewer than k)."""
    joined = np.concatenate(values) if values else np.zeros(0)
    if len(joined) < k:
        return -np.inf
    return float(np.partition(joined, len(joined) - k)[len(joined) - k])


def _allowed(state: StoreState, masks: Sequence[np.ndarray | None] | None, segment: int) -> np.ndarray | None:
    """The rows of ``segment`` a query may return (None: all of them)."""
    live = state.live[segment]
    mask = None if masks is None else masks[segment]
    if mask is not None:
        return mask & live
    return None if state.segments[segment].n_rows == 0 or live.all() else live


def _probe_bound(columns: _Columns, allowed: list[np.ndarray | None], k: int) -> float:
    """A score the k-th best row reaches for sure: the k-th best full score among the rows that score best on
    the rarest terms (rows holding several rare terms usually make the top k)."""
    query, state = columns.query, columns.state
    df = state.df[query.terms]
    budget = max(_PROBE_ROWS, state.n_live // _PROBE_FRACTION)
    picked: list[int] = []
    for position in np.argsort(df, kind="stable").tolist():
        if picked and (len(picked) >= _PROBE_TERMS or df[picked].sum() + df[position] > budget):
            break
        picked.append(position)
    best = [
        _best_rows(columns, s, *_gather(columns, s, picked, allowed[s]), picked, k) for s in range(len(state.segments))
    ]
    return _kth(best, k)


def _best_rows(
    columns: _Columns, segment: int, rows: np.ndarray, sums: np.ndarray, known: list[int], k: int
) -> np.ndarray:
    """The full scores of the rows with the PROBE_BEST * k best ``sums`` (their scores on the terms ``known``;
    a row may come several times, with the same sum), each row once."""
    wanted = _PROBE_BEST * k
    if len(rows) > wanted * len(known):  # a row comes once per term at most
        rows, sums = _largest(rows, sums, wanted * len(known))
    rows, first = np.unique(rows, return_index=True)
    sums = sums[first]
    if len(rows) > wanted:
        rows, sums = _largest(rows, sums, wanted)
    for position in range(len(columns.query.terms)):
        if position not in known:
            hit, values = columns.lookup(segment, position, rows)
            sums[hit] += values
    return sums


def _largest(rows: np.ndarray, sums: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` rows with the largest ``sums`` (``count`` < their number; ties: any). Among many sums,
    those above a threshold from a sample of them (about twice ``count``) are partitioned, not all."""
    step = len(sums) // (_SAMPLE * count)
    if step > 1:
        sample = sums[::step]
        above = -(-_SAMPLE_ABOVE * count // step)  # sampled sums above the threshold
        threshold = np.partition(sample, len(sample) - above)[len(sample) - above]
        at = np.flatnonzero(sums >= threshold)
        if len(at) >= count:  # (else the sample misled: partition all)
            rows, sums = rows[at], sums[at]
    top = np.argpartition(sums, len(sums) - count)[len(sums) - count :]
    return rows[top], sums[top]


def _ceiling(query: _Query, optional: Sequence[int]) -> float:
    """The most the ``optional`` terms can add to any row: their upper bounds' sum (with a margin; 0 for none)."""
    return float(query.upper[list(optional)].sum()) * (1 + _SLACK) if len(optional) else 0.0


class _Threshold:
    """``theta``, a score the k-th best row reaches for sure, raised by the full scores of the best rows of each
    segment as it is gathered; a row can only make the top k if its essential terms give it at least theta
    less the bounds of the optional terms (the ``ceiling``)."""

    def __init__(self, columns: _Columns, theta: float, essential: list[int], optional: list[int], k: int) -> None:
        self.columns, self.theta, self.essential, self.k = columns, theta, essential, k
        self.ceiling = _ceiling(columns.query, optional)
        self.best: list[np.ndarray] = []

    def refine(self, segment: int, rows: np.ndarray, sums: np.ndarray) -> float:
        """Raise theta with ``segment``'s best ``rows``; the cutoff on their sums."""
        self.best.append(_best_rows(self.columns, segment, rows, sums, self.essential, self.k))
        self.theta = max(self.theta, _kth(self.best, self.k))
        cutoff = self.theta - self.ceiling
        return cutoff * (1 - _SLACK) if cutoff > 0 else -np.inf


def split_terms(upper: np.ndarray, df: np.ndarray, theta: float) -> tuple[list[int], list[int]]:
    """Essential terms (their rows are the candidates) and optional ones, whose ``upper`` bounds add up to less
    than ``theta``: chosen greedily to leave out the most postings (``df``) per unit of bound. Optional terms
    come largest bound first (the order to look them up in), and at least one term stays essential."""
    optional: list[int] = []
    budget = 0.0
    if theta > -np.inf:
        saving = df / np.maximum(upper, 1e-300)
        for position in np.argsort(-saving, kind="stable").tolist():
            if (budget + upper[position]) * (1 + _SLACK) < theta and len(optional) < len(df) - 1:
                optional.append(position)
                budget += upper[position]
    essential = [position for position in range(len(df)) if position not in optional]
    return essential, sorted(optional, key=lambda position: -upper[position])


def top_k(
    state: StoreState, tokens: Sequence[str], k: int, params: BM25Params, masks: Sequence[np.ndarray | None] | None
) -> list[tuple[int, int, float]]:
    """The ``k`` best live rows (allowed by ``masks[segment]``) holding a query term, best first, as
    (segment, row, score)."""
    query = _prepare(state, tokens, params)
    if query is None or k < 1:
        return []
    columns = _Columns(state, query)
    allowed = [_allowed(state, masks, s) for s in range(len(state.segments))]
    df = state.df[query.terms]
    if int(df.min()) * _EXHAUSTIVE_FRACTION > state.n_live or int(df.sum()) <= _EXHAUSTIVE_POSTINGS:
        return _exhaustive(columns, allowed, k)  # nothing worth skipping: add up every posting
    theta = _probe_bound(columns, allowed, k)
    essential, optional = split_terms(query.upper, state.df[query.terms], theta)
    threshold = _Threshold(columns, theta, essential, optional, k)
    found = [
        _gather(columns, s, essential, allowed[s], partial(threshold.refine, s)) for s in range(len(state.segments))
    ]
    theta = threshold.theta
    rows_out: list[np.ndarray] = [np.zeros(0, np.int64)]
    scores_out: list[np.ndarray] = [np.zeros(0)]
    offset = 0
    for s, (rows, sums) in enumerate(found):
        if optional and theta > -np.inf:
            rows, sums = _complete(columns, s, rows, sums, optional, theta)
        else:
            for position in optional:
                hit, values = columns.lookup(s, position, rows)
                sums[hit] += values
        rows_out.append(rows + offset)
        scores_out.append(sums)
        offset += state.segments[s].n_rows
    constant = _absent_constant(query)
    best_rows, best_scores = select_top_k(np.concatenate(rows_out), np.concatenate(scores_out) + constant, k)
    return _locate(state, best_rows, best_scores)


def _complete(
    columns: _Columns, segment: int, rows: np.ndarray, sums: np.ndarray, optional: list[int], theta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Add the optional terms to the candidates that can still reach ``theta``, largest bound first, dropping
    after each term the rows that cannot any more. A row's bound counts, per optional term still to add, the
    most that term gives in a document of the row's length (from its peaks)."""
    keep = np.flatnonzero(sums + _ceiling(columns.query, optional) >= theta)  # no row gains more: drop the hopeless
    rows, sums = rows[keep], sums[keep]  # ones first (usually most), before reading their lengths
    lengths = np.take(columns.state.segments[segment].postings.doc_len, rows)
    present = np.flatnonzero(np.bincount(lengths)) if len(lengths) else np.zeros(0, np.int64)
    index_of = np.zeros(int(present[-1]) + 1 if len(present) else 1, dtype=np.int64)
    index_of[present] = np.arange(len(present))
    slot = index_of[lengths]
    bounds = _length_bounds(columns, optional, present)
    remaining = bounds.sum(axis=0) * (1 + _SLACK)
    for step, position in enumerate(optional):
        keep = sums + remaining[slot] >= theta
        rows, sums, slot = rows[keep], sums[keep], slot[keep]
        hit, values = columns.lookup(segment, position, rows)
        sums[hit] += values
        remaining = remaining - bounds[step]
    return rows, sums


def _length_bounds(columns: _Columns, positions: list[int], lengths: np.ndarray) -> np.ndarray:
    """Per term (rows) and document length (columns): the most a document of that length gets from the term, the
    best of its peaks no longer than the document (any entry of the column is beaten by such a peak)."""
    query, state = columns.query, columns.state
    bounds = np.zeros((len(positions), len(lengths)))
    for row, position in enumerate(positions):
        term = int(query.terms[position])
        peak_tf, peak_len = _all_peaks(state, term)
        if len(peak_tf) * len(lengths) > _MAX_BOUND_CELLS:  # too many to tabulate: the term's overall bound
            bounds[row] = query.upper[position]
            continue
        values = saturation(query.params, peak_tf[:, None], lengths[None, :], query.avgdl)
        values[peak_len[:, None] > lengths[None, :]] = 0.0
        best = values.max(axis=0, initial=0.0) * float(query.idf[position] * query.counts[position])
        bounds[row] = np.minimum(np.maximum(best, 0.0) * (1 + _SLACK), query.upper[position])
    return bounds


def _all_peaks(state: StoreState, term: int) -> tuple[np.ndarray, np.ndarray]:
    """The peaks of ``term``'s columns in every segment (together they beat every posting of the term)."""
    tfs, lengths = [np.zeros(0, np.int32)], [np.zeros(0, np.int32)]
    for segment in state.segments:
        postings = segment.postings
        if term < postings.vocabulary:
            start, end = int(postings.peak_ptr[term]), int(postings.peak_ptr[term + 1])
            tfs.append(postings.peak_tf[start:end])
            lengths.append(postings.peak_len[start:end])
    return np.concatenate(tfs), np.concatenate(lengths)


def _exhaustive(columns: _Columns, allowed: list[np.ndarray | None], k: int) -> list[tuple[int, int, float]]:
    """Top k from every posting of every query term, added up per row in a reused array (``np.add.at``, in the
    same term order for every row)."""
    state, query = columns.state, columns.query
    positive = bool((query.lower == 0).all() and (query.idf > 0).all())  # a touched row then sums above 0
    rows_out, scores_out, offset = [np.zeros(0, np.int64)], [np.zeros(0)], 0
    for s, segment in enumerate(state.segments):
        parts = [columns.get(s, position) for position in range(len(query.terms))]
        with _SCRATCH.borrow(segment.n_rows) as (sums, touched):
            for rows, values in parts:
                np.add.at(sums, rows, values)
                if not positive:
                    touched[rows] = True
            found = sums[: segment.n_rows] > 0 if positive else touched[: segment.n_rows]
            mask = allowed[s]
            candidates = np.flatnonzero(found if mask is None else found & mask)
            best, scores = select_top_k(candidates, sums[candidates], k)
            for rows, _ in parts:  # zero again only what was touched
                sums[rows] = 0.0
                touched[rows] = False
        rows_out.append(best + offset)
        scores_out.append(scores)
        offset += segment.n_rows
    best_rows, best_scores = select_top_k(np.concatenate(rows_out), np.concatenate(scores_out), k)
    return _locate(state, best_rows, best_scores + _absent_constant(query))


def _absent_constant(query: _Query) -> float:
    """What every live document gets from each query term, held or not: BM25+'s ``idf * delta``, else 0."""
    if query.params.variant != "bm25plus":
        return 0.0
    return float(np.dot(query.idf * float(query.params.delta), query.counts))  # type: ignore[arg-type]


def _locate(state: StoreState, rows: np.ndarray, scores: np.ndarray) -> list[tuple[int, int, float]]:
    offsets = np.cumsum([0] + [segment.n_rows for segment in state.segments])
    segments = np.searchsorted(offsets, rows, side="right") - 1
    return [
        (int(s), int(row - offsets[s]), float(score))
        for s, row, score in zip(segments.tolist(), rows.tolist(), scores.tolist(), strict=True)
    ]


def score_all(state: StoreState, tokens: Sequence[str], params: BM25Params) -> list[np.ndarray]:
    """Every row's score per segment (dead rows: NaN), as rank-bm25's ``get_scores`` on the live rows."""
    query = _prepare(state, tokens, params)
    scores = [np.zeros(segment.n_rows) for segment in state.segments]
    if query is not None:
        columns = _Columns(state, query)
        constant = _absent_constant(query)
        for s, segment_scores in enumerate(scores):
            for position in range(len(query.terms)):
                rows, values = columns.get(s, position)
                segment_scores[rows] += values
            segment_scores += constant
    for segment_scores, live in zip(scores, state.live, strict=True):
        segment_scores[~live] = np.nan
    return scores


def select_top_k(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` highest ``scores`` (ties: lower row first), best first, without sorting everything."""
    if len(scores) > k:
        best = np.argpartition(scores, len(scores) - k)[len(scores) - k :]
        keep = np.flatnonzero(scores >= scores[best].min())  # every tie at the boundary competes on row
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))[:k]
    return rows[order], scores[order]
