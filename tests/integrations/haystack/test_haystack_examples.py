"""examples/haystack_qa.py and examples/haystack_qa.yaml work as documented, and describe the same pipeline."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


def test_python_and_yaml_examples_build_the_same_pipeline_and_answer(
    tmp_path: Path, shared_reader: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for name in ("Warsaw.txt", "Yuan_dynasty.txt"):  # their first 300 words: a few passages, a quick test
        words = (REPO / "data" / "articles" / name).read_text(encoding="utf-8").split(" ")
        (articles / name).write_text(" ".join(words[:300]), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the YAML's store path, .store/haystack, is relative to the working directory
    example: dict[str, Any] = runpy.run_path(str(EXAMPLES / "haystack_qa.py"), run_name="haystack_qa")
    question = "On what river does Warsaw stand?"
    in_python = example["main"]([question, "--data", str(articles), "--model", shared_reader, "--dump", "dumped.yaml"])
    from_yaml = example["main"]([question, "--data", str(articles), "--model", shared_reader,
                                 "--yaml", str(EXAMPLES / "haystack_qa.yaml")])  # fmt: skip
    printed = capsys.readouterr().out
    assert "indexed" in printed and f"Q: {question}" in printed
    assert [(a.data, a.score) for a in in_python] == [(a.data, a.score) for a in from_yaml]
    spans = [a for a in in_python if a.data is not None]
    assert spans and all(Path(a.document.meta["file_path"]).name.endswith(".txt") for a in spans)  # type: ignore[union-attr]
    for answer in spans:
        start, end = answer.document_offset.start, answer.document_offset.end  # type: ignore[union-attr]
        assert answer.document.content[start:end] == answer.data  # type: ignore[union-attr]
        assert answer.meta["answer_page_number"] == 1

    built = example["query_pipeline"](Path(".store/haystack"), shared_reader)
    loaded = example["load_query_pipeline"](EXAMPLES / "haystack_qa.yaml", shared_reader)
    assert loaded.to_dict() == built.to_dict()
    assert Path("dumped.yaml").read_text(encoding="utf-8") == built.dumps()


def test_readme_haystack_block_runs(tmp_path: Path, shared_reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python block of the README's Haystack section, as written, with the shared reader for the hub id."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("\n## Haystack\n", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert "deepset/minilm-uncased-squad2" in block
    monkeypatch.chdir(tmp_path)
    names: dict[str, Any] = {}
    exec(block.replace("deepset/minilm-uncased-squad2", shared_reader), names)
    assert names["answers"] and names["same"].dumps() == names["text"]
    assert all(a.document.content[a.document_offset.start : a.document_offset.end] == a.data
               for a in names["answers"] if a.data is not None)  # fmt: skip
