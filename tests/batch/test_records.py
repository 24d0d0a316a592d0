"""Batch input files: JSONL records and request bodies, validated into records or one error line each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docqa.batch import read_batch_input
from docqa.errors import RequestError
from docqa.formats import QAParameters


def test_jsonl_records_and_error_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "question": "Who?", "context": "Ann.", "extra": 1}),
        "",
        json.dumps({"id": True, "question": "Who?"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "a", "question": "Again?"}),
        json.dumps({"id": 7, "question": "Retrieved?"}),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = read_batch_input(source, "qa")
    assert found.options is None
    assert [line.record for line in found.lines if line.record is not None] == [
        {"id": "a", "question": "Who?", "context": "Ann."},
        {"id": 7, "question": "Retrieved?"},
    ]
    errors = [line.error for line in found.lines if line.error is not None]
    assert (
        errors[0] is not None
        and errors[0]["line"] == 3
        and errors[0]["error"] == "line 3: id: must be a string or an integer, got bool"
    )
    assert errors[1] == {"id": None, "line": 4, "error": "line 4: a record must be a JSON object, got list"}
    assert errors[2] == {"id": "a", "error": "line 5: id 'a' is already used on line 1"}
    assert [line.key for line in found.lines] == ["id:'a'", "line:3", "line:4", "id:'a'", "id:7"]


def test_a_request_body_becomes_records_with_its_parameters(tmp_path: Path) -> None:
    source = tmp_path / "body.json"
    body = {"inputs": {"question": ["Q1", "Q2"], "context": ["C1", "C2"]}, "parameters": {"top_k": 2}}
    source.write_text(json.dumps(body, indent=2), encoding="utf-8")
    found = read_batch_input(source, "qa")
    assert [line.record for line in found.lines] == [
        {"id": "0", "question": "Q1", "context": "C1"},
        {"id": "1", "question": "Q2", "context": "C2"},
    ]
    assert isinstance(found.options, QAParameters) and found.options.top_k == 2
    source.write_text(json.dumps({"inputs": {"input_string": ["a [MASK]."]}}), encoding="utf-8")
    assert [line.record for line in read_batch_input(source, "fill-mask").lines] == [
        {"id": "0", "input_string": "a [MASK]."}
    ]


def test_unreadable_input_names_the_file(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_bytes(b'{"id": 1, "question": "\xff"}\n')
    with pytest.raises(RequestError, match=r"bad\.jsonl: not UTF-8 text \(byte 23\)"):
        read_batch_input(source, "qa")


def test_csv_rows_become_records(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "\ufeffid,question,context,notes\n"  # a BOM, as spreadsheets write it; extra columns are ignored
        'q1,Who?,"Ann, who\nwrote it.",x\n'  # a quoted cell with a comma and a line break
        "q2,Where?,,\n"  # an empty context: the question is retrieved
        "q3,,Some text.,\n"
        "q4,Why?,Because.,x,surplus\n"
        "q1,Again?,Text.,\n",
        encoding="utf-8",
    )
    found = read_batch_input(source, "qa")
    assert [line.record for line in found.lines if line.record is not None] == [
        {"id": "q1", "question": "Who?", "context": "Ann, who\nwrote it."},
        {"id": "q2", "question": "Where?"},
    ]
    errors = [line.error for line in found.lines if line.error is not None and not line.duplicate]
    assert errors == [
        {"id": "q3", "error": "line 5: question: field required"},
        {"id": None, "line": 6, "error": "line 6: more fields than the header's"},
    ]
    (duplicate,) = found.duplicates
    assert duplicate.error == {"id": "q1", "error": "line 7: id 'q1' is already used on line 3"}
    no_ids = tmp_path / "cards.csv"
    no_ids.write_text("input_string\nParis is the [MASK].\nA [MASK] day.\n", encoding="utf-8")
    assert [line.record for line in read_batch_input(no_ids, "fill-mask").lines] == [
        {"id": "0", "input_string": "Paris is the [MASK]."},
        {"id": "1", "input_string": "A [MASK] day."},
    ]
    with pytest.raises(RequestError, match=r"cards\.csv: a CSV file for question answering needs a 'question'"):
        read_batch_input(no_ids, "qa")


def test_a_folder_is_one_input_with_ids_unique_across_its_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.csv").write_text("question,context\nWho?,Ann.\n", encoding="utf-8")
    (tmp_path / "sub" / "b.jsonl").write_text(json.dumps({"id": "0", "question": "What?"}) + "\n", encoding="utf-8")
    (tmp_path / ".hidden.csv").write_text("question\nSecret?\n", encoding="utf-8")
    (tmp_path / "readme.txt").write_text("notes", encoding="utf-8")
    (tmp_path / "out.jsonl").write_text("", encoding="utf-8")
    found = read_batch_input(tmp_path, "qa", exclude=tmp_path / "out.jsonl")
    assert [line.record for line in found.lines] == [
        {"id": "a.csv:0", "question": "Who?", "context": "Ann."},
        {"id": "0", "question": "What?"},
    ]
    assert found.skipped == [str(tmp_path / "readme.txt")]
    body = {"inputs": {"question": "Q", "context": "C"}, "parameters": {"top_k": 2}}
    (tmp_path / "body.json").write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(RequestError, match="different parameters"):
        read_batch_input(tmp_path, "qa", exclude=tmp_path / "out.jsonl")
