"""`docqa eval squad`: metrics table / JSON, result files, one-line errors on bad input."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from shared_assets import SQUAD_DEV_HALF as SQUAD
from typer.testing import CliRunner

from docqa.cli.eval import eval_app

runner = CliRunner()


def _official() -> ModuleType:
    """The official SQuAD 2.0 script (tests/evaluation/official_squad_v2.py), an independent oracle."""
    path = Path(__file__).resolve().parents[1] / "evaluation" / "official_squad_v2.py"
    spec = importlib.util.spec_from_file_location("official_squad_v2", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small_squad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 30 questions of the dev-half file (answerable and not), as a SQuAD file of their own."""
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    article = data[0]
    kept, paragraphs = 0, []
    for paragraph in article["paragraphs"]:
        qas = paragraph["qas"][: 30 - kept]
        kept += len(qas)
        paragraphs.append({**paragraph, "qas": qas})
        if kept == 30:
            break
    path = tmp_path_factory.mktemp("squad") / "small.json"
    path.write_text(json.dumps({"version": "v2.0", "data": [{**article, "paragraphs": paragraphs}]}), "utf-8")
    return path


def _eval_json(small_squad: Path, model: Path, *options: str) -> dict[str, Any]:
    result = runner.invoke(eval_app, ["squad", str(small_squad), "--model", str(model), "--json", *options])
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


@pytest.mark.parametrize("threshold", ["0", "-1.5", "2.25"])
def test_cli_numbers_equal_the_official_script(
    small_squad: Path, tiny_bert_qa_dir: Path, tmp_path: Path, threshold: str
) -> None:
    out = tmp_path / "out"
    payload = _eval_json(small_squad, tiny_bert_qa_dir, "--no-answer-threshold", threshold, "--output", str(out))
    predictions = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
    na_probs = json.loads((out / "na_probs.json").read_text(encoding="utf-8"))
    dataset = json.loads(small_squad.read_text(encoding="utf-8"))["data"]
    # the official --na-prob-thresh of a reader threshold t is -t (na_prob = null score - best span score)
    official = dict(_official().evaluate_v2(dataset, predictions, na_probs, 0.0 - float(threshold)))
    # the same numbers, the official search's two thresholds given in --no-answer-threshold units (one unit)
    expected = {k: v for k, v in official.items() if not k.endswith("_thresh")}
    expected |= {f"best_{m}_no_answer_threshold": 0.0 - official[f"best_{m}_thresh"] for m in ("exact", "f1")}
    assert payload["metrics"] == expected
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8"))["metrics"] == expected
    assert payload["no_answer_threshold"] == float(threshold)


def test_the_advised_threshold_reproduces_the_reported_best_score(small_squad: Path, tiny_bert_qa_dir: Path) -> None:
    first = _eval_json(small_squad, tiny_bert_qa_dir)
    best = first["best"]
    # the sweep tries every threshold, the official search only those answering fewer questions
    assert best["f1"] >= first["metrics"]["best_f1"] - 1e-9 and best["f1"] >= first["metrics"]["f1"] - 1e-9
    for metric in ("f1", "exact"):
        threshold = best[f"{metric}_no_answer_threshold"]
        again = _eval_json(small_squad, tiny_bert_qa_dir, "--no-answer-threshold", repr(threshold))
        assert again["metrics"][metric] == pytest.approx(best[metric], abs=1e-9)
        assert again["no_answer_threshold"] == threshold
    table = runner.invoke(eval_app, ["squad", str(small_squad), "--model", str(tiny_bert_qa_dir)])
    flat = " ".join(table.stdout.split())
    assert f"best F1 (%), at --no-answer-threshold {best['f1_no_answer_threshold']!r} │ {best['f1']:.4f}" in flat
    assert "no-answer score" not in flat  # one unit: no row in the official na_prob units


