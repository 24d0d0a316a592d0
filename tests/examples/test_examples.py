"""The files under examples/ work as documented (with tiny local models in place of the hub ids)."""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from docqa.core.pipeline import Pipeline
from docqa.pipelines import ExtractiveQAPipeline
from docqa.schema import Answer, Document

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
ARTICLES = REPO / "data" / "articles"

PASSAGES = [
    "Kublai Khan founded the Yuan dynasty in 1271 and ruled China from Khanbaliq.",
    "Warsaw stands on the Vistula River in east-central Poland.",
    "The Edict of Nantes ended the French Wars of Religion in 1598.",
]


def check_answers(answers: list[Answer], documents: list[Document]) -> None:
    ids = {d.id for d in documents}
    assert answers
    for answer in answers:
        assert 0.0 <= answer.probability <= 1.0
        if answer.text is not None:
            assert answer.document is not None and answer.document.id in ids
            assert answer.document_span is not None
            assert answer.document_span.slice(answer.document.content) == answer.text


def make_store(path: Path, embedder_model: str | None = None) -> Any:
    from docqa.document_stores.in_memory import InMemoryDocumentStore

    documents = [Document(text) for text in PASSAGES]
    if embedder_model is not None:
        from docqa.embedders import SentenceTransformersDocumentEmbedder

        embedder = SentenceTransformersDocumentEmbedder(model=embedder_model, progress_bar=False, device="cpu")
        documents = embedder.run(documents=documents)["documents"]
    store = InMemoryDocumentStore(path=str(path))
    store.write_documents(documents)
    store.save()
    return store


@pytest.mark.parametrize(("name", "store"), [("bm25_qa.yaml", ".store/sample"), ("hybrid_qa.yaml", ".store/dense")])
def test_example_files_are_plain_yaml_pointing_at_the_readme_stores(name: str, store: str) -> None:
    data = yaml.safe_load((EXAMPLES / name).read_text())
    relative = data["document_stores"]["store"]["init_parameters"]["path"]
    assert (EXAMPLES / relative).resolve() == REPO / store
    # the store the README's commands index (hybrid needs --embed)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"docqa index data/articles --store {store}" in readme


def test_bm25_example_answers(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    make_store(tmp_path / "store")
    overrides = {"store": {"path": str(tmp_path / "store")}, "reader": {"model": str(tiny_bert_qa_dir)}}
    pipeline = Pipeline.load(EXAMPLES / "bm25_qa.yaml", overrides=overrides)
    assert pipeline.document_stores["store"].count_documents() == len(PASSAGES)
    result = pipeline.run({"query": "Who founded the Yuan dynasty?"}, include_outputs_from={"retriever"})
    documents = result["retriever"]["documents"]
    assert documents[0].content == PASSAGES[0]
    check_answers(result["reader"]["answers"], documents)
    assert Pipeline.loads(pipeline.dumps()).dumps() == pipeline.dumps()


def test_hybrid_example_answers(
    tiny_bert_qa_dir: Path, tiny_cross_encoder_dir: Path, minilm_model: str, tmp_path: Path
) -> None:
    make_store(tmp_path / "store", embedder_model=minilm_model)
    overrides = {
        "store": {"path": str(tmp_path / "store")},
        "query_embedder": {"model": minilm_model, "device": "cpu"},
        "ranker": {"model": str(tiny_cross_encoder_dir), "top_k": 2, "device": "cpu"},
        "reader": {"model": str(tiny_bert_qa_dir)},
    }
    qa = ExtractiveQAPipeline.from_pipeline(Pipeline.load(EXAMPLES / "hybrid_qa.yaml", overrides=overrides))
    assert sorted(qa.retrievers) == ["bm25_retriever", "embedding_retriever"]
    assert qa.query_embedders == ["query_embedder"]
    result = qa.run("On what river does Warsaw stand?")
    assert 1 <= len(result["documents"]) <= 2
    assert {d.content for d in result["documents"]} <= set(PASSAGES)
    check_answers(result["answers"], result["documents"])
    batched = qa.run_batch(["On what river does Warsaw stand?", "Who founded the Yuan dynasty?"])
    assert [d.id for d in batched[0]["documents"]] == [d.id for d in result["documents"]]
    assert [a.text for a in batched[0]["answers"]] == [a.text for a in result["answers"]]


def test_quickstart_indexes_and_answers(
    tiny_bert_qa_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "articles"
    data.mkdir()
    for source in sorted(ARTICLES.glob("*.txt"))[:3]:
        shutil.copy(source, data / source.name)
    main = runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="quickstart")["main"]
    answers = main(["What is a Huguenot?", "--data", str(data), "--model", str(tiny_bert_qa_dir)])
    output = capsys.readouterr().out
    assert f"from {data}" in output and "Q: What is a Huguenot?" in output
    assert answers and all(isinstance(a, Answer) for a in answers)
    for answer in answers:
        if answer.text is not None:
            assert answer.document is not None
            source = (data / answer.document.meta["file_name"]).read_text(encoding="utf-8")
            assert answer.span is not None and answer.span.slice(source) == answer.text


def test_demo_script_indexes_the_corpus_and_answers_with_the_shared_reader(tmp_path: Path) -> None:
    """README's main job (examples/demo.sh): the sample corpus indexed, its questions answered by a real reader."""
    env = {**os.environ, "DOCQA": str(Path(sys.executable).with_name("docqa")), "STORE": str(tmp_path / "store")}
    env["QUESTIONS"] = "2"
    done = subprocess.run(
        ["bash", str(EXAMPLES / "demo.sh")], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"files indexed\s+16\b", done.stdout) and re.search(r"files skipped\s+0\b", done.stdout)
    assert "Edict of Nantes" in done.stdout  # data/questions.tsv's second question, answered from Huguenot.txt
    assert "unreachable" not in done.stderr and "warning" not in done.stderr.lower()
