"""The check both int8 paths (torch dynamic, ONNX Runtime) must pass against fp32 on the same questions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from docqa.schema import Answer


def assert_int8_close_to_fp32(
    fp32: Sequence[Sequence[Answer]], int8: Sequence[Sequence[Answer]], questions: int, min_same_top: float = 0.85
) -> None:
    """Most top-5 spans found by both, scores that differ (int8 arithmetic really ran) but by < 0.05, and the same
    top span on at least ``min_same_top`` of the questions."""
    differences: list[float] = []
    for full, quantized in zip(fp32, int8, strict=True):
        scores = {answer.document_span: answer.score for answer in full}
        differences += [abs(scores[a.document_span] - a.score) for a in quantized if a.document_span in scores]
    assert len(differences) >= 3 * questions  # most top-5 spans are found by both
    assert np.median(differences) > 1e-5  # int8 arithmetic really ran: scores are not fp32's
    assert max(differences) < 0.05
    same_top = np.mean([a[0].document_span == b[0].document_span for a, b in zip(fp32, int8, strict=True)])
    assert same_top >= min_same_top
