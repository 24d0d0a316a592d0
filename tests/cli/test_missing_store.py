"""A store that is not there is an error, never a silently created empty one: ``ask --pipeline`` and ``search``."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from docqa.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _error_lines(result) -> list[str]:
    assert result.exit_code == 1 and "Traceback" not in result.output
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_ask_with_the_example_pipeline_before_any_index(tmp_path: Path, tiny_bert_qa_dir: Path) -> None:
    (tmp_path / "examples").mkdir()
    yaml_file = shutil.copy(EXAMPLES / "bm25_qa.yaml", tmp_path / "examples" / "bm25_qa.yaml")
    args = ["ask", "Who ruled Normandy?", "--pipeline", str(yaml_file), "--model", str(tiny_bert_qa_dir)]
    lines = _error_lines(runner.invoke(app, args))
    assert len(lines) == 1
    assert lines[0].startswith(f"error: no document store at {tmp_path / '.store' / 'sample'}")
    assert not (tmp_path / ".store").exists()  # nothing created


def test_a_typo_in_the_store_path_of_a_pipeline(tmp_path: Path, tiny_bert_qa_dir: Path) -> None:
    text = (EXAMPLES / "bm25_qa.yaml").read_text(encoding="utf-8").replace("../.store/sample", "../.stor/sample")
    yaml_file = tmp_path / "sub" / "qa.yaml"
    yaml_file.parent.mkdir()
    yaml_file.write_text(text, encoding="utf-8")
    args = ["ask", "Who ruled Normandy?", "--pipeline", str(yaml_file), "--model", str(tiny_bert_qa_dir), "--json"]
    lines = _error_lines(runner.invoke(app, args))
    assert len(lines) == 1 and lines[0].startswith(f"error: no document store at {tmp_path / '.stor' / 'sample'}")
    assert not (tmp_path / ".stor").exists()


def test_search_and_ask_name_a_missing_store_directory(tmp_path: Path) -> None:
    for command in (["search", "Normandy"], ["ask", "Who?"]):
        lines = _error_lines(runner.invoke(app, [*command, "--store", str(tmp_path / "nope")]))
        assert len(lines) == 1 and lines[0].startswith(f"error: no document store at {tmp_path / 'nope'}")
