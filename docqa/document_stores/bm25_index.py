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

Statistics are the store's (:class:`~docqa.document_stores.state.StoreState`); term scores are computed from
the term frequencies when a query reads a column, so a write or a delete changes no stored score.

Top k (MaxScore)
----------------
Each term's score is bounded by its value at the column's largest frequency and shortest document (the score
grows with ``tf`` and shrinks with ``len``). A first bound ``theta`` on the k-th best score comes from the rows
of the rarest query terms; terms whose bounds add up to less than ``theta`` (the common ones: ``the``,
``of``...) cannot lift a row that lacks every other term into the top k, so only the rows of the other,
*essential* terms are candidates, and the common terms' columns are only looked up for the candidates that can
still make it. The result is the exhaustive one: ties are broken by row (earlier insertion first), and every
row sums its terms in one order, so equal documents score equal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from docqa.document_stores.state import StoreState
from docqa.errors import DocqaError

VARIANTS = ("okapi", "bm25l", "bm25plus")
DEFAULT_DELTA = {"bm25l": 0.5, "bm25plus": 1.0}
_PROBE_ROWS = 4096  # rows of the rarest terms scored to find a first bound on the k-th best score
_DENSE_FRACTION = 16  # candidates gathered in a dense array once the postings exceed rows / this
_SLACK = 1e-9  # relative margin on bounds: a bound is never trusted to the last rounding error


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


def idf_values(state: StoreState, params: BM25Params, df: np.ndarray) -> np.ndarray:
    """The idf of terms with live document frequencies ``df`` (all > 0) under ``params``."""
    n_docs, df = float(state.n_live), df.astype(np.float64)
    if params.variant == "okapi":
        idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
        idf[idf < 0] = params.epsilon * _mean_okapi_idf(state)
        return idf
    if params.variant == "bm25l":
        return math.log(n_docs + 1) - np.log(df + 0.5)
    return np.log((n_docs + 1) / df)


def _mean_okapi_idf(state: StoreState) -> float:
    """The average okapi idf over the live vocabulary (computed once per state)."""
    cached = state._cache.get("mean_okapi_idf")
    if not isinstance(cached, float):
        present = state.df[state.df > 0].astype(np.float64)
        n_docs = float(state.n_live)
        idf = np.log(n_docs - present + 0.5) - np.log(present + 0.5)
        cached = state._cache["mean_okapi_idf"] = float(idf.sum() / len(present)) if len(present) else 0.0
    return cached


def term_scores(params: BM25Params, tf: np.ndarray, doc_len: np.ndarray, idf: float, avgdl: float) -> np.ndarray:
    """rank-bm25's per-(document, term) score, operation for operation; BM25+ without its tf=0 constant."""
    k1, b = params.k1, params.b
    tf = np.asarray(tf, dtype=np.float64)
    norm = 1 - b + b * np.asarray(doc_len, dtype=np.float64) / avgdl
    with np.errstate(divide="ignore", invalid="ignore"):
        if params.variant == "okapi":
            return idf * (tf * (k1 + 1) / (tf + k1 * norm))
        delta = float(params.delta)  # type: ignore[arg-type]
        if params.variant == "bm25l":
            ctd = tf / norm
            return idf * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)
        return idf * (delta + (tf * (k1 + 1)) / (k1 * norm + tf)) - idf * delta


def _prepare(state: StoreState, tokens: Sequence[str], params: BM25Params) -> _Query | None:
    """The query's terms that some live document holds, with their idfs and bounds (None: no such term)."""
    if not tokens or not state.n_live:
        return None
    distinct, counts = np.unique(np.asarray(tokens, dtype=object), return_counts=True)
    ids = state.vocabulary.lookup(list(distinct))
    known = ids >= 0
    ids, counts = ids[known], counts[known]
    known = state.df[ids] > 0
    terms, counts = ids[known], counts[known].astype(np.float64)
    if not len(terms):
        return None
    order = np.argsort(terms)
    terms, counts = terms[order], counts[order]
    idf = idf_values(state, params, state.df[terms])
    avgdl = state.total_len / state.n_live if state.total_len else 1.0
    upper, lower = _bounds(state, terms, idf, avgdl, params)
    return _Query(terms, counts, idf, upper * counts, lower * counts, avgdl, params)


def _bounds(
    state: StoreState, terms: np.ndarray, idf: np.ndarray, avgdl: float, params: BM25Params
) -> tuple[np.ndarray, np.ndarray]:
    """Per term, the most and the least one row can get from it in any segment."""
    upper = np.zeros(len(terms))
    lower = np.zeros(len(terms))
    for segment in state.segments:
        inside = terms < segment.vocabulary
        if not inside.any():
            continue
        columns = terms[inside]
        max_tf = np.asarray(segment.postings.max_tf[columns], dtype=np.float64)
        min_len = np.asarray(segment.postings.min_len[columns], dtype=np.float64)
        extreme = np.where(max_tf > 0, term_scores(params, max_tf, min_len, 1.0, avgdl), 0.0) * idf[inside]
        upper[inside] = np.maximum(upper[inside], extreme)
        lower[inside] = np.minimum(lower[inside], extreme)
    return np.maximum(upper, 0.0) * (1 + _SLACK), lower * (1 + _SLACK)


