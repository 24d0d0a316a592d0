"""`docqa train`: a run over the command line, one-line errors, and a run killed with SIGKILL that resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shared_assets import SQUAD_DEV_HALF
from typer.testing import CliRunner

from docqa.cli import app

runner = CliRunner()
SETTINGS = ["--epochs", "2", "--batch-size", "4", "--grad-acc", "2", "--learning-rate", "1e-3",
            "--max-seq-len", "96", "--doc-stride", "32", "--max-query-length", "24"]  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """One thread: fast for tiny models on a busy machine, and the same arithmetic as the subprocesses below."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def slice_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first two paragraphs of the dev half (answerable and unanswerable questions)."""
    data = json.loads(SQUAD_DEV_HALF.read_text(encoding="utf-8"))
    article = data["data"][0]
    small = {"version": "v2.0", "data": [{**article, "paragraphs": article["paragraphs"][:2]}]}
    path = tmp_path_factory.mktemp("cli-train") / "slice.json"
    path.write_text(json.dumps(small), encoding="utf-8")
    return path


def train_args(base: Path, train: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--base", str(base), "--train", str(train), "--out", str(out), *SETTINGS, *extra]


def weights(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def equal_weights(first: Path, second: Path) -> bool:
    import torch

    a, b = weights(first), weights(second)
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_train_saves_a_reader_and_reports_json(tiny_bert_qa_dir: Path, slice_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, [*train_args(tiny_bert_qa_dir, slice_file, out, "--dev", str(slice_file)), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["mode"] == "squad2" and record["finished"] and len(record["epochs"]) == 2
    assert record == json.loads((out / "docqa_training.json").read_text())
    assert "SQuAD 2.0 mode" in result.stderr and "validation: 17 questions" in result.stderr


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp, good: (tmp / "x.json").write_text('{"data": 3}') and tmp / "x.json", "not a SQuAD file"),
        (lambda tmp, good: tmp / "missing.json", "no such file"),
    ],
)
def test_bad_training_files_fail_in_one_line(
    tiny_bert_qa_dir: Path, slice_file: Path, tmp_path: Path, make: object, message: str
) -> None:
    train = make(tmp_path, slice_file)  # type: ignore[operator]
    result = runner.invoke(app, train_args(tiny_bert_qa_dir, train, tmp_path / "out"))
    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_an_occupied_out_folder_and_a_missing_base_fail_in_one_line(slice_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, train_args(tmp_path / "no-model", slice_file, tmp_path / "out"))
    assert result.exit_code == 1 and "no model directory" in result.stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("x")
    result = runner.invoke(app, train_args(tmp_path / "no-model", slice_file, tmp_path / "busy", "--resume"))
    assert result.exit_code == 1 and "holds no checkpoint" in result.stderr
    assert (tmp_path / "busy" / "keep.txt").exists()


def test_a_killed_run_leaves_a_loadable_checkpoint_and_resumes_to_the_same_weights(
    tiny_bert_qa_dir: Path, slice_file: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForQuestionAnswering

    from docqa import ExtractiveReader

    killed, reference = tmp_path / "killed", tmp_path / "reference"
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    args = [sys.executable, "-m", "docqa", *train_args(tiny_bert_qa_dir, slice_file, killed, "--save-steps", "1")]
    process = subprocess.Popen(args, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = killed / "checkpoints" / "state.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None and not state.exists():
        time.sleep(0.05)
    time.sleep(0.3)  # into the middle of a later step or checkpoint write
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    last = killed / "checkpoints" / json.loads(state.read_text())["last"]
    AutoModelForQuestionAnswering.from_pretrained(last)
    ExtractiveReader(model=str(last), max_seq_len=96, doc_stride=32, max_query_length=24).warm_up()
    resumed = runner.invoke(app, [*train_args(tiny_bert_qa_dir, slice_file, killed, "--save-steps", "1"), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "resumed from" in resumed.stderr
    assert not list(killed.glob("**/.tmp-*"))
    complete = runner.invoke(app, train_args(tiny_bert_qa_dir, slice_file, reference, "--save-steps", "1"))
    assert complete.exit_code == 0, complete.output
    assert equal_weights(killed, reference)
