"""The official SQuAD metrics (``evaluate-v2.0.py`` and ``evaluate-v1.1.py``), typed, with the same numbers.

Every function here reproduces the computation of the official scripts by the SQuAD authors, down to the
order of floating-point sums, so that results are bit-for-bit identical (the test suite checks this against a
copy of the official code). Where the official v2.0 script would crash, the behaviour is defined instead:

* a question without a prediction is scored as if the prediction were ``""`` (the official script prints
  "Missing prediction for ..." and then fails on the HasAns/NoAns split);
* ``na_probs`` may leave out questions without a prediction, but must cover every question that has one.

Gold answers are given as ``{qid: (answer text, ...)}`` in file order, an empty tuple meaning unanswerable
(see :meth:`docqa.evaluation.squad_dataset.SquadDataset.gold_answers`).

>>> gold = {"q1": ("the Eiffel Tower",), "q2": ()}
>>> metrics = squad_v2_metrics(gold, {"q1": "Eiffel tower!", "q2": ""})
>>> metrics.exact, metrics.f1, metrics.total
(100.0, 100.0, 2)
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from docqa.errors import DocqaError
from docqa.text.normalization import normalize_answer

Gold = Mapping[str, Sequence[str]]


def answer_tokens(text: str) -> list[str]:
    if not text:
        return []
    return normalize_answer(text).split()


def compute_exact(gold: str, prediction: str) -> int:
    """1 if the normalized texts are equal, else 0."""
    return int(normalize_answer(gold) == normalize_answer(prediction))


def compute_f1(gold: str, prediction: str) -> float:
    """Token-overlap F1 of the normalized texts; if either is empty, 1 when both are, else 0."""
    gold_tokens = answer_tokens(gold)
    predicted_tokens = answer_tokens(prediction)
    if not gold_tokens or not predicted_tokens:
        return float(gold_tokens == predicted_tokens)
    common = collections.Counter(gold_tokens) & collections.Counter(predicted_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(predicted_tokens)
    recall = 1.0 * num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def scoring_golds(answers: Sequence[str]) -> list[str]:
    """The gold texts a prediction is compared with: those that normalize to something, else ``[""]``."""
    golds = [answer for answer in answers if normalize_answer(answer)]
    return golds if golds else [""]


@dataclass(frozen=True)
class RawScores:
    """Per-question exact match (0/1) and F1 (0..1) before any no-answer threshold, in gold order."""

    exact: dict[str, float]
    f1: dict[str, float]


def raw_scores(gold: Gold, predictions: Mapping[str, str]) -> RawScores:
    """Score each question against the best of its gold answers; a missing prediction counts as ``""``."""
    exact: dict[str, float] = {}
    f1: dict[str, float] = {}
    for qid, answers in gold.items():
        golds = scoring_golds(answers)
        prediction = predictions.get(qid, "")
        exact[qid] = max(compute_exact(answer, prediction) for answer in golds)
        f1[qid] = max(compute_f1(answer, prediction) for answer in golds)
    return RawScores(exact, f1)


def apply_no_answer_threshold(
    scores: Mapping[str, float],
    na_probs: Mapping[str, float],
    has_answer: Mapping[str, bool],
    na_prob_thresh: float,
) -> dict[str, float]:
    """Questions whose no-answer score exceeds ``na_prob_thresh`` are predicted unanswerable."""
    thresholded: dict[str, float] = {}
    for qid, score in scores.items():
        # A question absent from na_probs has no prediction (validated earlier): it scores like "" anyway.
        predicted_no_answer = qid in na_probs and na_probs[qid] > na_prob_thresh
        thresholded[qid] = float(not has_answer[qid]) if predicted_no_answer else score
    return thresholded


@dataclass(frozen=True)
class SplitScores:
    """Exact match and F1 in percent over ``total`` questions."""

    exact: float
    f1: float
    total: int


def summarize(
    exact_scores: Mapping[str, float], f1_scores: Mapping[str, float], qids: Sequence[str] | None = None
) -> SplitScores:
    """Average per-question scores (all of them, or those of ``qids``) into percentages."""
    if not qids:
        total = len(exact_scores)
        exact_sum, f1_sum = sum(exact_scores.values()), sum(f1_scores.values())
    else:
        total = len(qids)
        exact_sum, f1_sum = sum(exact_scores[k] for k in qids), sum(f1_scores[k] for k in qids)
    if total == 0:
        raise DocqaError("cannot compute SQuAD metrics over zero questions")
    return SplitScores(100.0 * exact_sum / total, 100.0 * f1_sum / total, total)


def find_best_threshold(
    predictions: Mapping[str, str],
    scores: Mapping[str, float],
    na_probs: Mapping[str, float],
    has_answer: Mapping[str, bool],
) -> tuple[float, float]:
    """The official search for the ``na_prob`` threshold that maximizes ``scores``: ``(best %, threshold)``.

    It starts from "every question unanswerable" and answers questions in increasing ``na_prob`` order. Like
    the official script it judges an unanswerable question's prediction by truthiness (``"."`` counts as an
    answer) and may stop inside a group of tied ``na_prob`` values.
    """
    num_no_answer = sum(1 for qid in has_answer if not has_answer[qid])
    current: float = num_no_answer
    best: float = num_no_answer
    best_threshold = 0.0
    for qid in sorted(na_probs, key=lambda k: na_probs[k]):
        if qid not in scores:
            continue
        if has_answer[qid]:
            current += scores[qid]
        elif predictions.get(qid, ""):
            current -= 1
        if current > best:
            best = current
            best_threshold = na_probs[qid]
    return 100.0 * best / len(scores), best_threshold


@dataclass(frozen=True)
class SquadV2Metrics:
    """The numbers of the official SQuAD 2.0 script; ``best_*`` only when no-answer scores were given."""

    exact: float
    f1: float
    total: int
    has_answer: SplitScores | None = None
    no_answer: SplitScores | None = None
    best_exact: float | None = None
    best_exact_thresh: float | None = None
    best_f1: float | None = None
    best_f1_thresh: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The official script's output dict, same keys in the same order."""
        result: dict[str, Any] = {"exact": self.exact, "f1": self.f1, "total": self.total}
        for prefix, split in (("HasAns", self.has_answer), ("NoAns", self.no_answer)):
            if split is not None:
                result.update(
                    {f"{prefix}_exact": split.exact, f"{prefix}_f1": split.f1, f"{prefix}_total": split.total}
                )
        if self.best_exact is not None:
            result.update(
                {
                    "best_exact": self.best_exact,
                    "best_exact_thresh": self.best_exact_thresh,
                    "best_f1": self.best_f1,
                    "best_f1_thresh": self.best_f1_thresh,
                }
            )
        return result


