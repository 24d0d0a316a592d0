"""``docqa ask --context TEXT|FILE``: one given context, no store, with the real small SQuAD 2.0 reader."""

from __future__ import annotations

import json
from pathlib import Path

from shared_assets import SHARED_DIR
from typer.testing import CliRunner

from docqa.cli import app

runner = CliRunner()
MODEL = str(SHARED_DIR / "models" / "minilm-l6-squad2-half12")
CONTEXT = "My name is John and I live in Seattle."


def spans(stdout: str) -> list[dict[str, object]]:
    return [answer for answer in json.loads(stdout)["answers"] if answer["text"] is not None]


def test_context_text(shared_dir: Path) -> None:
    result = runner.invoke(app, ["ask", "What is my name?", "--context", CONTEXT, "--model", MODEL, "--json"])
    assert result.exit_code == 0, result.output
    best = spans(result.stdout)[0]
    assert (best["text"], best["span"]) == ("John", {"start": 11, "end": 15})


def test_context_or_question_from_stdin_equals_the_text(shared_dir: Path) -> None:
    args = ["--model", MODEL, "--json"]
    expected = runner.invoke(app, ["ask", "What is my name?", "--context", CONTEXT, *args])
    context_in = runner.invoke(app, ["ask", "What is my name?", "--context", "-", *args], input=CONTEXT)
    question_in = runner.invoke(app, ["ask", "-", "--context", CONTEXT, *args], input="What is my name?\n")
    assert expected.exit_code == context_in.exit_code == question_in.exit_code == 0, context_in.output
    assert [a["text"] for a in spans(context_in.stdout)] == [a["text"] for a in spans(expected.stdout)]
    assert spans(context_in.stdout)[0]["span"] == {"start": 11, "end": 15}
    assert json.loads(question_in.stdout)["question"] == "What is my name?"
    assert spans(question_in.stdout)[0]["text"] == "John"
    both = runner.invoke(app, ["ask", "-", "--context", "-", *args], input="x")
    assert both.exit_code != 0 and "only one of" in both.stderr


def test_context_file_equals_the_text(tmp_path: Path, shared_dir: Path) -> None:
    path = tmp_path / "me.txt"
    path.write_text(CONTEXT, encoding="utf-8")
    from_file = runner.invoke(app, ["ask", "Where do I live?", "-c", str(path), "-m", MODEL, "--json", "-k", "2"])
    from_text = runner.invoke(app, ["ask", "Where do I live?", "-c", CONTEXT, "-m", MODEL, "--json", "-k", "2"])
    assert from_file.exit_code == 0, from_file.output
    found, expected = spans(from_file.stdout), spans(from_text.stdout)
    assert len(found) == 2 and [a["text"] for a in found] == [a["text"] for a in expected]
    assert found[0]["document"]["meta"] == {"file_name": "me.txt"}
    table = runner.invoke(app, ["ask", "Where do I live?", "-c", str(path), "-m", MODEL])
    assert "me.txt" in table.stdout and str(found[0]["text"]) in table.stdout


def test_context_errors_are_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "bad.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with_store = runner.invoke(app, ["ask", "Who?", "--context", CONTEXT, "--store", str(tmp_path)])
    not_utf8 = runner.invoke(app, ["ask", "Who?", "--context", str(binary), "--model", MODEL])
    empty = runner.invoke(app, ["ask", "Who?", "--context", "   ", "--model", MODEL])
    for result, words in ((with_store, "--context"), (not_utf8, "bad.txt"), (empty, "--context is empty")):
        assert result.exit_code == 1 and words in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
