"""evaluate_reader end to end with a tiny random-weights reader: files, oracle metrics, thresholds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import official_squad_v2 as official
import pytest
from shared_assets import SQUAD_DEV_HALF as SQUAD
from squad_eval_helpers import LIMIT, make_reader

from docqa.errors import ComponentError, ConversionError, DocqaError
from docqa.evaluation.squad_dataset import SquadDataset
from docqa.evaluation.squad_eval import (
    UNANSWERABLE_SCORE,
    EvalResult,
    evaluate_reader,
    prediction_from_answers,
)
from docqa.schema import Answer, Document


def first_questions_data(limit: int) -> list[dict[str, Any]]:
    """The file's "data" cut to its first ``limit`` questions, for the official oracle."""
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    left = limit
    kept = []
    for article in data:
        paragraphs = []
        for paragraph in article["paragraphs"]:
            qas = paragraph["qas"][: max(left, 0)]
            left -= len(qas)
            if qas:
                paragraphs.append({**paragraph, "qas": qas})
        if paragraphs:
            kept.append({**article, "paragraphs": paragraphs})
    return kept


@pytest.fixture
def run(tiny_eval_run: tuple[EvalResult, Path]) -> tuple[EvalResult, Path]:
    return tiny_eval_run


def test_writes_official_format_files(run) -> None:
    _, out = run
    predictions = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
    na_probs = json.loads((out / "na_probs.json").read_text(encoding="utf-8"))
    expected_qids = [q.qid for q in SquadDataset.load(SQUAD).questions()][:LIMIT]
    assert list(predictions) == expected_qids
    assert list(na_probs) == expected_qids
    assert all(isinstance(text, str) for text in predictions.values())
    assert all(isinstance(score, float) for score in na_probs.values())
    contexts = {q.qid: p.context for p in SquadDataset.load(SQUAD).paragraphs for q in p.questions}
    for qid, text in predictions.items():
        assert text in contexts[qid]  # reader-only mode: every answer comes from the gold paragraph
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["metrics"]["total"] == LIMIT
    assert metrics["passages"] == LIMIT  # one gold paragraph per question
    assert not list(out.glob("*.tmp"))


def test_metrics_equal_the_official_script_on_the_written_files(run) -> None:
    result, out = run
    predictions = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
    na_probs = json.loads((out / "na_probs.json").read_text(encoding="utf-8"))
    expected = official.evaluate_v2(first_questions_data(LIMIT), predictions, na_probs, result.na_prob_thresh)
    assert result.metrics.to_dict() == dict(expected)
    # With the reader's default threshold 0, the official default --na-prob-thresh 1.0 changes nothing either.
    assert dict(official.evaluate_v2(first_questions_data(LIMIT), predictions, na_probs)) == dict(expected)


def test_no_answer_decisions_follow_the_scores(run) -> None:
    result, _ = run
    for qid, text in result.predictions.items():
        predicted_no_answer = result.na_probs[qid] > result.na_prob_thresh
        assert (text == "") == predicted_no_answer
        if not predicted_no_answer:
            assert text == result.span_predictions[qid] != ""
    exact, f1 = result.sweep().at(result.na_prob_thresh)
    assert exact == pytest.approx(result.metrics.exact)
    assert f1 == pytest.approx(result.metrics.f1)