def squad_v2_metrics(
    gold: Gold,
    predictions: Mapping[str, str],
    na_probs: Mapping[str, float] | None = None,
    na_prob_thresh: float = 1.0,
) -> SquadV2Metrics:
    """Official SQuAD 2.0 metrics of ``predictions`` (``{qid: text}``, ``""`` = no answer).

    ``na_probs`` (``{qid: score}``, higher = more likely unanswerable) turns on the no-answer threshold
    ``na_prob_thresh`` and the best-threshold search, as ``--na-prob-file`` does for the official script.
    """
    has_answer = {qid: bool(answers) for qid, answers in gold.items()}
    if na_probs is None:
        searched = False
        na_probs = {qid: 0.0 for qid in predictions}
    else:
        searched = True
        missing = next((qid for qid in gold if qid in predictions and qid not in na_probs), None)
        if missing is not None:
            raise DocqaError(f"na_probs has no entry for question {missing!r}, which has a prediction")
    raw = raw_scores(gold, predictions)
    exact = apply_no_answer_threshold(raw.exact, na_probs, has_answer, na_prob_thresh)
    f1 = apply_no_answer_threshold(raw.f1, na_probs, has_answer, na_prob_thresh)
    overall = summarize(exact, f1)
    has_qids = [qid for qid, value in has_answer.items() if value]
    no_qids = [qid for qid, value in has_answer.items() if not value]
    metrics = SquadV2Metrics(
        exact=overall.exact,
        f1=overall.f1,
        total=overall.total,
        has_answer=summarize(exact, f1, has_qids) if has_qids else None,
        no_answer=summarize(exact, f1, no_qids) if no_qids else None,
    )
    if not searched:
        return metrics
    best_exact, best_exact_thresh = find_best_threshold(predictions, raw.exact, na_probs, has_answer)
    best_f1, best_f1_thresh = find_best_threshold(predictions, raw.f1, na_probs, has_answer)
    return dataclasses.replace(
        metrics,
        best_exact=best_exact,
        best_exact_thresh=best_exact_thresh,
        best_f1=best_f1,
        best_f1_thresh=best_f1_thresh,
    )


