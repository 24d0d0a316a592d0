"""docqa's SQuAD metrics checked against the official scripts (tests/evaluation/official_squad_v2.py)."""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import official_squad_v2 as official
import pytest
from shared_assets import SQUAD_DEV_HALF as SQUAD

from docqa.errors import DocqaError
from docqa.evaluation import squad_metrics as sm
from docqa.evaluation.squad_dataset import SquadDataset


@pytest.fixture(scope="module")
def raw_data() -> list[dict[str, Any]]:
    return json.loads(SQUAD.read_text(encoding="utf-8"))["data"]


@pytest.fixture(scope="module")
def gold() -> dict[str, tuple[str, ...]]:
    return SquadDataset.load(SQUAD).gold_answers()


def _contexts(data: list[dict[str, Any]]) -> dict[str, str]:
    return {qa["id"]: p["context"] for article in data for p in article["paragraphs"] for qa in p["qas"]}


def _perturb(text: str, rng: random.Random) -> str:
    """Variants the normalization must see through (or must not): case, articles, punctuation, spaces."""
    choice = rng.randrange(6)
    if choice == 0:
        return text.upper()
    if choice == 1:
        return f"The {text}."
    if choice == 2:
        return "  " + text.replace(" ", " \t ") + " \n"
    if choice == 3:
        return f"({text}!)"
    if choice == 4:
        return f"an {text} a"
    return text.replace("-", " ")