class _Columns:
    """The query's term scores per (segment, term), computed once per query."""

    def __init__(self, state: StoreState, query: _Query) -> None:
        self.state, self.query = state, query
        self._cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def get(self, segment: int, position: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows holding query term ``position`` in ``segment`` and what each gets from it (counts included)."""
        key = (segment, position)
        cached = self._cache.get(key)
        if cached is None:
            postings = self.state.segments[segment].postings
            rows, tf = postings.column(int(self.query.terms[position]))
            values = self._scores(postings.doc_len, rows, tf, position)
            cached = self._cache[key] = (np.asarray(rows), values)
        return cached

    def _scores(self, doc_len: np.ndarray, rows: np.ndarray, tf: np.ndarray, position: int) -> np.ndarray:
        query = self.query
        values = term_scores(query.params, tf, doc_len[rows], float(query.idf[position]), query.avgdl)
        count = query.counts[position]
        return values if count == 1 else values * count

    def lookup(self, segment: int, position: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For sorted ``rows`` of ``segment``: which hold term ``position``, and what they get from it."""
        key = (segment, position)
        postings = self.state.segments[segment].postings
        column_rows, tf = postings.column(int(self.query.terms[position]))
        if key in self._cache or len(rows) * 8 > len(column_rows):
            column_rows, values = self.get(segment, position)
            at = np.minimum(np.searchsorted(column_rows, rows), max(len(column_rows) - 1, 0))
            hit = np.flatnonzero(column_rows[at] == rows) if len(column_rows) else np.zeros(0, np.int64)
            return hit, values[at[hit]]
        at = np.minimum(np.searchsorted(column_rows, rows), max(len(column_rows) - 1, 0))
        hit = np.flatnonzero(column_rows[at] == rows) if len(column_rows) else np.zeros(0, np.int64)
        values = self._scores(postings.doc_len, rows[hit], tf[at[hit]], position)
        return hit, values


def _gather(
    columns: _Columns, segment: int, positions: Sequence[int], allowed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The allowed rows of ``segment`` holding any of the terms at ``positions``, and the sum of what they get
    from those terms (added in the order of ``positions``)."""
    parts = [columns.get(segment, position) for position in positions]
    n_rows = columns.state.segments[segment].n_rows
    total = sum(len(rows) for rows, _ in parts)
    if total * _DENSE_FRACTION > n_rows:
        sums = np.zeros(n_rows)
        touched = np.zeros(n_rows, dtype=bool)
        for rows, values in parts:
            sums[rows] += values
            touched[rows] = True
        if allowed is not None:
            touched &= allowed
        candidates = np.flatnonzero(touched)
        return candidates, sums[candidates]
    candidates = np.unique(np.concatenate([rows for rows, _ in parts])) if len(parts) > 1 else parts[0][0]
    if allowed is not None:
        candidates = candidates[allowed[candidates]]
    sums = np.zeros(len(candidates))
    for rows, values in parts:
        at = np.searchsorted(candidates, rows)
        at = np.minimum(at, max(len(candidates) - 1, 0))
        hit = candidates[at] == rows if len(candidates) else np.zeros(len(rows), dtype=bool)
        sums[at[hit]] += values[hit]
    return candidates, sums


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
    """A score the k-th best row reaches for sure: the k-th best among the rows of the rarest terms, counting
    for each other term the least it can add."""
    query, state = columns.query, columns.state
    df = state.df[query.terms]
    picked: list[int] = []
    for position in np.argsort(df, kind="stable").tolist():
        picked.append(position)
        if df[picked].sum() >= _PROBE_ROWS:
            break
    rest = float(query.lower.sum() - query.lower[picked].sum())
    sums = [_gather(columns, s, picked, allowed[s])[1] + rest for s in range(len(state.segments))]
    return _kth(sums, k)


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
    theta = _probe_bound(columns, allowed, k)
    order = np.argsort(query.upper, kind="stable")
    bound = np.cumsum(query.upper[order]) * (1 + _SLACK)
    optional = int(np.searchsorted(bound, theta, side="left")) if theta > -np.inf else 0
    optional = min(optional, len(order) - 1)  # at least one term yields the candidates
    essential, rest = order[optional:].tolist(), order[:optional].tolist()
    found = [_gather(columns, s, essential, allowed[s]) for s in range(len(state.segments))]
    rest_lower, rest_upper = float(query.lower[rest].sum()), float(query.upper[rest].sum()) * (1 + _SLACK)
    theta = max(theta, _kth([sums + rest_lower for _, sums in found], k))
    rows_out: list[np.ndarray] = []
    scores_out: list[np.ndarray] = []
    offset = 0
    for s, (rows, sums) in enumerate(found):
        if rest and theta > -np.inf:
            keep = sums + rest_upper >= theta
            rows, sums = rows[keep], sums[keep]
        for position in rest:
            hit, values = columns.lookup(s, position, rows)
            sums[hit] += values
        rows_out.append(rows + offset)
        scores_out.append(sums)
        offset += state.segments[s].n_rows
    constant = _absent_constant(query)
    best_rows, best_scores = select_top_k(np.concatenate(rows_out), np.concatenate(scores_out) + constant, k)
    return _locate(state, best_rows, best_scores)


def _absent_constant(query: _Query) -> float:
    """What every live document gets from query terms it lacks: BM25+'s ``idf * delta``, 0 otherwise."""
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
