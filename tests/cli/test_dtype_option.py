"""``--dtype`` on ask, eval, batch, serve and search: it reaches the models (a precision this CPU is told it lacks
is refused by the model's own check, in one line) and a bad name fails before anything loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_assets import SHARED_DIR
from typer.testing import CliRunner

from docqa import hub
from docqa.cli import app
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.pipelines.hybrid import build_hybrid_pipeline

runner = CliRunner()
MODEL = str(SHARED_DIR / "models" / "minilm-l6-squad2-half12")
CONTEXT = "My name is John and I live in Seattle."
REFUSED = "dtype='bfloat16' does not run natively on this CPU"


def _one_line_error(result: object, fragment: str) -> None:
    assert result.exit_code != 0  # type: ignore[attr-defined]
    lines = [line for line in result.stderr.splitlines() if line.strip()]  # type: ignore[attr-defined]
    assert len(lines) == 1 and fragment in lines[0], result.stderr  # type: ignore[attr-defined]


def test_ask_reads_in_the_precision_asked(monkeypatch: pytest.MonkeyPatch, shared_dir: Path) -> None:
    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset({"avx512_bf16"}))
    args = ["ask", "What is my name?", "--context", CONTEXT, "--model", MODEL, "--json"]
    result = runner.invoke(app, [*args, "--dtype", "bfloat16"])
    assert result.exit_code == 0, result.output
    spans = [answer["text"] for answer in json.loads(result.stdout)["answers"] if answer["text"] is not None]
    assert spans[0] == "John"
    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset())
    _one_line_error(runner.invoke(app, [*args, "--dtype", "bfloat16"]), REFUSED)
    _one_line_error(runner.invoke(app, [*args, "--dtype", "half"]), "dtype must be one of 'auto', 'float32'")


def test_eval_and_batch_pass_it_to_the_reader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, squad_dev_half: Path
) -> None:
    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset())
    evaluation = runner.invoke(
        app, ["eval", "squad", str(squad_dev_half), "--model", MODEL, "--limit", "2", "--dtype", "bfloat16"]
    )
    _one_line_error(evaluation, REFUSED)
    records = tmp_path / "in.jsonl"
    records.write_text(json.dumps({"id": "1", "question": "What is my name?", "context": CONTEXT}) + "\n")
    out = tmp_path / "out.jsonl"
    batch = ["batch", str(records), "--out", str(out), "--model", MODEL, "--no-progress"]
    _one_line_error(runner.invoke(app, [*batch, "--dtype", "bfloat16"]), REFUSED)
    _one_line_error(runner.invoke(app, [*batch, "--dtype", "fp8"]), "--dtype must be one of auto, float32")
    assert not out.exists()


def test_serve_refuses_a_bad_name_before_loading_anything() -> None:
    result = runner.invoke(app, ["serve", "--model", "/no/such/model", "--dtype", "fp8"])
    _one_line_error(result, "--dtype must be one of auto, float32, bfloat16, float16, got 'fp8'")


def test_the_hybrid_pipeline_of_search_gives_every_model_the_precision(tmp_path: Path) -> None:
    pipeline = build_hybrid_pipeline(
        InMemoryDocumentStore(), ranker_model="ranker", reader_model="reader", dtype="float16"
    )
    for name in ("query_embedder", "ranker", "reader"):
        assert pipeline.get_component(name).dtype == "float16"
