"""What a store holds at one moment: its segments, which of their rows are live, and the BM25 statistics.

A :class:`StoreState` never changes once built: a write or a delete builds the next one (sharing the segments
and copying only the small per-store arrays), and the store publishes it with one assignment. A reader that
took a state keeps a consistent view of it however long it runs, without any lock.

Merge policy (:func:`tail_merge_start`, size-tiered as in LSM trees): once the newest :data:`MERGE_FACTOR`
segments are within a factor :data:`MERGE_FACTOR` of each other in size, they are merged into one. Appending in
small batches thus rewrites each row about ``log(n) / log(MERGE_FACTOR)`` times, never the large old segments
for a small append, and a store of ``n`` rows keeps fewer than about ``MERGE_FACTOR`` segments per factor
``MERGE_FACTOR`` of sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from docqa.document_stores.segment import Segment, Vocabulary

MERGE_FACTOR = 8


@dataclass(frozen=True)
class StoreState:
    """Segments (oldest first), each one's live rows, and the live statistics BM25 needs."""

    segments: tuple[Segment, ...] = ()
    live: tuple[np.ndarray, ...] = ()
    df: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # live documents per term id
    n_live: int = 0
    total_len: int = 0  # tokens in live documents
    revision: int = 0
    _cache: dict[object, object] = field(default_factory=dict, compare=False, repr=False)

    # ------------------------------------------------------------------------------------------ building
    @classmethod
    def of(cls, segments: Sequence[Segment], live: Sequence[np.ndarray], revision: int = 0) -> StoreState:
        """The state of ``segments`` with these live rows, statistics computed from scratch."""
        vocabulary = max((segment.vocabulary for segment in segments), default=0)
        df = np.zeros(vocabulary, dtype=np.int64)
        n_live = total_len = 0
        for segment, mask in zip(segments, live, strict=True):
            df[: segment.vocabulary] += segment.postings.column_sizes()
            dead = np.flatnonzero(~mask)
            if len(dead):
                df -= np.bincount(segment.postings.row_terms(dead), minlength=vocabulary)[:vocabulary]
            n_live += int(np.count_nonzero(mask))
            total_len += int(np.asarray(segment.postings.doc_len, dtype=np.int64).sum())
            total_len -= int(np.asarray(segment.postings.doc_len[dead], dtype=np.int64).sum())
        return cls(tuple(segments), tuple(live), df, n_live, total_len, revision)

    def with_segment(self, segment: Segment) -> StoreState:
        """This state with ``segment`` appended (all its rows live)."""
        df = np.zeros(max(len(self.df), segment.vocabulary), dtype=np.int64)
        df[: len(self.df)] = self.df
        df[: segment.vocabulary] += segment.postings.column_sizes()
        total = int(np.asarray(segment.postings.doc_len, dtype=np.int64).sum())
        return StoreState(
            (*self.segments, segment),
            (*self.live, np.ones(segment.n_rows, dtype=bool)),
            df,
            self.n_live + segment.n_rows,
            self.total_len + total,
            self.revision + 1,
        )

    def without(self, rows: dict[int, np.ndarray]) -> StoreState:
        """This state with the live rows ``rows[segment index]`` deleted."""
        live, df = list(self.live), self.df.copy()
        n_live, total_len = self.n_live, self.total_len
        for index, dead in rows.items():
            segment = self.segments[index]
            mask = live[index].copy()
            mask[dead] = False
            live[index] = mask
            df -= np.bincount(segment.postings.row_terms(dead), minlength=len(df))[: len(df)]
            n_live -= len(dead)
            total_len -= int(np.asarray(segment.postings.doc_len[dead], dtype=np.int64).sum())
        return StoreState(self.segments, tuple(live), df, n_live, total_len, self.revision + 1)

    def merged(self, start: int, stop: int, segment: Segment) -> StoreState:
        """This state with segments ``start .. stop - 1`` replaced by ``segment``, their live rows merged into it
        (term ids kept): the documents, and so the statistics and the revision, do not change."""
        segments = (*self.segments[:start], segment, *self.segments[stop:])
        live = (*self.live[:start], np.ones(segment.n_rows, dtype=bool), *self.live[stop:])
        return StoreState(segments, live, self.df, self.n_live, self.total_len, self.revision)

    # ----------------------------------------------------------------------------------------- reading
    @property
    def n_rows(self) -> int:
        return sum(segment.n_rows for segment in self.segments)

    @property
    def vocabulary(self) -> Vocabulary:
        cached = self._cache.get("vocabulary")
        if not isinstance(cached, Vocabulary):
            cached = self._cache["vocabulary"] = Vocabulary(
                [(segment.term_base, segment.terms) for segment in self.segments]
            )
        return cached

    def locate(self, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """For each id, the segment index and row where it is live (-1, -1 where it is not stored)."""
        where = np.full(len(ids), -1, dtype=np.int64)
        rows = np.full(len(ids), -1, dtype=np.int64)
        for index in range(len(self.segments) - 1, -1, -1):
            missing = np.flatnonzero(where < 0)
            if not len(missing):
                break
            found = self.segments[index].ids.find([ids[i] for i in missing.tolist()])
            hit = found >= 0
            hit[hit] = self.live[index][found[hit]]
            where[missing[hit]] = index
            rows[missing[hit]] = found[hit]
        return where, rows


def tail_merge_start(sizes: Sequence[int]) -> int | None:
    """Where the run of newest segments to merge starts (None: nothing to merge), by the tiered policy."""
    if len(sizes) < MERGE_FACTOR:
        return None
    tail = sizes[-MERGE_FACTOR:]
    if max(tail) <= MERGE_FACTOR * max(min(tail), 1):
        return len(sizes) - MERGE_FACTOR
    return None
