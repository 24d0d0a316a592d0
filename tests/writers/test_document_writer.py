"""DocumentWriter: policies, saving, the embedding-model record, and indexing pipelines as YAML files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from docqa.cli import app
from docqa.core.component import init_parameters
from docqa.core.pipeline import Pipeline
from docqa.document_stores import InMemoryDocumentStore
from docqa.document_stores.base import DuplicatePolicy
from docqa.errors import ComponentError, DuplicateDocumentError, NoDocumentStoreError, PipelineError
from docqa.schema import Document
from docqa.writers import DocumentWriter

REPO = Path(__file__).resolve().parents[2]
ARTICLES = REPO / "data" / "articles"


def test_policies_as_in_haystack() -> None:
    store = InMemoryDocumentStore()
    first = [Document("alpha", meta={"v": 1}), Document("beta")]
    assert DocumentWriter(store).run(documents=first) == {"documents_written": 2}
    with pytest.raises(DuplicateDocumentError):  # NONE = the store's default, FAIL
        DocumentWriter(store).run(documents=[Document("alpha", meta={"v": 1})])
    again = Document("alpha", meta={"v": 1})
    assert DocumentWriter(store, policy="skip").run(documents=[again]) == {"documents_written": 0}
    writer = DocumentWriter(store, policy=DuplicatePolicy.SKIP)
    assert writer.run(documents=[again], policy=DuplicatePolicy.OVERWRITE) == {"documents_written": 1}
    assert store.count_documents() == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"document_store": "store"}, "document_store must be a document store, not str"),
        ({"policy": "replace"}, "policy must be one of none, skip, overwrite, fail, not 'replace'"),
        ({"embedding_model": 3}, "embedding_model must be a model id or path"),
    ],
)
def test_bad_parameters_are_one_line_errors(kwargs: dict, message: str) -> None:
    arguments = {"document_store": InMemoryDocumentStore(), **kwargs}
    with pytest.raises(ComponentError, match=message):
        DocumentWriter(**arguments)


def test_a_store_with_a_path_is_saved_after_each_run(tmp_path: Path) -> None:
    store = InMemoryDocumentStore(path=str(tmp_path / "store"))
    writer = DocumentWriter(store)
    writer.run(documents=[Document("saved one")])
    assert [d.content for d in InMemoryDocumentStore.load(tmp_path / "store").filter_documents()] == ["saved one"]
    writer.run(documents=[Document("saved two")])
    assert InMemoryDocumentStore.load(tmp_path / "store").count_documents() == 2
    assert len(list((tmp_path / "store").glob("data-*"))) == 1


def test_embedding_model_is_recorded_and_another_one_refused(tmp_path: Path) -> None:
    store = InMemoryDocumentStore(path=str(tmp_path / "store"))
    DocumentWriter(store, embedding_model="model-a").run(documents=[Document("x", embedding=[1.0, 0.0])])
    assert InMemoryDocumentStore.load(tmp_path / "store").embedding_model == "model-a"
    with pytest.raises(ComponentError, match="holds embeddings of 'model-a', not 'model-b'"):
        DocumentWriter(store, embedding_model="model-b").run(documents=[Document("y", embedding=[0.0, 1.0])])
    assert store.count_documents() == 1  # nothing written


INDEXING_YAML = """\
document_stores:
  store: {type: InMemoryDocumentStore, init_parameters: {path: ./store, create: true}}
components:
  converter: {type: FileConverter}
  splitter: {type: DocumentSplitter, init_parameters: {split_length: 120, split_overlap: 20}}
  writer: {type: DocumentWriter, init_parameters: {document_store: store, policy: skip}}
connections:
  - {sender: converter.documents, receiver: splitter.documents}
  - {sender: splitter.documents, receiver: writer.documents}
