"""What a new user hit in round 2 of trying the CLI (issue 22's table): one test per row, each failing before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_assets import SHARED_DIR, SQUAD_DEV_HALF
from typer.testing import CliRunner

from docqa.cli import app

runner = CliRunner()
READER = SHARED_DIR / "models" / "minilm-l6-squad2-half12"


def one_error_line(result, exit_code: int = 1) -> str:
    """The single stderr line of a failed command (no traceback)."""
    assert result.exit_code == exit_code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    return lines[0]


def test_fill_mask_refuses_a_model_without_a_masked_lm_head(tiny_bert_qa_dir: Path) -> None:
    result = runner.invoke(app, ["fill-mask", "Paris is the [MASK] of France.", "--model", str(tiny_bert_qa_dir)])
    line = one_error_line(result)
    assert line.startswith(f"error: {tiny_bert_qa_dir} has no masked-LM head") and result.stdout == ""


def test_an_empty_question_is_refused_before_anything_loads(tmp_path: Path) -> None:
    missing_model, missing_store = tmp_path / "no-model", tmp_path / "no-store"
    for question in ("", "   "):
        result = runner.invoke(app, ["ask", question, "--store", str(missing_store), "--model", str(missing_model)])
        assert one_error_line(result) == "error: the question must be a non-empty string"


def test_model_errors_name_the_command_s_own_option(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("Cats purr.", encoding="utf-8")
    missing = tmp_path / "no-embedder"
    index = runner.invoke(
        app,
        ["index", str(tmp_path / "docs"), "--store", str(tmp_path / "s"), "--embed", "--embedding-model", str(missing)],
    )
    line = one_error_line(index)
    assert "--embedding-model PATH" in line and "model=" not in line and "--model PATH" not in line
    train = runner.invoke(
        app,
        [
            "train",
            "--base",
            str(tmp_path / "nonexistent"),
            "--train",
            str(SQUAD_DEV_HALF),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    line = one_error_line(train)
    assert line.startswith(f"error: no model directory at {tmp_path / 'nonexistent'}") and "--base PATH" in line
    assert "--model" not in line


def test_index_says_when_a_folder_holds_no_file(tmp_path: Path) -> None:
    empty = tmp_path / "emptydir"
    empty.mkdir()
    line = one_error_line(runner.invoke(app, ["index", str(empty), "--store", str(tmp_path / "s")]))
    assert line == f"error: no files found under {empty} (hidden files and folders are left out)"


def test_index_takes_a_json_array_of_documents(tmp_path: Path) -> None:
    from docqa.document_stores.in_memory import InMemoryDocumentStore

    docs = [{"content": "Cats purr when content.", "meta": {"lang": "en"}}, {"content": "Dogs bark.", "year": 2020}]
    source = tmp_path / "docs.json"
    source.write_text(json.dumps(docs), encoding="utf-8")
    result = runner.invoke(app, ["index", str(source), "--store", str(tmp_path / "s"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"] == 1 and json.loads(result.stdout)["skipped"] == []
    stored = sorted(InMemoryDocumentStore.load(tmp_path / "s").filter_documents(), key=lambda d: d.meta["record_index"])
    assert [(d.content, d.meta.get("lang"), d.meta.get("year")) for d in stored] == [
        ("Cats purr when content.", "en", None),
        ("Dogs bark.", None, 2020),
    ]
    assert all(d.meta["file_name"] == "docs.json" for d in stored)


@pytest.fixture
def missing_store_pipeline(tmp_path: Path) -> Path:
    """A BM25 + reader pipeline whose store does not exist and whose reader names a model that cannot load."""
    path = tmp_path / "qa.yaml"
    path.write_text(
        "document_stores:\n"
        "  store: {type: InMemoryDocumentStore, init_parameters: {path: ./no-store}}\n"
        "components:\n"
        "  retriever: {type: BM25Retriever, init_parameters: {document_store: store, top_k: 2}}\n"
        "  reader: {type: ExtractiveReader, init_parameters: {model: no-such-org/no-such-model, top_k: 2}}\n"
        "connections:\n"
        "  - {sender: retriever.documents, receiver: reader.documents}\n",
        encoding="utf-8",
    )
    return path


def test_run_draw_opens_no_store_and_loads_no_model(missing_store_pipeline: Path) -> None:
    result = runner.invoke(app, ["run", str(missing_store_pipeline), "--draw"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flowchart TD") and "ExtractiveReader" in result.stdout


def test_run_takes_the_reader_model_as_model(missing_store_pipeline: Path, tiny_bert_qa_dir: Path) -> None:
    from docqa.document_stores.in_memory import InMemoryDocumentStore
    from docqa.schema import Document

    store = InMemoryDocumentStore()
    store.write_documents([Document("Kublai Khan founded the Yuan dynasty in 1271.")])
    store.save(missing_store_pipeline.parent / "no-store")
    args = ["run", str(missing_store_pipeline), "-i", "query=Who founded the Yuan dynasty?", "--json"]
    line = one_error_line(runner.invoke(app, args))
    assert "no-such-org/no-such-model" in line and "(--model PATH)" in line
    result = runner.invoke(app, [*args, "--model", str(tiny_bert_qa_dir)])
    assert result.exit_code == 0, result.output
    answers = json.loads(result.stdout)["reader"]["answers"]
    spans = [answer for answer in answers if not answer["no_answer"]]
    assert len(spans) == 2 and all(answer["source_span"] is not None for answer in spans)  # the file's top_k: 2


@pytest.fixture(scope="module")
def v1_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight answerable questions of the dev half, without is_impossible: a SQuAD 1.1 file."""
    data = json.loads(SQUAD_DEV_HALF.read_text(encoding="utf-8"))
    paragraph = data["data"][0]["paragraphs"][0]
    qas = [{k: v for k, v in qa.items() if k != "is_impossible"} for qa in paragraph["qas"] if qa["answers"]][:8]
    path = tmp_path_factory.mktemp("v1") / "v1.1.json"
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": [{**paragraph, "qas": qas}]}]}))
    return path


