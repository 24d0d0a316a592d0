from __future__ import annotations

import json
from pathlib import Path

import pytest

from docqa.converters import JSONLConverter, convert_jsonl_file
from docqa.core.component import init_parameters
from docqa.errors import ConversionError


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_one_document_per_line_other_fields_become_meta(tmp_path: Path) -> None:
    path = _write_lines(
        tmp_path / "docs.jsonl",
        [
            json.dumps({"content": "Basel lies on the Rhine.", "city": "Basel", "year": 2024}),
            "",
            json.dumps({"content": "東京は大きい。", "meta": {"lang": "ja"}, "id": "x1"}, ensure_ascii=False),
        ],
    )
    docs = JSONLConverter().run(sources=[path], meta={"batch": "b1"})["documents"]
    assert [d.content for d in docs] == ["Basel lies on the Rhine.", "東京は大きい。"]
    common = {"batch": "b1", "file_path": str(path), "file_name": "docs.jsonl"}
    assert docs[0].meta == {**common, "city": "Basel", "year": 2024, "line_number": 1}
    assert docs[1].meta == {**common, "lang": "ja", "id": "x1", "line_number": 3}


def test_custom_content_field(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "t.jsonl", [json.dumps({"text": "Hello", "content": "kept as meta"})])
    converter = JSONLConverter(content_field="text")
    assert init_parameters(converter) == {"content_field": "text"}
    [doc] = converter.run(sources=[path])["documents"]
    assert doc.content == "Hello"
    assert doc.meta["content"] == "kept as meta"


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"content": "unterminated', r"line 2: invalid JSON"),
        ('["content", "a list"]', r"line 2: expected a JSON object, got list"),
        ('{"title": "no content"}', r"line 2: missing the 'content' field"),
        ('{"content": 42}', r"line 2: 'content' must be a string, not int"),
        ('{"content": "   "}', r"line 2: 'content' is empty"),
    ],
)
def test_a_bad_line_names_file_and_line(tmp_path: Path, bad_line: str, message: str) -> None:
    path = _write_lines(tmp_path / "bad.jsonl", [json.dumps({"content": "fine"}), bad_line])
    with pytest.raises(ConversionError, match=rf"bad\.jsonl: {message}"):
        convert_jsonl_file(path)