def synthetic_predictions(data: list[dict[str, Any]], gold: dict[str, tuple[str, ...]], seed: int) -> dict[str, str]:
    """A mix of right, near-right, partial, wrong, empty and degenerate predictions."""
    rng = random.Random(seed)
    contexts = _contexts(data)
    predictions = {}
    for qid, answers in gold.items():
        context_tokens = contexts[qid].split()
        start = rng.randrange(len(context_tokens))
        random_span = " ".join(context_tokens[start : start + rng.randint(1, 6)])
        target = rng.choice(answers) if answers else random_span
        tokens = target.split()
        options = [
            target,
            _perturb(target, rng),
            " ".join(tokens[: max(1, len(tokens) // 2)]),
            f"{target} {random_span}",
            random_span,
            "",
            rng.choice([" ", ".", "the", "A", "?!", "an the"]),
        ]
        predictions[qid] = rng.choices(options, weights=[3, 3, 2, 2, 3, 3, 1])[0]
    return predictions


def synthetic_na_probs(qids: list[str], seed: int, ties: bool = True) -> dict[str, float]:
    rng = random.Random(seed + 1000)
    if ties:
        return {qid: round(rng.uniform(-2.0, 2.0), 1) for qid in qids}
    return {qid: rng.uniform(-2.0, 2.0) for qid in qids}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("thresh", [1.0, 0.0, 0.35, -0.5])
def test_v2_metrics_equal_official_with_na_probs(raw_data, gold, seed, thresh) -> None:
    predictions = synthetic_predictions(raw_data, gold, seed)
    na_probs = synthetic_na_probs(list(gold), seed)
    expected = official.evaluate_v2(raw_data, predictions, na_probs, thresh)
    actual = sm.squad_v2_metrics(gold, predictions, na_probs, na_prob_thresh=thresh).to_dict()
    assert list(actual) == list(expected)
    assert actual == dict(expected)  # exact float equality: same sums in the same order


@pytest.mark.parametrize("seed", [3, 4])
def test_v2_metrics_equal_official_without_na_probs(raw_data, gold, seed) -> None:
    predictions = synthetic_predictions(raw_data, gold, seed)
    expected = official.evaluate_v2(raw_data, predictions)
    actual = sm.squad_v2_metrics(gold, predictions).to_dict()
    assert actual == dict(expected)
    assert "best_f1" not in actual


def test_perfect_and_all_empty_predictions(raw_data, gold) -> None:
    perfect = {qid: answers[0] if answers else "" for qid, answers in gold.items()}
    metrics = sm.squad_v2_metrics(gold, perfect)
    assert (metrics.exact, metrics.f1) == (100.0, 100.0)
    empty = {qid: "" for qid in gold}
    metrics = sm.squad_v2_metrics(gold, empty)
    assert metrics.has_answer is not None and metrics.no_answer is not None
    assert (metrics.has_answer.exact, metrics.no_answer.exact) == (0.0, 100.0)
    assert metrics.exact == 100.0 * metrics.no_answer.total / metrics.total
    assert metrics.to_dict() == dict(official.evaluate_v2(raw_data, empty))


def test_missing_predictions_count_as_empty(raw_data, gold, capsys) -> None:
    predictions = synthetic_predictions(raw_data, gold, seed=5)
    na_probs = synthetic_na_probs(list(gold), seed=5)
    rng = random.Random(5)
    dropped = rng.sample(sorted(gold), 400)
    partial = {qid: text for qid, text in predictions.items() if qid not in dropped}
    partial_na = {qid: p for qid, p in na_probs.items() if qid not in dropped}
    filled = {**partial, **dict.fromkeys(dropped, "")}
    filled_na = {**partial_na, **{qid: rng.uniform(-3, 3) for qid in dropped}}  # any value: "" scores alike
    expected = official.evaluate_v2(raw_data, filled, filled_na, 0.2)
    actual = sm.squad_v2_metrics(gold, partial, partial_na, na_prob_thresh=0.2).to_dict()
    assert actual == dict(expected)
    assert actual["total"] == len(gold)
    # The official script itself cannot score them: it skips them and then fails on the HasAns split.
    with pytest.raises(KeyError):
        official.evaluate_v2(raw_data, partial, partial_na, 0.2)
    capsys.readouterr()


def test_na_probs_must_cover_predicted_questions(gold) -> None:
    qids = list(gold)[:5]
    subset = {qid: gold[qid] for qid in qids}
    with pytest.raises(DocqaError, match=qids[2]):
        sm.squad_v2_metrics(subset, dict.fromkeys(qids, "x"), {q: 0.0 for q in qids if q != qids[2]})


def test_v1_metrics_equal_official_on_answerable_questions(raw_data, gold, capsys) -> None:
    answerable = [
        {
            **article,
            "paragraphs": [{**p, "qas": [qa for qa in p["qas"] if qa["answers"]]} for p in article["paragraphs"]],
        }
        for article in raw_data
    ]
    for seed in (6, 7):
        predictions = synthetic_predictions(raw_data, gold, seed)
        for qid in random.Random(seed).sample(sorted(predictions), 50):
            del predictions[qid]  # v1.1 scores missing answers as 0
        expected = official.evaluate_v1(answerable, predictions)
        actual = sm.squad_v1_metrics(gold, predictions)
        assert (actual.exact_match, actual.f1) == (expected["exact_match"], expected["f1"])
        assert actual.total == sum(1 for answers in gold.values() if answers)
    capsys.readouterr()


NORMALIZATION_CASES = [
    ("The Eiffel Tower", "eiffel tower"),
    ("  the   EIFFEL\ttower\n", "eiffel tower"),
    ("An apple a day", "apple day"),
    ("theater and anthem", "theater and anthem"),  # articles only as whole words
    ("a-b c.d", "ab cd"),  # punctuation removed, not replaced by a space
    ("the-the", "thethe"),
    ("A", ""),
    ("...", ""),
    ("“smart” quotes — dash", "“smart” quotes — dash"),  # only ASCII punctuation is removed
    ("Ünïcödé ÉCOLE", "ünïcödé école"),
    ("1,000,000", "1000000"),
    ("the (a) an", ""),
    ("The\u00a0Tower", "tower"),  # non-breaking space is whitespace to str.split
]


@pytest.mark.parametrize(("text", "normalized"), NORMALIZATION_CASES)
def test_normalize_answer(text: str, normalized: str) -> None:
    assert sm.normalize_answer(text) == normalized == official.normalize_answer(text)


PAIR_CASES = [
    ("Eiffel Tower", "the eiffel tower!"),
    ("Eiffel Tower", "tower"),
    ("", ""),
    ("", "the"),
    ("", "something"),
    ("a", ""),
    ("the cat sat", "cat cat sat"),
    ("1,000", "1000 people"),
    ("Denmark, Iceland and Norway", "Norway, Denmark"),
    ("x", " "),
]


@pytest.mark.parametrize(("gold_text", "prediction"), PAIR_CASES)
def test_exact_and_f1_pairs(gold_text: str, prediction: str) -> None:
    assert sm.compute_exact(gold_text, prediction) == official.compute_exact(gold_text, prediction)
    assert sm.compute_f1(gold_text, prediction) == official.compute_f1(gold_text, prediction)


def test_f1_hand_computed() -> None:
    # gold tokens [cat, sat], prediction [cat, cat, sat]: overlap 2, precision 2/3, recall 1 -> F1 0.8
    assert sm.compute_f1("the cat sat", "cat cat sat") == pytest.approx(0.8)
    assert sm.compute_f1("", "the") == 1.0  # both normalize to nothing
    assert sm.compute_f1("", "x") == 0.0


def test_several_gold_answers_take_the_best() -> None:
    gold = {"q": ("Denmark", "Denmark and Norway", "the"), "n": ()}
    metrics = sm.squad_v2_metrics(gold, {"q": "norway", "n": "."}).to_dict()
    # "the" normalizes to nothing and is dropped from the golds; the best F1 is against "Denmark and Norway"
    data = [
        {
            "paragraphs": [
                {
                    "qas": [
                        {"id": "q", "answers": [{"text": t} for t in gold["q"]]},
                        {"id": "n", "answers": []},
                    ]
                }
            ]
        }
    ]
    assert metrics == dict(official.evaluate_v2(data, {"q": "norway", "n": "."}))
    assert metrics["HasAns_f1"] == pytest.approx(50.0)
    assert metrics["NoAns_exact"] == 100.0  # "." normalizes to the empty answer


def test_threshold_sweep_matches_official_at_every_threshold(raw_data) -> None:
    raw_data = raw_data[:3]  # a few articles: the oracle runs once per threshold
    gold = SquadDataset.from_json({"data": raw_data}).gold_answers()
    predictions = synthetic_predictions(raw_data, gold, seed=8)
    span_predictions = {q: text if sm.normalize_answer(text) else "span" for q, text in predictions.items()}
    na_probs = synthetic_na_probs(list(gold), seed=8, ties=False)
    sweep = sm.threshold_sweep(gold, span_predictions, na_probs)
    assert np.all(np.diff(sweep.thresholds) > 0)
    for threshold in [*random.Random(8).sample(list(sweep.thresholds), 5), sweep.thresholds[0], 5.0]:
        expected = official.evaluate_v2(raw_data, span_predictions, na_probs, float(threshold))
        exact, f1 = sweep.at(float(threshold))
        assert exact == pytest.approx(expected["exact"], abs=1e-9)
        assert f1 == pytest.approx(expected["f1"], abs=1e-9)
    # Without ties and with non-empty spans, its best point is the official best-threshold search's, given
    # predictions good enough that "answer nothing" is not the best (the official script reports 0.0 then).
    span_predictions = {qid: answers[0] if answers else "span" for qid, answers in gold.items()}
    na_probs = {qid: p + (0.0 if gold[qid] else 1.5) for qid, p in na_probs.items()}
    sweep = sm.threshold_sweep(gold, span_predictions, na_probs)
    expected = official.evaluate_v2(raw_data, span_predictions, na_probs)
    best_f1, best_f1_thresh = sweep.best("f1")
    best_exact, best_exact_thresh = sweep.best("exact")
    assert best_f1 == pytest.approx(expected["best_f1"], abs=1e-9)
    assert best_f1_thresh == expected["best_f1_thresh"]
    assert best_exact == pytest.approx(expected["best_exact"], abs=1e-9)
    assert best_exact_thresh == expected["best_exact_thresh"]


def test_threshold_sweep_groups_ties() -> None:
    gold = {"a": ("x",), "b": (), "c": ("z",)}
    sweep = sm.threshold_sweep(gold, {"a": "x", "b": "y", "c": "z"}, {"a": 0.5, "b": 0.5, "c": 1.0})
    assert list(sweep.thresholds) == [pytest.approx(0.475), 0.5, 1.0]
    # all null: only b right; at 0.5 a and b answer (a right, b wrong); at 1.0 a and c right
    assert list(sweep.exact) == pytest.approx([100 / 3, 100 / 3, 200 / 3])
