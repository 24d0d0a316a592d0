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