@pytest.mark.parametrize("option", ["--report", "--out"])
def test_a_file_where_a_folder_is_wanted_is_named(
    small_squad: Path, tiny_bert_qa_dir: Path, tmp_path: Path, option: str
) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me", encoding="utf-8")
    result = runner.invoke(eval_app, ["squad", str(small_squad), "--model", str(tiny_bert_qa_dir), option, str(a_file)])
    _assert_one_line_failure(result, f"{option} must be a directory", "a_file")
    assert a_file.read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_result_files_respect_the_umask(small_squad: Path, tiny_bert_qa_dir: Path, tmp_path: Path, umask: int) -> None:
    out, report = tmp_path / "out", tmp_path / "report"
    previous = os.umask(umask)
    try:
        result = runner.invoke(
            eval_app,
            [
                "squad",
                str(small_squad),
                "--model",
                str(tiny_bert_qa_dir),
                "--limit",
                "4",
                "--output",
                str(out),
                "--report",
                str(report),
            ],
        )
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    files = [*out.iterdir(), *report.iterdir()]
    assert len(files) == 5
    assert {path.name: path.stat().st_mode & 0o777 for path in files} == {path.name: 0o666 & ~umask for path in files}


def test_json_output_and_files(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        eval_app,
        [
            "squad",
            str(SQUAD),
            "--model",
            str(tiny_bert_qa_dir),
            "--limit",
            "6",
            "--json",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["metrics"]["total"] == 6
    assert payload["questions"] == payload["passages"] == 6
    assert payload["questions_per_second"] > 0
    predictions = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
    na_probs = json.loads((out / "na_probs.json").read_text(encoding="utf-8"))
    assert len(predictions) == len(na_probs) == 6
    assert {"best_exact", "best_exact_no_answer_threshold", "best_f1", "best_f1_no_answer_threshold"} <= set(
        payload["metrics"]
    )
    assert not {"best_exact_thresh", "best_f1_thresh"} & set(payload["metrics"])
    assert set(payload["best"]) == {"f1", "f1_no_answer_threshold", "exact", "exact_no_answer_threshold"}


def test_table_and_report(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = runner.invoke(
        eval_app,
        [
            "squad",
            str(SQUAD),
            "-m",
            str(tiny_bert_qa_dir),
            "--limit",
            "8",
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    # The first 8 questions of the file: 5 answerable, 3 not, so every row of the table is there.
    for label in (
        "exact match",
        "F1 (%)",
        "answerable: exact",
        "unanswerable: F1",
        "best F1",
        "best exact",
        "passages / s",
        "questions / s",
    ):
        assert label in result.stdout
    assert sorted(p.name for p in report.iterdir()) == ["no_answer_scores.png", "threshold_sweep.png"]


def test_open_domain_with_a_saved_store(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    from docqa.document_stores.in_memory import InMemoryDocumentStore
    from docqa.schema import Document

    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    store = InMemoryDocumentStore()
    store.write_documents([Document(p["context"]) for p in data[0]["paragraphs"][:4]])
    store.save(tmp_path / "store")
    result = runner.invoke(
        eval_app,
        [
            "squad",
            str(SQUAD),
            "-m",
            str(tiny_bert_qa_dir),
            "--limit",
            "3",
            "--store",
            str(tmp_path / "store"),
            "--retriever-top-k",
            "2",
            "--json",
        ],
    )
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
    _assert_one_line_failure(result, f"error: no model directory at {tmp_path / 'no-model'}")


def test_model_without_a_question_answering_head_is_refused(minilm_model: str) -> None:
    result = runner.invoke(eval_app, ["squad", str(SQUAD), "--model", minilm_model, "--limit", "2"])
    _assert_one_line_failure(result, f"error: {minilm_model} has no question-answering head (qa_outputs missing)")
    assert "LOAD REPORT" not in result.output


def test_store_must_exist(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        eval_app,
        [
            "squad",
            str(SQUAD),
            "--model",
            str(tiny_bert_qa_dir),
            "--store",
            str(tmp_path / "no-store"),
        ],
    )
    _assert_one_line_failure(result, "no-store")
