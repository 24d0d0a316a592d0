"""run_batch_file: order, flushing, resuming and the summary, with any processor of the records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from docqa.batch import BatchEngine, read_batch_input, run_batch_file
from docqa.batch.runner import completed_keys
from docqa.errors import RequestError


def write_records(path: Path, count: int) -> Path:
    lines = [json.dumps({"id": i, "input_string": f"text {i} [MASK]."}) for i in range(count)]
    path.write_text("\n".join([*lines[:3], "{broken", *lines[3:]]) + "\n", encoding="utf-8")
    return path


class Recorder:
    """A processor that answers each record with its text and remembers the chunks it was given."""

    def __init__(self, out: Path | None = None) -> None:
        self.chunks: list[list[Any]] = []
        self.out = out
        self.lines_seen: list[int] = []

    def __call__(self, records: Sequence[dict[str, Any]], engine: BatchEngine) -> list[dict[str, Any]]:
        self.chunks.append([record["id"] for record in records])
        if self.out is not None:  # what an observer sees on disk while this chunk runs
            self.lines_seen.append(len(self.out.read_text(encoding="utf-8").splitlines()))
        return [{"id": record["id"], "echo": record["input_string"]} for record in records]


def test_lines_in_input_order_flushed_chunk_by_chunk(tmp_path: Path) -> None:
    batch_input = read_batch_input(write_records(tmp_path / "in.jsonl", 7), "fill-mask")
    out = tmp_path / "out.jsonl"
    processor = Recorder(out)
    summary = run_batch_file(batch_input, out, BatchEngine("fill-mask"), chunk_size=3, progress=False,
                             processor=processor)  # fmt: skip
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line.get("id") for line in lines] == [0, 1, 2, None, 3, 4, 5, 6]
    assert lines[3]["line"] == 4 and lines[1] == {"id": 1, "echo": "text 1 [MASK]."}
    assert processor.chunks == [[0, 1, 2], [3, 4], [5, 6]]  # the bad line takes a place in its chunk
    assert processor.lines_seen == [0, 3, 6]  # earlier chunks are on disk before the next one runs
    assert (summary.done, summary.skipped, summary.failed) == (8, 0, 1)


def test_resume_skips_done_ids_and_drops_a_cut_last_line(tmp_path: Path) -> None:
    batch_input = read_batch_input(write_records(tmp_path / "in.jsonl", 5), "fill-mask")
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": 0, "echo": "x"}\n{"id": 4, "echo": "y"}\n{"id": 2, "ec', encoding="utf-8")
    assert completed_keys(out) == {"id:0", "id:4"} and out.read_text(encoding="utf-8").endswith("}\n")
    processor = Recorder()
    summary = run_batch_file(batch_input, out, BatchEngine("fill-mask"), resume=True, progress=False,
                             processor=processor)  # fmt: skip
    assert processor.chunks == [[1, 2, 3]]
    assert [json.loads(line).get("id") for line in out.read_text(encoding="utf-8").splitlines()] == [
        0,
        4,
        1,
        2,
        None,
        3,
    ]
    assert (summary.done, summary.skipped, summary.failed) == (4, 2, 1)


def test_resume_refuses_an_output_that_is_not_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": 0}\nnot json\n', encoding="utf-8")
    with pytest.raises(RequestError, match=r"out\.jsonl line 2 is not JSON: cannot resume"):
        completed_keys(out)


def test_progress_bar_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch_input = read_batch_input(write_records(tmp_path / "in.jsonl", 4), "fill-mask")
    run_batch_file(batch_input, tmp_path / "out.jsonl", BatchEngine("fill-mask"), progress=True, processor=Recorder())
    captured = capsys.readouterr()
    assert "5/5" in captured.err and "rec" in captured.err and captured.out == ""


def test_csv_output_resumes_from_its_answered_rows(tmp_path: Path) -> None:
    import csv

    batch_input = read_batch_input(write_records(tmp_path / "in.jsonl", 4), "fill-mask")
    out = tmp_path / "out.csv"

    class Echo(Recorder):
        def __call__(self, records: Sequence[dict[str, Any]], engine: BatchEngine) -> list[dict[str, Any]]:
            super().__call__(records, engine)
            return [{"id": record["id"], "predictions": [{"token_str": record["input_string"]}]} for record in records]

    summary = run_batch_file(batch_input, out, BatchEngine("fill-mask"), progress=False, processor=Echo())
    assert (summary.done, summary.failed) == (5, 1)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == ["0", "1", "2", "", "3"] and rows[3]["line"] == "4" and rows[3]["error"]
    assert json.loads(rows[1]["predictions"]) == [{"token_str": "text 1 [MASK]."}]
    text = out.read_text(encoding="utf-8")
    out.write_text(text[: text.index("\n3,") + 4], encoding="utf-8")  # killed while writing the last row
    again = Echo()
    summary = run_batch_file(batch_input, out, BatchEngine("fill-mask"), resume=True, progress=False, processor=again)
    assert again.chunks == [[3]] and (summary.done, summary.skipped) == (2, 3)  # the bad line runs again too
    with out.open(encoding="utf-8", newline="") as handle:
        assert [row["id"] for row in csv.DictReader(handle)] == ["0", "1", "2", "", "3"]
