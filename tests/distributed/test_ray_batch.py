"""``docqa batch --ray`` on a local Ray (2 CPUs; 2 actors, then 1) writes exactly the lines of the local run, error
lines and ``--resume`` included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from docqa.batch import EngineConfig, read_batch_input

runner = CliRunner()
CONTEXTS = [
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.",
    "The 1973 oil crisis began in October 1973 when the members of OAPEC proclaimed an oil embargo.",
    "Warsaw is the capital and largest city of Poland, on the Vistula River in east-central Poland.",
]
QUESTIONS = ["Who gave their name to Normandy?", "When did the crisis begin?", "What is the capital of Poland?",
             "Which river runs through Warsaw?", "Who proclaimed an embargo?"]  # fmt: skip


def _input(path: Path) -> Path:
    """Fourteen records: mixed id types, an invalid JSON line, a record without a question, one without context."""
    lines = [json.dumps({"id": i if i % 3 else f"q{i}", "question": QUESTIONS[i % 5], "context": CONTEXTS[i % 3]})
             for i in range(11)]  # fmt: skip
    lines.insert(4, "{not json")
    lines.insert(7, json.dumps({"id": "no-question", "context": CONTEXTS[0]}))
    lines.append(json.dumps({"id": "no-context", "question": QUESTIONS[0]}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _same(ray_lines: list[dict[str, Any]], local_lines: list[dict[str, Any]]) -> None:
    assert len(ray_lines) == len(local_lines)
    for got, expected in zip(ray_lines, local_lines, strict=True):
        if "score" in expected:
            assert got == {**expected, "score": pytest.approx(expected["score"], abs=1e-5)}
        else:
            assert got == expected


def test_cli_batch_ray_equals_the_local_run(local_ray: Any, tmp_path: Path, tiny_bert_qa_dir: Path) -> None:
    from docqa.cli import app

    source = _input(tmp_path / "in.jsonl")
    args = ["batch", str(source), "-m", str(tiny_bert_qa_dir), "--batch-size", "4", "--json"]
    local = runner.invoke(app, [*args, "--out", str(tmp_path / "local.jsonl")])
    assert local.exit_code == 3, local.output  # all written, three records failed
    distributed = runner.invoke(app, [*args, "--out", str(tmp_path / "ray.jsonl"), "--ray", "--ray-actors", "2"])
    assert distributed.exit_code == 3, distributed.output
    local_lines, ray_lines = _lines(tmp_path / "local.jsonl"), _lines(tmp_path / "ray.jsonl")
    _same(ray_lines, local_lines)
    errors = [line for line in ray_lines if "error" in line]
    assert [line["id"] for line in errors] == [None, "no-question", "no-context"] and errors[0]["line"] == 5
    assert sum("answer" in line for line in ray_lines) == 11
    summary = json.loads(distributed.stdout)
    assert (summary["done"], summary["failed"]) == (14, 3)


def test_ray_batch_resumes_where_the_output_stops(local_ray: Any, tmp_path: Path, tiny_bert_qa_dir: Path) -> None:
    from docqa.batch import build_engine, run_batch_file
    from docqa.distributed import ray_batch

    batch_input = read_batch_input(_input(tmp_path / "in.jsonl"), "qa")
    config = EngineConfig("qa", str(tiny_bert_qa_dir))
    full = tmp_path / "full.jsonl"
    run_batch_file(batch_input, full, build_engine(config), chunk_size=4, progress=False)
    partial = tmp_path / "partial.jsonl"
    kept = full.read_text(encoding="utf-8").splitlines(keepends=True)
    partial.write_text("".join(kept[:6]) + kept[6][:10], encoding="utf-8")  # a run killed mid-line
    summary = ray_batch(batch_input, partial, config, resume=True, actors=1, batch_size=3)
    assert (summary.done, summary.skipped) == (9, 5)  # the error line among the first six runs again
    # the same lines, the error line now after those kept from the first run
    _same(sorted(_lines(partial), key=json.dumps), sorted(_lines(full), key=json.dumps))
