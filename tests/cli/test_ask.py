"""``docqa ask``: BM25 retrieval then the reader, with a tiny random-weight model given by path."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docqa.cli import app
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.pipelines import BM25_RETRIEVER_WEIGHT, QA_GROUP_BY
from docqa.readers import DEFAULT_READER_MODEL
from docqa.schema import SOURCE_END, SOURCE_ID, SOURCE_START, Document

runner = CliRunner()

SOURCE = (
    "The Normans gave their name to Normandy, a region in France. Rollo was their first ruler. "
    "The Yuan dynasty was founded by Kublai Khan. Its capital was Khanbaliq, today's Beijing. "
    "Photosynthesis turns light into chemical energy in plants."
)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = Document(SOURCE, meta={"file_name": "mixed.txt"})
    cuts = [0, 90, 178, len(SOURCE)]
    passages = [
        Document(
            SOURCE[a:b],
            meta={"file_name": "mixed.txt", SOURCE_ID: source.id, SOURCE_START: a, SOURCE_END: b},
        )
        for a, b in itertools.pairwise(cuts)
    ]
    store = InMemoryDocumentStore()
    store.write_documents(passages)
    return store.save(tmp_path_factory.mktemp("ask") / "store")


def test_ask_json_answers_point_into_the_source(store_dir: Path, tiny_bert_qa_dir: Path) -> None:
    args = ["ask", "Who founded the Yuan dynasty?", "--store", str(store_dir), "--model", str(tiny_bert_qa_dir)]
    result = runner.invoke(app, [*args, "--json", "-k", "2"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    answers = payload["answers"]
    spans = [a for a in answers if a["text"] is not None]
    assert len(spans) == 2 and sum(a["text"] is None for a in answers) == 1
    for answer in spans:
        assert SOURCE[answer["span"]["start"] : answer["span"]["end"]] == answer["text"]
        assert 0 < answer["probability"] <= 1


def test_ask_prints_answers_with_context(store_dir: Path, tiny_bert_qa_dir: Path) -> None:
    args = ["ask", "Who founded the Yuan dynasty?", "--store", str(store_dir), "--model", str(tiny_bert_qa_dir)]
    json_result = runner.invoke(app, [*args, "--json", "-k", "1"])
    top = next(a for a in json.loads(json_result.stdout)["answers"] if a["text"] is not None)
    result = runner.invoke(app, [*args, "-k", "1"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stdout.split())
    assert " ".join(top["text"].split()) in flat
    assert "probability" in flat and "mixed.txt" in flat


def test_unloadable_default_model_shows_passages_in_one_line(store_dir: Path) -> None:
    result = runner.invoke(app, ["ask", "Kublai Khan", "--store", str(store_dir)])  # HF_HUB_OFFLINE, not cached
    assert result.exit_code == 0
    assert "Traceback" not in result.output
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1 and error_lines[0].startswith("warning:")
    assert DEFAULT_READER_MODEL in error_lines[0] and "--model PATH" in error_lines[0]
    assert "Kublai" in result.stdout  # the retrieved passage is still shown


def test_an_explicit_model_that_cannot_be_loaded_is_an_error(store_dir: Path, tmp_path: Path) -> None:
    for model, message in [
        (str(tmp_path / "no" / "such" / "dir"), f"error: no model directory at {tmp_path / 'no' / 'such' / 'dir'}"),
        ("no-such-org/no-such-model", "error: could not load question-answering model 'no-such-org/no-such-model'"),
    ]:
        result = runner.invoke(app, ["ask", "Kublai Khan", "--store", str(store_dir), "--model", model])
        assert result.exit_code == 1, result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(message), result.stderr
        assert "Kublai" not in result.stdout  # no passages instead of answers


def test_a_model_without_a_question_answering_head_is_refused(store_dir: Path, minilm_model: str) -> None:
    result = runner.invoke(app, ["ask", "Kublai Khan", "--store", str(store_dir), "--model", minilm_model])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        f"error: {minilm_model} has no question-answering head (qa_outputs missing); train one with docqa train"
    )
    assert "LOAD REPORT" not in result.output and "Kublai" not in result.stdout


def test_a_very_long_question_gives_one_warning_line(store_dir: Path, tiny_bert_qa_dir: Path) -> None:
    question = "Who founded the Yuan dynasty " + "and why " * 10_000 + "?"  # 20k words
    result = runner.invoke(app, ["ask", question, "--store", str(store_dir), "--model", str(tiny_bert_qa_dir)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("warning: ExtractiveReader: a question longer than max_query_length=64 tokens")
    assert "UserWarning" not in result.stderr and "Token indices" not in result.stderr


def test_missing_store_and_bad_filters_fail_in_one_line(store_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ask", "q?", "--store", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    result = runner.invoke(app, ["ask", "q?", "--store", str(store_dir), "--filters", "{not json"])
    assert result.exit_code == 1 and "--filters" in result.stderr


def _pipeline_file(directory: Path, store_dir: Path, model: str) -> Path:
    path = directory / "qa.yaml"
    path.write_text(
        "document_stores:\n"
        f"  store: {{type: InMemoryDocumentStore, init_parameters: {{path: {json.dumps(str(store_dir))}}}}}\n"
        "components:\n"
        "  retriever: {type: BM25Retriever, init_parameters: {document_store: store, top_k: 2}}\n"
        f"  reader: {{type: ExtractiveReader, init_parameters: {{model: {json.dumps(model)}, top_k: 3, "
        f"group_by: {QA_GROUP_BY}, retriever_weight: {BM25_RETRIEVER_WEIGHT}}}}}\n"  # ask --store's reader
        "connections:\n"
        "  - {sender: retriever.documents, receiver: reader.documents}\n",
        encoding="utf-8",
    )
    return path


def test_ask_with_a_pipeline_file_matches_ask_with_the_store(
    store_dir: Path, tiny_bert_qa_dir: Path, tmp_path: Path
) -> None:
    question = "Who founded the Yuan dynasty?"
    yaml_file = _pipeline_file(tmp_path, store_dir, str(tiny_bert_qa_dir))
    from_file = runner.invoke(app, ["ask", question, "--pipeline", str(yaml_file), "--json", "-k", "2"])
    from_store = runner.invoke(
        app,
        [
            "ask",
            question,
            "--store",
            str(store_dir),
            "--model",
            str(tiny_bert_qa_dir),
            "--json",
            "-k",
            "2",
            "--retriever-top-k",
            "2",
        ],
    )
    assert from_file.exit_code == 0, from_file.output
    assert json.loads(from_file.stdout) == json.loads(from_store.stdout)


def test_ask_model_option_overrides_the_pipeline_reader(
    store_dir: Path, tiny_bert_qa_dir: Path, tmp_path: Path
) -> None:
    yaml_file = _pipeline_file(tmp_path, store_dir, "no-such-org/no-such-model")
    args = ["ask", "Who founded the Yuan dynasty?", "--pipeline", str(yaml_file), "--json"]
    result = runner.invoke(app, [*args, "--model", str(tiny_bert_qa_dir)])
    assert result.exit_code == 0, result.output
    assert any(a["text"] for a in json.loads(result.stdout)["answers"])


def test_ask_with_pipeline_shows_passages_when_the_default_model_is_missing(store_dir: Path, tmp_path: Path) -> None:
    yaml_file = _pipeline_file(tmp_path, store_dir, DEFAULT_READER_MODEL)
    result = runner.invoke(app, ["ask", "Who founded the Yuan dynasty?", "--pipeline", str(yaml_file), "--json"])
    assert result.exit_code == 0, result.output
    assert DEFAULT_READER_MODEL in result.stderr and len(result.stderr.strip().splitlines()) == 1
    payload = json.loads(result.stdout)
    assert payload["answers"] is None
    assert len(payload["documents"]) == 2 and "Kublai Khan" in payload["documents"][0]["content"]


def test_ask_with_pipeline_naming_a_missing_model_is_an_error(store_dir: Path, tmp_path: Path) -> None:
    yaml_file = _pipeline_file(tmp_path, store_dir, "no-such-org/no-such-model")
    result = runner.invoke(app, ["ask", "Who founded the Yuan dynasty?", "--pipeline", str(yaml_file), "--json"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: could not load question-answering model 'no-such-org/no-such-model'")
    assert result.stdout == ""


def test_ask_needs_exactly_one_of_store_and_pipeline(store_dir: Path, tmp_path: Path) -> None:
    neither = runner.invoke(app, ["ask", "Who?"])
    both = runner.invoke(app, ["ask", "Who?", "--store", str(store_dir), "--pipeline", str(tmp_path / "x.yaml")])
    for result in (neither, both):
        assert result.exit_code == 1
        assert "--store" in result.stderr and "--pipeline" in result.stderr


def test_ask_with_the_onnx_backend_gives_the_same_answers(
    store_dir: Path, tiny_bert_qa_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCQA_CACHE", str(tmp_path / "cache"))
    question = "Who founded the Yuan dynasty?"
    args = ["ask", question, "--store", str(store_dir), "--model", str(tiny_bert_qa_dir), "--json"]
    torch_result = runner.invoke(app, args)
    onnx_result = runner.invoke(app, [*args, "--backend", "onnx"])
    assert onnx_result.exit_code == 0, onnx_result.output
    torch_answers = json.loads(torch_result.stdout)["answers"]
    onnx_answers = json.loads(onnx_result.stdout)["answers"]
    assert [(a["text"], a["span"]) for a in onnx_answers] == [(a["text"], a["span"]) for a in torch_answers]
    assert [a["score"] for a in onnx_answers] == pytest.approx([a["score"] for a in torch_answers], abs=1e-4)


def test_ask_rejects_an_unknown_backend(store_dir: Path, tiny_bert_qa_dir: Path) -> None:
    args = ["ask", "Who?", "--store", str(store_dir), "--model", str(tiny_bert_qa_dir), "--backend", "tpu"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "tpu" in result.stderr and "Traceback" not in result.output + result.stderr
