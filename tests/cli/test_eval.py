"""`docqa eval squad`: metrics table / JSON, result files, one-line errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

from shared_assets import SQUAD_DEV_HALF as SQUAD
from typer.testing import CliRunner

from docqa.cli.eval import eval_app

runner = CliRunner()


def test_json_output_and_files(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(eval_app, [
        "squad", str(SQUAD), "--model", str(tiny_bert_qa_dir), "--limit", "6", "--json", "--output", str(out),
    ])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["metrics"]["total"] == 6
    assert payload["questions"] == payload["passages"] == 6
    assert payload["questions_per_second"] > 0
    predictions = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
    na_probs = json.loads((out / "na_probs.json").read_text(encoding="utf-8"))
    assert len(predictions) == len(na_probs) == 6
    assert {"best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh"} <= set(payload["metrics"])


def test_table_and_report(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = runner.invoke(eval_app, [
        "squad", str(SQUAD), "-m", str(tiny_bert_qa_dir), "--limit", "8", "--report", str(report),
    ])
    assert result.exit_code == 0, result.output
    # The first 8 questions of the file: 5 answerable, 3 not, so every row of the table is there.
    for label in ("exact match", "F1 (%)", "answerable: exact", "unanswerable: F1", "best F1", "best exact",
                  "passages / s", "questions / s"):
        assert label in result.stdout
    assert sorted(p.name for p in report.iterdir()) == ["no_answer_scores.png", "threshold_sweep.png"]


def test_open_domain_with_a_saved_store(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    from docqa.document_stores.in_memory import InMemoryDocumentStore
    from docqa.schema import Document

    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    store = InMemoryDocumentStore()
    store.write_documents([Document(p["context"]) for p in data[0]["paragraphs"][:4]])
    store.save(tmp_path / "store")
    result = runner.invoke(eval_app, [
        "squad", str(SQUAD), "-m", str(tiny_bert_qa_dir), "--limit", "3", "--store", str(tmp_path / "store"),
        "--retriever-top-k", "2", "--json",
    ])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["open_domain"] is True  # --store implies --open-domain
    assert payload["passages"] == 6


def _assert_one_line_failure(result, *fragments: str) -> None:
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_file(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = runner.invoke(eval_app, ["squad", str(missing), "--model", str(tiny_bert_qa_dir)])
    _assert_one_line_failure(result, "nope.json", "no such file")


def test_not_a_squad_file(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('[{"question": "?"}]', encoding="utf-8")
    result = runner.invoke(eval_app, ["squad", str(bogus), "--model", str(tiny_bert_qa_dir)])
    _assert_one_line_failure(result, "bogus.json", "not a SQuAD file")


def test_model_not_loadable(tmp_path: Path) -> None:
    args = ["squad", str(SQUAD), "--model", str(tmp_path / "no-model"), "--limit", "2"]
    result = runner.invoke(eval_app, args)
    _assert_one_line_failure(result, "no-model")


def test_store_must_exist(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(eval_app, [
        "squad", str(SQUAD), "--model", str(tiny_bert_qa_dir), "--store", str(tmp_path / "no-store"),
    ])
    _assert_one_line_failure(result, "no-store")
