"""Span decoding and answer ranking against brute-force oracles on synthetic logits (no model needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from docqa.readers.answer_ranking import QuestionCandidates, rank_answers
from docqa.readers.span_decoding import top_spans, unpack_spans
from docqa.schema import Document


def brute_force(start: np.ndarray, end: np.ndarray, mask: np.ndarray, max_len: int) -> list[tuple[float, int, int]]:
    spans = []
    for s in range(len(start)):
        for e in range(s, len(end)):
            if mask[s] and mask[e] and e - s + 1 <= max_len:
                spans.append((float(np.float32(start[s]) + np.float32(end[e])), s, e))
    return sorted(spans, key=lambda span: (-span[0], span[1], span[2]))


def _decoded(start: np.ndarray, end: np.ndarray, begin: np.ndarray, count: np.ndarray, max_len: int, n_best: int):
    import torch

    packed = top_spans(
        torch.from_numpy(start),
        torch.from_numpy(end),
        torch.from_numpy(begin),
        torch.from_numpy(count),
        max_len,
        n_best,
    )
    return unpack_spans(packed.numpy(), max_len)


@pytest.mark.parametrize("max_len,n_best", [(1, 5), (3, 4), (30, 20), (200, 7)])
def test_best_spans_are_the_brute_force_best(max_len: int, n_best: int) -> None:
    rng = np.random.default_rng(max_len)
    rows, length = 6, 40
    start, end = rng.normal(size=(rows, length)).astype(np.float32), rng.normal(size=(rows, length)).astype(np.float32)
    begin = rng.integers(1, 15, size=rows)
    count = np.array([int(rng.integers(b + 1, length)) - b for b in begin])  # document tokens are contiguous
    found = _decoded(start, end, begin, count, max_len, n_best)
    for row in range(rows):
        mask = (np.arange(length) >= begin[row]) & (np.arange(length) < begin[row] + count[row])
        expected = brute_force(start[row], end[row], mask, max_len)[:n_best]
        mine = found.rows == row
        order = np.lexsort((found.starts[mine], -found.scores[mine]))  # the same order as the oracle's
        got = list(zip(found.starts[mine][order].tolist(), found.ends[mine][order].tolist(), strict=True))
        assert got == [(s, e) for _, s, e in expected]
        np.testing.assert_allclose(found.scores[mine][order], [score for score, _, _ in expected], rtol=1e-6)
    np.testing.assert_array_equal(found.nulls, start[:, 0].astype(np.float64) + end[:, 0].astype(np.float64))


def test_window_without_document_tokens_has_no_spans_and_null_is_first_token() -> None:
    start = np.array([[2.0, 5.0, 1.0]], dtype=np.float32)
    end = np.array([[0.5, 4.0, 1.0]], dtype=np.float32)
    found = _decoded(start, end, np.array([1]), np.array([0]), 30, 5)
    assert len(found.scores) == 0 and len(found.rows) == 0
    assert found.nulls.tolist() == [2.5]


def test_half_precision_logits_are_scored_in_float32() -> None:
    import torch

    rng = np.random.default_rng(7)
    start, end = rng.normal(size=(3, 50)).astype(np.float32), rng.normal(size=(3, 50)).astype(np.float32)
    as_bf16 = [torch.from_numpy(x).bfloat16() for x in (start, end)]
    begin, count = torch.tensor([3, 5, 7]), torch.tensor([40, 30, 43])
    half = unpack_spans(top_spans(*as_bf16, begin, count, 30, 20).numpy(), 30)
    rounded = [x.float().numpy() for x in as_bf16]
    full = _decoded(*rounded, begin.numpy(), count.numpy(), 30, 20)
    np.testing.assert_array_equal(half.scores, full.scores)  # bf16 values, exactly, summed in float32
    np.testing.assert_array_equal(half.starts, full.starts)


def _candidates(spans: list[tuple[int, int, int, float]], nulls: list[float]) -> QuestionCandidates:
    found = QuestionCandidates()
    for doc, start, end, score in spans:
        offsets = np.array([[start, end]])
        found.add_window(doc, offsets, np.array([0]), np.array([0]), np.array([score]), nulls[0])
    for null in nulls[1:]:
        found.add_window(
            0,
            np.zeros((0, 2), dtype=np.int64),
            np.array([], dtype=np.int64),
            np.array([], dtype=np.int64),
            np.array([]),
            null,
        )
    return found


DOCS = [Document("alpha beta gamma delta epsilon", meta={"source_start": 100}), Document("zeta eta theta")]


def test_duplicates_merge_overlaps_drop_and_null_is_min_over_windows() -> None:
    spans = [(0, 0, 5, 3.0), (0, 0, 5, 4.0), (0, 6, 10, 3.5), (0, 0, 10, 3.9), (1, 0, 4, 1.0)]
    answers = rank_answers("q", DOCS, _candidates(spans, [0.5, -1.0, 2.0]), 5, True, 0.0)
    texts = [a.text for a in answers]
    assert texts == ["alpha", "beta", "zeta", None]  # "alpha beta" (3.9) overlaps the better "alpha" (4.0)
    assert answers[0].score == 4.0 and answers[0].span is not None and answers[0].span.start == 100
    no_answer = answers[-1]
    assert no_answer.score == -1.0 and no_answer.document is None
    assert no_answer.meta["no_answer_margin"] == pytest.approx(5.0)
    # probabilities: softmax over the distinct spans (including the dropped overlapping one) and the null
    logits = [4.0, 3.5, 3.9, 1.0, -1.0]
    total = sum(math.exp(x) for x in logits)
    assert [a.probability for a in answers] == pytest.approx([math.exp(x) / total for x in (4.0, 3.5, 1.0, -1.0)])


@pytest.mark.parametrize("threshold,position", [(4.9, 1), (5.1, 0), (0.6, 2), (0.4, 3), (10.0, 0)])
def test_no_answer_rank_follows_the_threshold(threshold: float, position: int) -> None:
    spans = [(0, 0, 5, 4.0), (0, 6, 10, 0.0), (1, 0, 4, -0.5)]
    answers = rank_answers("q", DOCS, _candidates(spans, [-1.0]), 5, True, threshold)
    # no-answer goes above every span whose score - null < threshold
    assert [a.text for a in answers].index(None) == position
    assert sum(a.is_no_answer for a in answers) == 1


def test_no_answer_is_appended_when_it_ranks_below_top_k() -> None:
    spans = [(0, 0, 5, 4.0), (0, 6, 10, 3.0), (1, 0, 4, 2.0)]
    answers = rank_answers("q", DOCS, _candidates(spans, [-5.0]), 2, True, 0.0)
    assert [a.text for a in answers] == ["alpha", "beta", None]
    assert [a.text for a in rank_answers("q", DOCS, _candidates(spans, [-5.0]), 2, False, 0.0)] == [
        "alpha",
        "beta",
    ]


def test_no_answer_winning_is_first_and_list_keeps_top_k() -> None:
    spans = [(0, 0, 5, 1.0), (0, 6, 10, 0.5)]
    answers = rank_answers("q", DOCS, _candidates(spans, [3.0]), 2, True, 0.0)
    assert [a.text for a in answers] == [None, "alpha", "beta"]  # top_k counts answers, the no-answer comes on top


def test_no_candidates_at_all() -> None:
    (only,) = rank_answers("q", [], QuestionCandidates(), 3, True, 0.0)
    assert only.is_no_answer and only.probability == 1.0 and only.meta["no_answer_margin"] is None
    assert rank_answers("q", [], QuestionCandidates(), 3, False, 0.0) == []