def test_eval_detects_squad_v1_and_writes_one_threshold_unit(
    v1_file: Path, tiny_bert_qa_dir: Path, tmp_path: Path
) -> None:
    table = runner.invoke(app, ["eval", "squad", str(v1_file), "-m", str(tiny_bert_qa_dir)])
    assert table.exit_code == 0, table.output
    flat = " ".join(table.stdout.split())
    assert "SQuAD 1.1" in flat and "SQuAD 2.0" not in flat and "SQuAD 1.1 F1 (%), always answering" in flat
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["eval", "squad", str(SQUAD_DEV_HALF), "-m", str(tiny_bert_qa_dir), "--limit", "6", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    na_probs = json.loads((out / "na_probs.json").read_text(encoding="utf-8"))
    official = metrics["metrics"]
    assert "best_f1_thresh" not in official and "best_exact_thresh" not in official
    # the official search's best threshold, in --no-answer-threshold units: it is the minus of a na_prob
    assert 0.0 - official["best_f1_no_answer_threshold"] in set(na_probs.values()) | {0.0}
    assert metrics["squad_version"] == "v2.0"
    legacy = runner.invoke(
        app, ["eval", "squad", str(SQUAD_DEV_HALF), "-m", str(tiny_bert_qa_dir), "--limit", "2", "--output", str(out)]
    )
    assert legacy.exit_code == 0, legacy.output  # --output is kept as an alias of --out


def test_eval_store_takes_a_postgresql_dsn(tiny_bert_qa_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCQA_NO_SUCH_DSN", raising=False)
    args = ["eval", "squad", str(SQUAD_DEV_HALF), "-m", str(tiny_bert_qa_dir), "--store", "env:DOCQA_NO_SUCH_DSN"]
    line = one_error_line(runner.invoke(app, args))
    assert "DOCQA_NO_SUCH_DSN" in line and "is not set" in line and "no document store at" not in line