@dataclass(frozen=True)
class SquadV1Metrics:
    """The official SQuAD 1.1 numbers (percentages), over answerable questions only."""

    exact_match: float
    f1: float
    total: int

    def to_dict(self) -> dict[str, Any]:
        return {"exact_match": self.exact_match, "f1": self.f1, "total": self.total}


def _v1_f1(prediction: str, ground_truth: str) -> float:
    # v1.1 has no empty-answer special case: two empty texts score 0.
    predicted_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(ground_truth).split()
    num_same = sum((collections.Counter(predicted_tokens) & collections.Counter(gold_tokens)).values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(predicted_tokens)
    recall = 1.0 * num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def squad_v1_metrics(gold: Gold, predictions: Mapping[str, str]) -> SquadV1Metrics:
    """Official SQuAD 1.1 exact match and F1 over the answerable questions of ``gold``.

    Unanswerable questions (no gold answer) are left out; a missing prediction scores 0, as in v1.1.
    """
    exact_match: float = 0
    f1: float = 0
    total = 0
    for qid, answers in gold.items():
        if not answers:
            continue
        total += 1
        if qid not in predictions:
            continue
        prediction = predictions[qid]
        # Accumulated with += in file order, as the official script does, so sums round identically.
        exact_match += max(normalize_answer(prediction) == normalize_answer(answer) for answer in answers)
        f1 += max(_v1_f1(prediction, answer) for answer in answers)
    if total == 0:
        raise DocqaError("cannot compute SQuAD 1.1 metrics: no answerable questions")
    return SquadV1Metrics(100.0 * exact_match / total, 100.0 * f1 / total, total)


@dataclass(frozen=True)
class ThresholdSweep:
    """Exact match and F1 (percent) for every no-answer threshold, from span predictions and ``na_probs``.

    At threshold ``t`` a question is predicted unanswerable when ``na_prob > t``, otherwise its best span is
    the prediction. ``thresholds`` holds one point below every score (all unanswerable), then each distinct
    ``na_prob`` value in increasing order; the metric is a step function between them.
    """

    thresholds: np.ndarray
    exact: np.ndarray
    f1: np.ndarray

    def at(self, threshold: float) -> tuple[float, float]:
        """``(exact, f1)`` at ``threshold``."""
        index = max(int(np.searchsorted(self.thresholds, threshold, side="right")) - 1, 0)
        return float(self.exact[index]), float(self.f1[index])

    def best(self, metric: str = "f1") -> tuple[float, float]:
        """``(best value, its threshold)`` of ``metric`` ("exact" or "f1"), at the lowest such threshold."""
        values = self.f1 if metric == "f1" else self.exact
        index = int(np.argmax(values))
        return float(values[index]), float(self.thresholds[index])


def threshold_sweep(gold: Gold, span_predictions: Mapping[str, str], na_probs: Mapping[str, float]) -> ThresholdSweep:
    """Sweep the no-answer threshold over every value in ``na_probs`` (see :class:`ThresholdSweep`).

    Unlike :func:`find_best_threshold` it knows each question's best span even where the reader answered
    ``""``, so it covers thresholds above the reader's as well as below.
    """
    qids = list(gold)
    if not qids:
        raise DocqaError("cannot sweep thresholds over zero questions")
    raw = raw_scores(gold, span_predictions)
    scores_na = np.array([float(na_probs.get(qid, np.inf)) for qid in qids])
    null_score = np.array([0.0 if gold[qid] else 1.0 for qid in qids])
    order = np.argsort(scores_na, kind="stable")
    values = scores_na[order]
    finite = np.isfinite(values)
    curves = []
    for per_question in (raw.exact, raw.f1):
        answered = np.array([float(per_question[qid]) for qid in qids])[order]
        gain = np.cumsum(np.where(finite, answered - null_score[order], 0.0))
        curves.append(np.concatenate([[0.0], gain]) + null_score.sum())
    # A group of tied scores switches together: keep the last position of each distinct value.
    last_of_group = np.flatnonzero(np.append(values[1:] != values[:-1], True) & finite)
    # "Answer nothing" sits just below the lowest score (5% of the range), so plots keep a useful scale.
    start = values[0] - max(0.05 * (values[finite][-1] - values[0]), 1e-3) if finite[0] else 0.0
    thresholds = np.concatenate([[start], values[last_of_group]])
    positions = np.concatenate([[0], last_of_group + 1])
    exact, f1 = (100.0 * curve[positions] / len(qids) for curve in curves)
    return ThresholdSweep(thresholds, exact, f1)
