"""``docqa batch``: QA and fill-mask files into JSONL, checked against the components run one record at a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from shared_assets import SHARED_DIR, build_masked_lm
from typer.testing import CliRunner

from docqa.batch import BatchEngine, process_records
from docqa.cli import app
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.fill_mask import FillMask
from docqa.readers import ExtractiveReader
from docqa.schema import Document

runner = CliRunner()
MODEL = str(SHARED_DIR / "models" / "minilm-l6-squad2-half12")
PAIRS = [
    ("What is my name?", "My name is John and I live in Seattle."),
    ("Where do I live?", "My name is Ravi and I live in Hyderabad."),
    ("Who wrote the letter?", "The letter, dated 1861, was written by Abraham Lincoln to his general."),
    ("When was the letter dated?", "The letter, dated 1861, was written by Abraham Lincoln to his general."),
    ("What colour is the sky?", "On clear days the sky looks blue because of Rayleigh scattering of light."),
]


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def reader(shared_dir: Path) -> ExtractiveReader:
    reader = ExtractiveReader(model=MODEL)
    reader.warm_up()
    return reader


@pytest.fixture(scope="module")
def mlm_dir(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    return build_masked_lm("bert", tmp_path_factory.mktemp("batch-mlm"))


def expected_line(reader: ExtractiveReader, record_id: str, question: str, context: str) -> dict[str, Any]:
    """What a per-record loop over the reader gives for one record."""
    best = reader.run(query=question, documents=[Document(context)])["answers"][0]
    span = best.span
    start, end = (span.start, span.end) if span is not None else (None, None)
    return {"id": record_id, "answer": best.text, "score": best.probability, "start": start, "end": end}


def test_qa_with_contexts_equals_a_per_record_loop(tmp_path: Path, reader: ExtractiveReader) -> None:
    records = [{"id": f"q{i}", "question": q, "context": c} for i, (q, c) in enumerate(PAIRS)]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["batch", str(source), "--out", str(out), "-m", MODEL, "--batch-size", "3", "--json"])
    assert result.exit_code == 0, result.output
    lines = read_jsonl(out)
    assert [line["id"] for line in lines] == [r["id"] for r in records]
    for line, (question, context), record in zip(lines, PAIRS, records, strict=True):
        expected = expected_line(reader, record["id"], question, context)
        assert line == {**expected, "score": pytest.approx(expected["score"], abs=1e-6)}
        if line["answer"] is not None:
            assert context[line["start"] : line["end"]] == line["answer"]
    assert json.loads(result.stdout)["done"] == len(records) and json.loads(result.stdout)["failed"] == 0


def test_bad_records_get_an_error_line_and_the_run_goes_on(tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": 1, "question": PAIRS[0][0], "context": PAIRS[0][1]},
            {"id": 2, "question": ""},
            "{not json",
            {"question": "no id", "context": "x"},
            {"id": 3, "question": "No context and no store?"},
            {"id": 1, "question": "again", "context": "x"},
            {"id": 4, "question": PAIRS[1][0], "context": PAIRS[1][1]},
        ],
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["batch", str(source), "--out", str(out), "-m", MODEL, "--json"])
    assert result.exit_code == 3, result.output  # every line written, some records failed
    lines = read_jsonl(out)
    assert [line.get("id") for line in lines] == [1, 2, None, None, 3, 4]  # the duplicate id 1 is not written
    errors = [line["error"] for line in lines if "error" in line]
    assert errors[0] == "line 2: question: must be a non-empty string"
    assert errors[1].startswith("line 3: not valid JSON") and lines[2]["line"] == 3
    assert errors[2] == "line 4: id: field required" and lines[3]["line"] == 4
    assert "no --store or --pipeline" in errors[3]
    assert "error" not in lines[0] and "error" not in lines[-1]
    assert result.stderr.strip() == "warning: line 6: id 1 is already used on line 1: not written"
    assert json.loads(result.stdout) | {"seconds": 0, "records_per_second": 0} == {
        "done": 6,
        "skipped": 0,
        "failed": 4,
        "duplicates": 1,
        "seconds": 0,
        "records_per_second": 0,
    }


def test_resume_runs_the_failed_records_again(tmp_path: Path, reader: ExtractiveReader) -> None:
    records = [{"id": f"q{i}", "question": q, "context": c} for i, (q, c) in enumerate(PAIRS[:3])]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["batch", str(source), "--out", str(out), "-m", MODEL]).exit_code == 0
    answered = read_jsonl(out)
    failed = [answered[0], {"id": "q1", "error": "the model ran out of memory"}, answered[2]]
    for flag in ("--resume", "--retry-errors"):
        write_jsonl(out, failed)  # as a run that failed on q1 leaves it
        result = runner.invoke(app, ["batch", str(source), "--out", str(out), "-m", MODEL, flag, "--json"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert (summary["done"], summary["skipped"], summary["failed"]) == (1, 2, 0)
        assert sorted(read_jsonl(out), key=lambda line: line["id"]) == answered  # the error line is gone


def approx_score(line: dict[str, Any]) -> dict[str, Any]:
    """``line`` with its score compared approximately (the reader batched differently)."""
    return line | {"score": pytest.approx(line["score"])}


def test_csv_in_and_out_and_folders_of_inputs(tmp_path: Path, reader: ExtractiveReader) -> None:
    import csv

    folder = tmp_path / "inputs"
    folder.mkdir()
    with (folder / "a.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "context"])  # the cards' batch input: no id column
        writer.writerows(PAIRS[:2])
    write_jsonl(folder / "b.jsonl", [{"id": "b1", "question": PAIRS[2][0], "context": PAIRS[2][1]}])
    (folder / "notes.md").write_text("not input", encoding="utf-8")
    single = runner.invoke(app, ["batch", str(folder / "a.csv"), "--out", str(tmp_path / "a.jsonl"), "-m", MODEL])
    assert single.exit_code == 0, single.output
    assert read_jsonl(tmp_path / "a.jsonl") == [
        approx_score(expected_line(reader, str(i), q, c)) for i, (q, c) in enumerate(PAIRS[:2])
    ]
    out = folder / "answers.csv"  # in the input folder: never read as input
    result = runner.invoke(app, ["batch", str(folder), "--out", str(out), "-m", MODEL])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.stderr and "notes.md" in result.stderr
    again = runner.invoke(app, ["batch", str(folder), "--out", str(out), "-m", MODEL, "--resume", "--json"])
    assert again.exit_code == 0 and (json.loads(again.stdout)["done"], json.loads(again.stdout)["skipped"]) == (0, 3)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == ["a.csv:0", "a.csv:1", "b1"]
    for row, (question, context) in zip(rows, PAIRS[:3], strict=True):
        expected = expected_line(reader, row["id"], question, context)
        cells = ("" if expected[key] is None else str(expected[key]) for key in ("answer", "start", "end"))
        assert (row["answer"], row["start"], row["end"]) == tuple(cells)  # no answer: empty cells
        assert float(row["score"]) == pytest.approx(expected["score"], abs=1e-6) and row["error"] == ""


def test_input_of_no_known_format_is_one_error(tmp_path: Path) -> None:
    source = tmp_path / "questions.txt"
    source.write_text("question,context\nWho?,Ann.\nWhat?,A thing.\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = runner.invoke(app, ["batch", str(source), "--out", str(out), "-m", MODEL])
    assert result.exit_code == 1 and not out.exists()
    assert result.stderr.startswith(f"error: {source}: not JSON Lines") and "*.csv" in result.stderr
    bad_csv = tmp_path / "q.csv"
    bad_csv.write_text("query,passage\nWho?,Ann.\n", encoding="utf-8")
    result = runner.invoke(app, ["batch", str(bad_csv), "--out", str(out), "-m", MODEL])
    assert result.exit_code == 1 and "needs a 'question' column" in result.stderr and not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["batch", str(empty), "--out", str(out), "-m", MODEL])
    assert result.exit_code == 1 and "no batch input files" in result.stderr


def test_resume_skips_what_is_done_and_repairs_a_cut_line(tmp_path: Path, reader: ExtractiveReader) -> None:
    records = [{"id": f"q{i}", "question": q, "context": c} for i, (q, c) in enumerate(PAIRS)]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    full, partial = tmp_path / "full.jsonl", tmp_path / "partial.jsonl"
    assert runner.invoke(app, ["batch", str(source), "--out", str(full), "-m", MODEL]).exit_code == 0
    done = full.read_text(encoding="utf-8").splitlines(keepends=True)
    partial.write_text("".join(done[:2]) + done[2][:15], encoding="utf-8")  # killed while writing line 3
    refused = runner.invoke(app, ["batch", str(source), "--out", str(partial), "-m", MODEL])
    assert refused.exit_code == 1 and "--resume" in refused.stderr
    resumed = runner.invoke(app, ["batch", str(source), "--out", str(partial), "-m", MODEL, "--resume", "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["skipped"] == 2 and json.loads(resumed.stdout)["done"] == 3
    assert read_jsonl(partial) == read_jsonl(full)


def test_a_request_body_file_answers_in_the_card_format(tmp_path: Path) -> None:
    body = {
        "input_data": {"question": [q for q, _ in PAIRS[:2]], "context": [c for _, c in PAIRS[:2]]},
        "params": {"response_format": "keyed"},
    }
    source = tmp_path / "body.json"
    source.write_text(json.dumps(body, indent=2), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["batch", str(source), "--out", str(out), "-m", MODEL]).exit_code == 0
    assert read_jsonl(out) == [{"id": "0", "0": "John"}, {"id": "1", "0": "Hyderabad"}]
    body["params"] = {"top_k": 1}
    source.write_text(json.dumps(body), encoding="utf-8")
    assert runner.invoke(app, ["batch", str(source), "--out", str(out), "-m", MODEL, "--overwrite"]).exit_code == 0
    first = read_jsonl(out)[0]
    assert (first["id"], first["answer"], first["start"], first["end"]) == ("0", "John", 11, 15)


def test_invalid_body_is_one_line_naming_the_field(tmp_path: Path) -> None:
    source = tmp_path / "body.json"
    source.write_text(json.dumps({"inputs": {"question": ["a", "b"], "context": ["c", ""]}}), encoding="utf-8")
    result = runner.invoke(app, ["batch", str(source), "--out", str(tmp_path / "o.jsonl"), "-m", MODEL])
    assert result.exit_code == 1 and "inputs.context[1]" in result.stderr and "body.json" in result.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_questions_without_context_are_retrieved_from_the_store(tmp_path: Path, reader: ExtractiveReader) -> None:
    store = InMemoryDocumentStore()
    store.write_documents([Document(c, meta={"file_name": f"{i}.txt"}) for i, (_, c) in enumerate(PAIRS[::2])])
    store_dir = store.save(tmp_path / "store")
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "x", "question": "Who wrote the letter dated 1861?"}])
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["batch", str(source), "--out", str(out), "--store", str(store_dir), "-m", MODEL])
    assert result.exit_code == 0, result.output
    (line,) = read_jsonl(out)
    documents = {document.id: document for document in store.filter_documents()}
    assert line["document_id"] in documents or line["answer"] is None
    if line["answer"] is not None:
        assert documents[line["document_id"]].content[line["start"] : line["end"]] == line["answer"]


def test_fill_mask_records_equal_the_component(tmp_path: Path, mlm_dir: Path) -> None:
    texts = ["Paris is the [MASK] of France.", "The [MASK] saw the [MASK].", "no mask", "<mask> mapped."]
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "input_string": t} for i, t in enumerate(texts)])
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "--out", str(out), "--task", "fill-mask", "-m", str(mlm_dir), "-k", "3"]
    assert runner.invoke(app, args).exit_code == 3  # the text without a mask failed
    lines = read_jsonl(out)
    expected = FillMask(model=str(mlm_dir), top_k=3).predict([texts[i] for i in (0, 1, 3)])
    for line, per_mask in zip([lines[0], lines[1], lines[3]], expected, strict=True):
        found = line["predictions"] if len(per_mask) > 1 else [line["predictions"]]
        assert len(found) == len(per_mask)
        for candidates, predictions in zip(found, per_mask, strict=True):
            assert [(c["token"], c["token_str"], c["sequence"]) for c in candidates] == [
                (p.token, p.token_str, p.sequence) for p in predictions
            ]
            assert [c["score"] for c in candidates] == pytest.approx([p.score for p in predictions], abs=1e-6)
    assert lines[2] == {"id": 2, "error": "input_string has no mask token: write [MASK] where the word to predict goes"}


def test_process_records_isolates_a_record_that_breaks_its_batch(reader: ExtractiveReader) -> None:
    class Picky:
        """A reader that fails any batch holding the question 'boom' (as a model error would)."""

        def run_batch(self, query: list[str], documents: list[list[Document]]) -> dict[str, Any]:
            if "boom" in query:
                from docqa.errors import ComponentError

                raise ComponentError("boom is not a question")
            return reader.run_batch(query, documents)

    records = [
        {"id": 0, "question": PAIRS[0][0], "context": PAIRS[0][1]},
        {"id": 1, "question": "boom", "context": "x"},
    ]
    lines = process_records(records, BatchEngine("qa", reader=Picky()))
    assert lines[1] == {"id": 1, "error": "boom is not a question"}
    assert lines[0]["id"] == 0 and "error" not in lines[0]


def test_a_killed_run_resumes_where_it_stopped(tmp_path: Path, mlm_dir: Path) -> None:
    records = [{"id": i, "input_string": f"Sentence [MASK] number {i}."} for i in range(150)]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "docqa", "batch", str(source), "--out", str(out), "--task", "fill-mask"]
    command += ["-m", str(mlm_dir), "-k", "2", "--batch-size", "1", "--no-progress"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.stat().st_size > 1500:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait(timeout=60)
    cut = len(read_jsonl(out)) if out.read_bytes().endswith(b"\n") else None
    resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    ids = [line["id"] for line in read_jsonl(out)]
    assert ids == list(range(150)), f"after a kill at {cut} lines"
