"""SQuAD 2.0 span decoding of a batch of windows' logits, on the device that computed them.

A span ``(s, e)`` of a window is valid when both tokens are document tokens, ``e >= s`` and it has at most
``max_answer_length`` tokens; its score is ``start_logits[s] + end_logits[e]`` (in float32, whatever the model's
precision). The null (no-answer) score of a window is ``start_logits[0] + end_logits[0]``: the first token,
``[CLS]`` / ``<s>``, is where SQuAD 2.0 models put "no answer".

Only the band ``s <= e < s + max_answer_length`` is ever scored, so one window costs ``L * max_answer_length``
numbers (not ``L * L``), and the best spans found are exactly the best valid spans (no top-n start / top-n end
approximation). :func:`top_spans` keeps the ``n_best`` of each window on the device and packs them with the
window's first-token logits into one small float32 matrix: the only thing that leaves the device, one transfer
per batch, instead of the logits. :func:`unpack_spans` reads that matrix on the host.

>>> import torch
>>> start = torch.tensor([[0.5, 2.0, 1.0, 0.0]])
>>> end = torch.tensor([[0.25, 0.0, 3.0, 1.0]])
>>> packed = top_spans(start, end, torch.tensor([1]), torch.tensor([3]), max_answer_length=2, n_best=2)
>>> spans = unpack_spans(packed.numpy(), max_answer_length=2)
>>> spans.starts.tolist(), spans.ends.tolist(), spans.scores.tolist(), spans.nulls.tolist()
([1, 2], [2, 2], [5.0, 4.0], [0.75])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class BatchSpans:
    """The valid candidate spans of a batch of windows, flat: span ``i`` is tokens ``starts[i]..ends[i]``
    (inclusive) of window ``rows[i]``, scored ``scores[i]``; ``nulls[r]``: window ``r``'s null score."""

    rows: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray
    nulls: np.ndarray


def top_spans(
    start_logits: Any,
    end_logits: Any,
    context_begin: Any,
    context_count: Any,
    max_answer_length: int,
    n_best: int,
) -> Any:
    """``(B, 2 k + 2)`` float32 tensor, on the logits' device: per window (row of the ``(B, L)`` logits, whose
    document tokens are positions ``context_begin`` to ``context_begin + context_count``), its ``k =
    min(n_best, L * max_answer_length)`` best span scores (``-inf`` past the valid ones), their positions in
    the ``(L, max_answer_length)`` band, then the first token's start and end logits."""
    import torch

    start, end = start_logits.float(), end_logits.float()
    positions = torch.arange(start.shape[1], device=start.device)
    begin = context_begin.to(start.device)[:, None]
    outside = (positions < begin) | (positions >= begin + context_count.to(start.device)[:, None])
    masked_start = start.masked_fill(outside, float("-inf"))
    masked_end = torch.nn.functional.pad(
        end.masked_fill(outside, float("-inf")), (0, max_answer_length - 1), value=float("-inf")
    )
    band = masked_start[:, :, None] + masked_end.unfold(1, max_answer_length, 1)
    flat = band.reshape(band.shape[0], -1)
    scores, where = flat.topk(min(n_best, flat.shape[1]), dim=1)
    return torch.cat([scores, where.float(), start[:, :1], end[:, :1]], dim=1)


def unpack_spans(packed: np.ndarray, max_answer_length: int) -> BatchSpans:
    """The spans of :func:`top_spans`' matrix (on the host); scores and nulls in float64 (null: the sum of
    the two float32 logits, computed in float64)."""
    keep = (packed.shape[1] - 2) // 2
    scores = packed[:, :keep]
    valid = np.isfinite(scores)
    rows = np.nonzero(valid)[0]
    where = packed[:, keep : 2 * keep][valid].astype(np.int64)
    starts = where // max_answer_length
    nulls = packed[:, -2].astype(np.float64) + packed[:, -1].astype(np.float64)
    return BatchSpans(rows, starts, starts + where % max_answer_length, scores[valid].astype(np.float64), nulls)