def test_moving_the_threshold_moves_predictions_consistently(run, tiny_bert_qa_dir: Path) -> None:
    base, _ = run
    margins = sorted(0.0 - score for score in base.na_probs.values())
    # Thresholds between observed margins, so that each step changes some decisions.
    low, high = margins[len(margins) // 4] - 1e-6, margins[3 * len(margins) // 4] - 1e-6
    results = [
        evaluate_reader(make_reader(tiny_bert_qa_dir, threshold), SQUAD, limit=LIMIT, progress=False)
        for threshold in (low, high)
    ]
    unanswered = [{qid for qid, text in r.predictions.items() if text == ""} for r in results]
    assert unanswered[0] < unanswered[1]  # a higher threshold refuses strictly more questions here
    assert len(unanswered[1]) - len(unanswered[0]) == sum(1 for m in margins if low <= m < high)
    for result, threshold in zip(results, (low, high), strict=True):
        assert result.na_probs == pytest.approx(base.na_probs)
        assert result.na_prob_thresh == 0.0 - threshold
        assert result.span_predictions == base.span_predictions  # the best span is kept when refusing
        assert all(result.span_predictions.values())
        for qid, text in result.predictions.items():
            assert text in ("", base.span_predictions[qid])
            assert (text == "") == (result.na_probs[qid] > 0.0 - threshold)


def test_open_domain_retrieves_from_all_paragraphs(tiny_bert_qa_dir: Path) -> None:
    result = evaluate_reader(
        make_reader(tiny_bert_qa_dir), SQUAD, open_domain=True, retriever_top_k=3, limit=10, progress=False
    )
    assert result.open_domain
    assert result.num_questions == 10
    assert result.num_passages == 30
    articles = "\n".join(article.content for article in SquadDataset.load(SQUAD).articles())
    assert all(text in articles for text in result.span_predictions.values())
    expected = official.evaluate_v2(
        first_questions_data(10), result.predictions, result.na_probs, result.na_prob_thresh
    )
    assert result.metrics.to_dict() == dict(expected)


def test_open_domain_with_a_given_store(tiny_bert_qa_dir: Path) -> None:
    from docqa.document_stores.in_memory import InMemoryDocumentStore

    paragraphs = SquadDataset.load(SQUAD).paragraphs[:3]
    store = InMemoryDocumentStore()
    store.write_documents([Document(p.context, meta={"title": p.title}) for p in paragraphs])
    result = evaluate_reader(
        make_reader(tiny_bert_qa_dir),
        SQUAD,
        open_domain=True,
        store=store,
        retriever_top_k=2,
        limit=6,
        progress=False,
    )
    assert 0 < result.num_passages <= 12
    for text in result.span_predictions.values():
        assert any(text in p.context for p in paragraphs)  # only the store's paragraphs were read


def _answer(text: str | None, score: float, margin: float | None = None) -> Answer:
    meta = {"no_answer_margin": margin} if text is None else {}
    return Answer(query="q", text=text, score=score, probability=0.1, document=Document("d"), meta=meta)


def test_prediction_from_answers() -> None:
    answered = prediction_from_answers([_answer("Paris", 3.0), _answer(None, 1.0, 2.0), _answer("Rome", 0.5)])
    assert (answered.text, answered.span_text, answered.na_prob) == ("Paris", "Paris", -2.0)
    refused = prediction_from_answers([_answer(None, 4.0, -1.0), _answer("Paris", 3.0)])
    assert (refused.text, refused.span_text, refused.na_prob) == ("", "Paris", 1.0)
    nothing = prediction_from_answers([_answer(None, 0.0, None)])
    assert (nothing.text, nothing.span_text, nothing.na_prob) == ("", "", UNANSWERABLE_SCORE)
    with pytest.raises(ComponentError, match="no_answer=True"):
        prediction_from_answers([_answer("Paris", 3.0)])


def test_bad_inputs_raise_one_line_errors(tmp_path: Path, tiny_bert_qa_dir: Path) -> None:
    reader = make_reader(tiny_bert_qa_dir)
    with pytest.raises(ConversionError, match="no such file"):
        evaluate_reader(reader, tmp_path / "missing.json", progress=False)
    not_squad = tmp_path / "not_squad.json"
    not_squad.write_text('{"rows": []}', encoding="utf-8")
    with pytest.raises(ConversionError, match="not a SQuAD file"):
        evaluate_reader(reader, not_squad, progress=False)
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [', encoding="utf-8")
    with pytest.raises(ConversionError, match="not valid JSON"):
        evaluate_reader(reader, broken, progress=False)
    with pytest.raises(ComponentError, match="open_domain"):
        evaluate_reader(reader, SQUAD, store=object(), progress=False)
    with pytest.raises(DocqaError, match="limit"):
        evaluate_reader(reader, SQUAD, limit=0, progress=False)
