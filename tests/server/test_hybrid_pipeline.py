"""The hybrid pipeline served whole (BM25 and dense retrieval, fused, reranked by a cross-encoder, read), as
``examples/hybrid_qa.yaml`` with small models.

Its three models are gated (see gated_reader.py): each model call waits at a gate file, so "a query is inside the
embedder / the cross-encoder / the reader" is a state. In each, a write is acknowledged at once (no model runs
under a lock a write needs), and two more queries queue behind the held call and then run as one batch (every
model is micro-batched across requests). Every model is loaded before /ready says 200, and the served answers
equal the same pipeline run in-process.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import DOCUMENTS, Server
from test_loading_and_backpressure import metric, until

from docqa.core.pipeline import Pipeline
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.embedders import SentenceTransformersDocumentEmbedder
from docqa.pipelines import ExtractiveQAPipeline

HERE = Path(__file__).resolve().parent
MODELS = ("query_embedder", "ranker", "reader")
QUERY = {"query": "Where does John live?", "top_k": 2, "include_documents": True}


def hybrid_yaml(folder: Path, store: Path, embedder: str, ranker: Path, reader: Path) -> Path:
    gated = {name: f"gate: {folder / f'{name}.gate'}, warmed: {folder / f'{name}.warmed'}, "
                   f"entered: {folder / f'{name}.entered'}" for name in MODELS}  # fmt: skip
    gated["reader"] = gated["reader"].replace("gate:", "read_gate:")
    text = f"""
document_stores:
  store: {{type: InMemoryDocumentStore, init_parameters: {{path: {store}}}}}
components:
  bm25_retriever: {{type: BM25Retriever, init_parameters: {{document_store: store, top_k: 5}}}}
  query_embedder:
    {{type: gated_reader.GatedTextEmbedder, init_parameters: {{model: {embedder}, {gated["query_embedder"]}}}}}
  embedding_retriever: {{type: EmbeddingRetriever, init_parameters: {{document_store: store, top_k: 5}}}}
  joiner: {{type: DocumentJoiner, init_parameters: {{join_mode: reciprocal_rank_fusion, rrf_k: 10, top_k: 4}}}}
  ranker: {{type: gated_reader.GatedRanker, init_parameters: {{model: {ranker}, top_k: 2, {gated["ranker"]}}}}}
  reader: {{type: gated_reader.GatedReader, init_parameters: {{model: {reader}, {gated["reader"]}}}}}
connections:
  - {{sender: query_embedder.embedding, receiver: embedding_retriever.query_embedding}}
  - {{sender: bm25_retriever.documents, receiver: joiner.documents}}
  - {{sender: embedding_retriever.documents, receiver: joiner.documents}}
  - {{sender: joiner.documents, receiver: ranker.documents}}
  - {{sender: ranker.documents, receiver: reader.documents}}
"""
    path = folder / "hybrid.yaml"
    path.write_text(text)
    return path


def dense_store(folder: Path, model: str) -> Path:
    store = InMemoryDocumentStore(path=str(folder))
    store.write_documents(
        SentenceTransformersDocumentEmbedder(model=model, progress_bar=False).run(DOCUMENTS)["documents"]
    )
    store.embedding_model = model
    store.save()
    return folder


def test_the_hybrid_pipeline_served_whole(serve: Any, minilm_model: str, tiny_cross_encoder_dir: Path,
                                          tiny_bert_qa_dir: Path, tmp_path: Path) -> None:  # fmt: skip
    store = dense_store(tmp_path / "store", minilm_model)
    pipeline = hybrid_yaml(tmp_path, store, minilm_model, tiny_cross_encoder_dir, tiny_bert_qa_dir)
    for name in MODELS:
        (tmp_path / f"{name}.gate").touch()
    server: Server = serve("--pipeline", str(pipeline), "--allow-module", "gated_reader",
                           env={"PYTHONPATH": str(HERE)})  # fmt: skip
    assert all((tmp_path / f"{name}.warmed").exists() for name in MODELS)  # each loaded before /ready said 200
    client = server.client()

    served = client.post("/query", json=QUERY).json()
    local = ExtractiveQAPipeline.from_pipeline(Pipeline.load(pipeline, allowed_modules=["gated_reader"]))
    expected = local.run(QUERY["query"], top_k_reader=2)
    assert [d["id"] for d in served["documents"]] == [d.id for d in expected["documents"]]
    assert [(a["text"], a["start"]) for a in served["answers"]] == [
        (a.text, a.span.start if a.span else None) for a in expected["answers"]
    ]
    assert [a["probability"] for a in served["answers"]] == pytest.approx([a.probability for a in expected["answers"]])

    batches = {name: metric(client, "docqa_batch_size_count", model=name) for name in MODELS}
    jobs = {name: metric(client, "docqa_batch_size_sum", model=name) for name in MODELS}
    for name in MODELS:
        (tmp_path / f"{name}.gate").unlink()
        (tmp_path / f"{name}.entered").unlink()
    answers: dict[str, httpx.Response] = {}

    def ask(label: str) -> None:
        answers[label] = httpx.post(server.url + "/query", json=QUERY, timeout=300)

    first = threading.Thread(target=ask, args=("first",))
    first.start()
    others = [threading.Thread(target=ask, args=(label,)) for label in ("second", "third")]
    for number, name in enumerate(MODELS):
        until(lambda name=name: (tmp_path / f"{name}.entered").exists(), timeout=120)  # the first query holds it
        if number == 0:
            for thread in others:
                thread.start()
        until(lambda name=name: metric(client, "docqa_queue_depth", model=name) == 3, timeout=120)
        write = {"documents": [{"content": f"Written while a query was inside the {name}.", "id": f"during-{name}"}]}
        assert client.post("/documents", json=write, timeout=60).json()["written"] == 1  # no model holds a lock
        assert first.is_alive()  # the query still waits inside that model
        (tmp_path / f"{name}.gate").touch()
    for thread in [first, *others]:
        thread.join(timeout=300)
    assert all(response.status_code == 200 for response in answers.values()), answers
    for name in MODELS:  # per model: the first query's batch, then one batch of the two that queued behind it
        assert metric(client, "docqa_batch_size_count", model=name) == batches[name] + 2, name
        assert metric(client, "docqa_batch_size_sum", model=name) == jobs[name] + 3, name
    assert client.get("/documents/count").json()["count"] == len(DOCUMENTS) + len(MODELS)
