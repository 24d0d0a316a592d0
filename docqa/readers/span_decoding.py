"""SQuAD 2.0 span decoding on a batch of windows' logits, in numpy.

A span ``(s, e)`` of a window is valid when both tokens are document tokens, ``e >= s`` and it has at most
``max_answer_length`` tokens; its score is ``start_logits[s] + end_logits[e]``. The null (no-answer) score of
a window is ``start_logits[0] + end_logits[0]``: the first token, ``[CLS]`` / ``<s>``, is where SQuAD 2.0
models put "no answer".

Only the band ``s <= e < s + max_answer_length`` is ever scored, so one window costs ``L * max_answer_length``
numbers (not ``L * L``), and the best spans found are exactly the best valid spans (no top-n start / top-n end
approximation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class WindowSpans:
    """The best valid spans of one window, best first: token indices (inclusive end) and scores."""

    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray


def null_scores(start_logits: np.ndarray, end_logits: np.ndarray) -> np.ndarray:
    """Per window (rows), the no-answer score: start + end logit of the first token."""
    return start_logits[:, 0] + end_logits[:, 0]


def band_scores(
    start_logits: np.ndarray, end_logits: np.ndarray, context_mask: np.ndarray, max_answer_length: int
) -> np.ndarray:
    """``(B, L, A)`` scores of span ``(s, s + k)`` at ``[b, s, k]``; ``-inf`` where the span is invalid.

    Document tokens are contiguous in a window, so both ends being document tokens means the whole span is.
    """
    masked_start = np.where(context_mask, start_logits, -np.inf).astype(np.float32)
    masked_end = np.where(context_mask, end_logits, -np.inf).astype(np.float32)
    pad = np.full((masked_end.shape[0], max_answer_length - 1), -np.inf, dtype=np.float32)
    ends_band = sliding_window_view(np.concatenate([masked_end, pad], axis=1), max_answer_length, axis=1)
    return masked_start[:, :, None] + ends_band


def best_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    max_answer_length: int,
    n_best: int,
) -> list[WindowSpans]:
    """For each window (row of the ``(B, L)`` inputs), its ``n_best`` highest-scoring valid spans."""
    scores = band_scores(start_logits, end_logits, context_mask, max_answer_length)
    flat = scores.reshape(scores.shape[0], -1)
    keep = min(n_best, flat.shape[1])
    top = np.argpartition(-flat, keep - 1, axis=1)[:, :keep]
    results = []
    for row in range(flat.shape[0]):
        candidates = top[row][np.isfinite(flat[row, top[row]])]
        candidates = candidates[np.argsort(-flat[row, candidates], kind="stable")]
        starts = candidates // max_answer_length
        results.append(
            WindowSpans(
                starts=starts,
                ends=starts + candidates % max_answer_length,
                scores=flat[row, candidates].astype(np.float64),
            )
        )
    return results
