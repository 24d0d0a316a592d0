"""``docqa run FILE.yaml --input name=value``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from docqa.cli.run import run
from docqa.schema import Document

PASSAGES = [
    "Kublai Khan founded the Yuan dynasty in 1271.",
    "Warsaw stands on the Vistula River.",
    "The Edict of Nantes ended the Wars of Religion.",
]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(run)
    return app


@pytest.fixture
def pipeline_file(tmp_path: Path, tiny_bert_qa_dir: Path) -> Path:
    from docqa.document_stores.in_memory import InMemoryDocumentStore

    store = InMemoryDocumentStore(path=str(tmp_path / "store"))
    store.write_documents([Document(text) for text in PASSAGES])
    store.save()
    path = tmp_path / "qa.yaml"
    path.write_text(
        "document_stores:\n"
        "  store: {type: InMemoryDocumentStore, init_parameters: {path: ./store}}\n"
        "components:\n"
        "  retriever: {type: BM25Retriever, init_parameters: {document_store: store, top_k: 2}}\n"
        f"  reader: {{type: ExtractiveReader, init_parameters: {{model: '{tiny_bert_qa_dir}', top_k: 2}}}}\n"
        "connections:\n"
        "  - {sender: retriever.documents, receiver: reader.documents}\n"
    )
    return path


def invoke(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_output_has_answers_and_requested_documents(app: typer.Typer, pipeline_file: Path) -> None:
    code, out, err = invoke(
        app,
        str(pipeline_file),
        "-i",
        "query=Who founded the Yuan dynasty?",
        "--include",
        "retriever",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["retriever"]["documents"][0]["content"] == PASSAGES[0]
    answers = data["reader"]["answers"]
    assert answers and all(a["query"] == "Who founded the Yuan dynasty?" for a in answers)
    for answer in answers:
        if answer["text"] is not None:
            span = answer["document_span"]
            assert answer["document"]["content"][span["start"] : span["end"]] == answer["text"]


def test_typed_values_reach_their_inputs(app: typer.Typer, pipeline_file: Path) -> None:
    code, out, err = invoke(
        app,
        str(pipeline_file),
        "-i",
        "query=1271",
        "-i",
        "retriever.top_k=1",
        "--include",
        "retriever",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert len(data["retriever"]["documents"]) == 1  # top_k parsed as int
    assert data["reader"]["answers"][0]["query"] == "1271"  # query kept as text


def test_rich_output_shows_answers_and_documents(app: typer.Typer, pipeline_file: Path) -> None:
    code, out, err = invoke(app, str(pipeline_file), "--input", "query=Warsaw river", "--include", "retriever")
    assert code == 0, err
    assert "reader.answers" in out and "retriever.documents" in out
    assert "probability" in out and "Warsaw stands on the Vistula River." in out


def test_set_overrides_init_parameters(app: typer.Typer, pipeline_file: Path) -> None:
    code, out, err = invoke(
        app,
        str(pipeline_file),
        "-i",
        "query=Warsaw",
        "--set",
        "retriever.top_k=1",
        "--include",
        "retriever",
        "--json",
    )
    assert code == 0, err
    assert len(json.loads(out)["retriever"]["documents"]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "query"], "must look like name=value"),
        (["-i", "question=x"], "no component has an unconnected input 'question'"),
        (["-i", "ghost.top_k=1", "-i", "query=x"], "no component named 'ghost'"),
        (["-i", "top_k=3"], "missing input retriever.query"),
        (["-i", "query=x", "--set", "reader.modle=x"], "unknown parameter 'modle'"),
        (["-i", "query=x", "--set", "model=x"], "must look like component.parameter=value"),
    ],
)
def test_user_errors_are_one_line(app: typer.Typer, pipeline_file: Path, args: list[str], message: str) -> None:
    code, out, err = invoke(app, str(pipeline_file), *args)
    assert code == 1
    assert message in err and "Traceback" not in err + out
    assert len(err.strip().splitlines()) <= 2  # one message (rich may wrap a long line once)


def test_missing_file_is_a_one_line_error(app: typer.Typer, tmp_path: Path) -> None:
    code, _, err = invoke(app, str(tmp_path / "nope.yaml"), "-i", "query=x")
    assert code == 1 and "cannot read pipeline file" in err


# ------------------------------------------------------------------------------ --draw, --allow-module, stores
USER_MODULE = """
from docqa.core.component import component