"""


def test_yaml_round_trip_of_an_indexing_pipeline(tmp_path: Path) -> None:
    path = tmp_path / "indexing.yaml"
    path.write_text(INDEXING_YAML)
    pipeline = Pipeline.load(path)
    writer = pipeline.get_component("writer")
    assert isinstance(writer, DocumentWriter) and writer.document_store is pipeline.document_stores["store"]
    assert writer.policy is DuplicatePolicy.SKIP
    again = Pipeline.loads(pipeline.dumps())
    assert again.dumps() == pipeline.dumps()
    assert init_parameters(again.get_component("writer"))["policy"] in ("skip", DuplicatePolicy.SKIP)


def test_an_indexing_yaml_gives_the_same_store_as_docqa_index(tmp_path: Path) -> None:
    path = tmp_path / "indexing.yaml"
    path.write_text(INDEXING_YAML)
    result = Pipeline.load(path).run({"sources": [str(ARTICLES)]})
    reference = tmp_path / "reference"
    cli = CliRunner().invoke(app, ["index", str(ARTICLES), "--store", str(reference)])
    assert cli.exit_code == 0, cli.output
    expected = InMemoryDocumentStore.load(reference).filter_documents()
    got = InMemoryDocumentStore.load(tmp_path / "store").filter_documents()
    assert result == {"writer": {"documents_written": len(expected)}}
    assert [(d.id, d.content, d.meta) for d in got] == [(d.id, d.content, d.meta) for d in expected]


def test_examples_indexing_yaml_indexes_where_bm25_qa_reads(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "examples" / "indexing.yaml").read_text())
    qa = yaml.safe_load((REPO / "examples" / "bm25_qa.yaml").read_text())
    store_parameters = data["document_stores"]["store"]["init_parameters"]
    assert store_parameters["create"] is True
    assert store_parameters["path"] == qa["document_stores"]["store"]["init_parameters"]["path"]
    overrides = {"store": {"path": str(tmp_path / "store")}}
    indexing = Pipeline.load(REPO / "examples" / "indexing.yaml", overrides=overrides)
    assert [type(c).__name__ for c in indexing.components.values()] == [
        "FileConverter",
        "DocumentSplitter",
        "DocumentWriter",
    ]
    written = indexing.run({"sources": [str(ARTICLES / "Force.txt")]})["writer"]["documents_written"]
    assert written > 0
    qa = Pipeline.load(REPO / "examples" / "bm25_qa.yaml", overrides=overrides)
    retrieved = qa.upstream_of("retriever").run({"query": "Newton's laws of motion"})["retriever"]["documents"]
    assert retrieved and all(d.meta["file_name"] == "Force.txt" for d in retrieved)


def test_a_pipeline_file_reads_stores_and_creates_one_only_when_asked(tmp_path: Path) -> None:
    reading = "document_stores:\n  store: {type: InMemoryDocumentStore, init_parameters: {path: ./typo}}\n"
    path = tmp_path / "qa.yaml"
    path.write_text(reading)
    with pytest.raises(NoDocumentStoreError) as error:
        Pipeline.load(path)
    message = str(error.value)
    assert message.startswith(f"no document store at {tmp_path / 'typo'}")
    assert f"{path}:2" in message and "create: true" in message
    assert not (tmp_path / "typo").exists()  # nothing created
    path.write_text(reading.replace("path: ./typo}", "path: ./typo, create: true}"))
    assert Pipeline.load(path).document_stores["store"].count_documents() == 0
    with pytest.raises(PipelineError, match="unknown parameter 'creat'"):
        Pipeline.loads(reading.replace("path: ./typo}", "path: ./typo, creat: true}"), base_dir=tmp_path)


def test_python_default_still_creates_and_create_false_refuses(tmp_path: Path) -> None:
    assert InMemoryDocumentStore(path=str(tmp_path / "new")).count_documents() == 0
    with pytest.raises(NoDocumentStoreError, match="no document store at"):
        InMemoryDocumentStore(path=str(tmp_path / "missing"), create=False)
    saved = InMemoryDocumentStore(path=str(tmp_path / "saved"))
    saved.write_documents([Document("kept")])
    saved.save()
    assert InMemoryDocumentStore(path=str(tmp_path / "saved"), create=False).count_documents() == 1
