"""Haystack pipelines (docqa's BM25 retriever -> docqa's reader) built in Python and loaded from Haystack YAML answer
the model card's sample with the shared real reader; dumps/loads round-trip; no secret is ever dumped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from haystack import Document, Pipeline
from haystack.core.errors import DeserializationError
from haystack.utils import Secret

from docqa.integrations.haystack import ALLOWED_MODULE, BM25Retriever, ExtractiveReader, InMemoryDocumentStore

#: The model card's sample: each question asks its own context.
CARD = [
    ("What is my name?", "My name is John and I live in Seattle.", ("John", 11, 15)),
    ("Where do I live?", "My name is Ravi and I live in Hyderabad.", ("Hyderabad", 30, 39)),
]

HAND_WRITTEN = """
components:
  retriever:
    type: docqa.integrations.haystack.bm25_retriever.BM25Retriever
    init_parameters:
      document_store:
        type: docqa.integrations.haystack.in_memory_document_store.InMemoryDocumentStore
        init_parameters: {{path: {store}}}
      top_k: 2
  reader:
    type: docqa.integrations.haystack.extractive_reader.ExtractiveReader
    init_parameters: {{model: {model}, no_answer: false, top_k: 1}}
connections:
  - {{sender: retriever.documents, receiver: reader.documents}}
"""


def card_pipeline(store: Any, model: str) -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("retriever", BM25Retriever(store, top_k=2))
    pipeline.add_component("reader", ExtractiveReader(model=model, no_answer=False, top_k=1))
    pipeline.connect("retriever.documents", "reader.documents")
    return pipeline


def card_store(store: Any) -> Any:
    store.write_documents([Document(content=context, meta={"card": i}) for i, (_, context, _) in enumerate(CARD)])
    return store


def answer_card(pipeline: Pipeline) -> list[tuple[str | None, int, int, float]]:
    """Each card question asked of its own context (a docqa filter on the retriever); the top answer, checked exact."""
    found = []
    for i, (question, context, _) in enumerate(CARD):
        own_context = {"field": "meta.card", "operator": "==", "value": i}
        result = pipeline.run({"retriever": {"query": question, "filters": own_context}, "reader": {"query": question}})
        best = result["reader"]["answers"][0]
        assert best.document is not None and best.document.content == context and best.document_offset is not None
        start, end = best.document_offset.start, best.document_offset.end
        assert context[start:end] == best.data
        found.append((best.data, start, end, best.score))
    return found


def test_python_and_yaml_pipelines_answer_the_model_card(tmp_path: Path, shared_reader: str) -> None:
    card_store(InMemoryDocumentStore(path=str(tmp_path / "store"), create=True)).save()
    pipeline = card_pipeline(InMemoryDocumentStore(path=str(tmp_path / "store")), shared_reader)
    answers = answer_card(pipeline)
    assert [answer[:3] for answer in answers] == [expected for _, _, expected in CARD]

    text = pipeline.dumps()
    loaded = Pipeline.loads(text, allowed_modules=[ALLOWED_MODULE])
    assert loaded.dumps() == text
    assert answer_card(loaded) == answers
    hand_written = HAND_WRITTEN.format(store=tmp_path / "store", model=shared_reader)
    from_file = Pipeline.loads(hand_written, allowed_modules=[ALLOWED_MODULE])
    assert from_file.to_dict() == pipeline.to_dict()  # left-out parameters take the docqa classes' defaults
    assert answer_card(from_file) == answers


def test_loading_needs_the_allowlist(tmp_path: Path) -> None:
    text = HAND_WRITTEN.format(store=tmp_path, model="unused")
    with pytest.raises(DeserializationError, match=r"docqa\.integrations\.haystack\.bm25_retriever"):
        Pipeline.loads(text)


def test_a_wrong_store_path_is_an_error_not_an_empty_store(tmp_path: Path) -> None:
    text = HAND_WRITTEN.format(store=tmp_path / "missing", model="unused")
    with pytest.raises(DeserializationError, match=f"no document store at {tmp_path / 'missing'}"):
        Pipeline.loads(text, allowed_modules=[ALLOWED_MODULE])


@pytest.mark.heavy
def test_postgres_pipeline_answers_and_never_dumps_the_dsn(
    make_haystack_pg_store: Any, pg_dsn: str, shared_reader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARD_PG_DSN", pg_dsn)
    store = card_store(make_haystack_pg_store(dsn=Secret.from_env_var("CARD_PG_DSN"), table="card"))
    pipeline = card_pipeline(store, shared_reader)
    answers = answer_card(pipeline)
    assert [answer[:3] for answer in answers] == [expected for _, _, expected in CARD]
    text = pipeline.dumps()
    assert pg_dsn not in text
    store_data = yaml.safe_load(text)["components"]["retriever"]["init_parameters"]["document_store"]
    assert store_data["init_parameters"]["dsn"] == {"type": "env_var", "env_vars": ["CARD_PG_DSN"], "strict": True}
    loaded = Pipeline.loads(text, allowed_modules=[ALLOWED_MODULE])
    assert answer_card(loaded) == answers
    loaded.get_component("retriever").document_store.close()

    with_password = make_haystack_pg_store(dsn=f"{pg_dsn}&password=hunter2", table="card")
    assert with_password.count_documents() == 2
    dumped = Pipeline()
    dumped.add_component("retriever", BM25Retriever(with_password))
    assert "hunter2" not in dumped.dumps() and "password" not in dumped.dumps()
    with pytest.raises(ValueError, match="Cannot serialize token-based secret"):
        make_haystack_pg_store(dsn=Secret.from_token(pg_dsn), table="card").to_dict()