@component
class Exclaim:
    @component.output_types(text=str)
    def run(self, text: str) -> dict[str, str]:
        return {"text": text + "!"}
"""


@pytest.fixture
def user_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    module = tmp_path / "user_mods"
    module.mkdir()
    (module / "docqa_user_comps.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(module))
    path = tmp_path / "user.yaml"
    path.write_text("components:\n  exclaim: {type: docqa_user_comps.Exclaim}\n")
    return path


def test_allow_module_lets_a_user_component_run(app: typer.Typer, user_pipeline: Path) -> None:
    code, out, err = invoke(app, str(user_pipeline), "-i", "text=hi", "--json")
    assert code == 1
    assert "--allow-module docqa_user_comps" in err and "Traceback" not in err
    code, out, err = invoke(app, str(user_pipeline), "-i", "text=hi", "--allow-module", "docqa_user_comps", "--json")
    assert code == 0, err
    assert json.loads(out) == {"exclaim": {"text": "hi!"}}
    code, _, err = invoke(app, str(user_pipeline), "-i", "text=hi", "--allow-module", "docqa_user")
    assert code == 1 and "--allow-module docqa_user_comps" in err  # the module itself, exactly


def test_draw_prints_mermaid_without_running(app: typer.Typer, pipeline_file: Path) -> None:
    code, out, err = invoke(app, str(pipeline_file), "--draw")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    c0["retriever<br/><i>BM25Retriever</i>"]' in lines
    assert '    c1["reader<br/><i>ExtractiveReader</i>"]' in lines
    assert '    c0 -- "documents → documents<br/>list[Document]" --> c1' in lines
    assert '    input -- "query: str" --> c0' in lines


def test_a_pipeline_over_a_missing_store_is_an_error(app: typer.Typer, pipeline_file: Path) -> None:
    broken = pipeline_file.with_name("typo.yaml")
    broken.write_text(pipeline_file.read_text().replace("path: ./store}", "path: ./stor}"))
    code, out, err = invoke(app, str(broken), "-i", "query=Warsaw")
    assert code == 1
    assert err.startswith(f"error: no document store at {pipeline_file.parent / 'stor'}")
    assert "Traceback" not in err + out
    assert not (pipeline_file.parent / "stor").exists()


def test_index_with_a_pipeline_file(tmp_path: Path) -> None:
    from docqa.cli import app as docqa_app
    from docqa.document_stores.in_memory import InMemoryDocumentStore

    docs = tmp_path / "docs"
    docs.mkdir()
    for number, text in enumerate(PASSAGES):
        (docs / f"p{number}.txt").write_text(text, encoding="utf-8")
    (docs / "bad.txt").write_bytes(b"\xff")
    pipeline = tmp_path / "indexing.yaml"
    pipeline.write_text(
        "document_stores:\n"
        "  store: {type: InMemoryDocumentStore, init_parameters: {path: ./store, create: true}}\n"
        "components:\n"
        "  converter: {type: FileConverter}\n"
        "  splitter: {type: DocumentSplitter, init_parameters: {split_length: 5, split_overlap: 1}}\n"
        "  writer: {type: DocumentWriter, init_parameters: {document_store: store, policy: skip}}\n"
        "connections:\n"
        "  - {sender: converter.documents, receiver: splitter.documents}\n"
        "  - {sender: splitter.documents, receiver: writer.documents}\n"
    )
    runner = CliRunner()
    result = runner.invoke(docqa_app, ["index", str(docs), "--pipeline", str(pipeline), "--json"])
    assert result.exit_code == 0, result.output
    stored = InMemoryDocumentStore.load(tmp_path / "store").filter_documents()
    assert json.loads(result.stdout)["documents_written"] == len(stored) > len(PASSAGES)
    assert {d.meta["file_name"] for d in stored} == {"p0.txt", "p1.txt", "p2.txt"}
    again = runner.invoke(docqa_app, ["index", str(docs), "--pipeline", str(pipeline), "--json"])
    assert json.loads(again.stdout)["documents_written"] == 0  # policy skip: nothing twice
    both = runner.invoke(docqa_app, ["index", str(docs), "--pipeline", str(pipeline), "--store", str(tmp_path)])
    assert both.exit_code == 1 and "exclude each other" in both.stderr
    neither = runner.invoke(docqa_app, ["index", str(docs)])
    assert neither.exit_code == 1 and "--store DIR is required" in neither.stderr
