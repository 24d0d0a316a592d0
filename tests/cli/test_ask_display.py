"""``docqa ask``: the question from stdin, ``--top-k`` spans plus the labelled no-answer line; ``--version``, ``-m``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docqa import __version__
from docqa.cli import app
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.schema import Document

runner = CliRunner()

QUESTION = "Who founded the Yuan dynasty?"
PASSAGES = [
    "The Yuan dynasty was founded by Kublai Khan, grandson of Genghis Khan, who ruled from Khanbaliq.",
    "The Yuan dynasty followed the Song dynasty; Kublai Khan proclaimed it in 1271 and ruled until 1294.",
]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = InMemoryDocumentStore()
    store.write_documents([Document(text, meta={"file_name": f"yuan{i}.txt"}) for i, text in enumerate(PASSAGES)])
    return store.save(tmp_path_factory.mktemp("ask-display") / "store")


def _pipeline(directory: Path, store_dir: Path, model: Path, threshold: float) -> Path:
    """A BM25 + reader pipeline whose reader has the given no-answer threshold."""
    path = directory / f"qa{threshold}.yaml"
    reader = {"model": str(model), "no_answer_threshold": threshold}
    path.write_text(
        "document_stores:\n"
        f"  store: {{type: InMemoryDocumentStore, init_parameters: {{path: {json.dumps(str(store_dir))}}}}}\n"
        "components:\n"
        "  retriever: {type: BM25Retriever, init_parameters: {document_store: store, top_k: 2}}\n"
        f"  reader: {{type: ExtractiveReader, init_parameters: {json.dumps(reader)}}}\n"
        "connections:\n"
        "  - {sender: retriever.documents, receiver: reader.documents}\n",
        encoding="utf-8",
    )
    return path


def test_question_from_stdin(store_dir: Path, tiny_bert_qa_dir: Path) -> None:
    args = ["--store", str(store_dir), "-m", str(tiny_bert_qa_dir), "--json"]
    piped = runner.invoke(app, ["ask", "-", *args], input=f"  {QUESTION}\n")
    direct = runner.invoke(app, ["ask", QUESTION, *args])
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout) == json.loads(direct.stdout)
    assert json.loads(piped.stdout)["question"] == QUESTION


def test_empty_stdin_is_a_one_line_error(store_dir: Path, tiny_bert_qa_dir: Path) -> None:
    result = runner.invoke(app, ["ask", "-", "--store", str(store_dir), "-m", str(tiny_bert_qa_dir)], input="\n")
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        "error: no question on stdin (the question argument is -)"
    ]


@pytest.mark.parametrize(("threshold", "no_answer_first"), [(1e9, True), (-1e9, False)])
def test_top_k_spans_plus_the_no_answer(
    store_dir: Path, tiny_bert_qa_dir: Path, tmp_path: Path, threshold: float, no_answer_first: bool
) -> None:
    yaml_file = _pipeline(tmp_path, store_dir, tiny_bert_qa_dir, threshold)
    result = runner.invoke(app, ["ask", QUESTION, "--pipeline", str(yaml_file), "--top-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    answers = json.loads(result.stdout)["answers"]
    assert [a["text"] is None for a in answers] == (
        [True, False, False, False] if no_answer_first else [False, False, False, True]
    )
    table = runner.invoke(app, ["ask", QUESTION, "--pipeline", str(yaml_file), "--top-k", "3"])
    assert table.exit_code == 0, table.output
    flat = " ".join(table.stdout.split())
    titles = ["1.", "2.", "3."]
    assert all(f" {title} " in flat for title in titles) and " 4. " not in flat
    label = "no answer: the reader's choice" if no_answer_first else "no answer "
    assert label in flat and flat.count("no answer") == 1
    # the no-answer line stands where the reader ranks it: first, or after the three spans
    assert (flat.index("no answer") < flat.index(" 1. ")) == no_answer_first


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"docqa {__version__}"


def test_dash_m_means_model_in_every_command() -> None:
    for command in (["ask"], ["eval", "squad"]):
        help_text = " ".join(runner.invoke(app, [*command, "--help"]).stdout.split())
        assert "-m" in help_text and "--model" in help_text
    search_help = runner.invoke(app, ["search", "--help"]).stdout
    assert "--mode" in search_help and "-m " not in search_help.replace("--mode", "")


@pytest.mark.parametrize("command", ["index", "search", "ask", "run", ["eval", "squad"]])
def test_every_command_takes_json(command: str | list[str]) -> None:
    args = command if isinstance(command, list) else [command]
    assert "--json" in runner.invoke(app, [*args, "--help"]).stdout
