"""The ready-made hybrid pipeline end to end on a few documents, with the real all-MiniLM-L6-v2 embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.embedders import SentenceTransformersDocumentEmbedder, SentenceTransformersTextEmbedder
from docqa.pipelines.hybrid import build_hybrid_pipeline, hybrid_inputs
from docqa.retrievers.bm25_retriever import BM25Retriever
from docqa.schema import Document

pytestmark = pytest.mark.heavy

TEXTS = [
    "Paris is the capital and most populous city of France.",
    "The Great Wall of China was built over many centuries.",
    "Mount Everest is Earth's highest mountain above sea level.",
    "The Amazon River in South America is the largest river by discharge.",
    "Photosynthesis lets plants turn sunlight into chemical energy.",
    "The French Revolution began in 1789 with the storming of the Bastille.",
    "Tokyo is the capital of Japan and its largest city.",
    "Penguins are flightless birds living mostly in the Southern Hemisphere.",
]


@pytest.fixture(scope="module")
def store(minilm_model: str) -> InMemoryDocumentStore:
    embedder = SentenceTransformersDocumentEmbedder(model=minilm_model, device="cpu", progress_bar=False)
    store = InMemoryDocumentStore()
    store.write_documents(embedder.run([Document(t, meta={"n": i}) for i, t in enumerate(TEXTS)])["documents"])
    return store


def _rrf(lists: list[list[Document]], k: int) -> dict[str, float]:
    scores: dict[str, float] = {}
    for ranked in lists:
        for position, doc in enumerate(ranked, start=1):
            scores[doc.id] = scores.get(doc.id, 0.0) + 1.0 / (k + position)
    return scores


def test_hybrid_fuses_bm25_and_dense_by_rrf(store: InMemoryDocumentStore, minilm_model: str) -> None:
    query = "Which city is the capital of France?"
    pipeline = build_hybrid_pipeline(
        store, embedding_model=minilm_model, top_k=4, retriever_top_k=6, rrf_k=30, device="cpu"
    )
    fused = pipeline.run(hybrid_inputs(query))["joiner"]["documents"]

    # Oracle: the two retrievers run on their own, fused with the RRF formula here.
    bm25 = BM25Retriever(store, top_k=6).run(query)["documents"]
    query_vector = SentenceTransformersTextEmbedder(model=minilm_model, device="cpu").run(query)["embedding"]
    matrix, ids = store.embedding_matrix()
    dense_order = np.argsort(-(matrix @ query_vector), kind="stable")[:6]
    dense = store.get_documents_by_id([ids[i] for i in dense_order])
    expected = _rrf([bm25, dense], k=30)
    assert len(fused) == 4
    assert [d.score for d in fused] == pytest.approx(sorted(expected.values(), reverse=True)[:4])
    assert all(d.score == pytest.approx(expected[d.id]) for d in fused)
    assert fused[0].content == TEXTS[0]


def test_paraphrase_with_no_bm25_match_is_found_by_the_dense_side(
    store: InMemoryDocumentStore, minilm_model: str
) -> None:
    query = "tallest peak worldwide"  # no word in common with any passage
    assert BM25Retriever(store, top_k=8).run(query)["documents"] == []
    pipeline = build_hybrid_pipeline(store, embedding_model=minilm_model, top_k=3, device="cpu")
    fused = pipeline.run(hybrid_inputs(query))["joiner"]["documents"]
    assert len(fused) == 3 and fused[0].content == TEXTS[2]


def test_hybrid_with_ranker_and_reader(
    store: InMemoryDocumentStore, minilm_model: str, tiny_cross_encoder_dir: Path, tiny_bert_qa_dir: Path
) -> None:
    from docqa.pipelines.extractive_qa import ExtractiveQAPipeline

    pipeline = build_hybrid_pipeline(
        store,
        embedding_model=minilm_model,
        top_k=2,
        ranker_model=str(tiny_cross_encoder_dir),
        reader_model=str(tiny_bert_qa_dir),
        reader_top_k=3,
        device="cpu",
    )
    assert sorted(pipeline.components) == [
        "bm25_retriever",
        "embedding_retriever",
        "joiner",
        "query_embedder",
        "ranker",
        "reader",
    ]
    result = pipeline.run(hybrid_inputs("capital of France"), include_outputs_from={"joiner", "ranker"})
    ranked = result["ranker"]["documents"]
    assert len(ranked) == 2 and all(0.0 < d.score < 1.0 for d in ranked)
    assert {d.id for d in ranked} <= {d.id for d in result["joiner"]["documents"]}
    answers = result["reader"]["answers"]
    spans = [a for a in answers if not a.is_no_answer]
    assert 1 <= len(spans) <= 3 and sum(a.is_no_answer for a in answers) == 1
    read = {d.id: d for d in ranked}
    for answer in spans:
        assert answer.document is not None and answer.document.id in read
        assert answer.text in read[answer.document.id].content

    qa = ExtractiveQAPipeline.from_pipeline(pipeline)
    out = qa.run("capital of France")
    assert [d.id for d in out["documents"]] == [d.id for d in ranked]


def test_hybrid_pipeline_survives_yaml_round_trip(tmp_path: Path) -> None:
    from docqa.core.pipeline import Pipeline

    store = InMemoryDocumentStore(path=str(tmp_path / "store"))
    pipeline = build_hybrid_pipeline(store, top_k=3, ranker_model="some/ranker", rrf_k=7, dense_weight=0.5)
    loaded = Pipeline.loads(pipeline.dumps())
    assert sorted(loaded.components) == sorted(pipeline.components)
    joiner = loaded.get_component("joiner")
    assert (joiner.join_mode, joiner.weights, joiner.rrf_k) == ("reciprocal_rank_fusion", [1.0, 0.5], 7)
    assert loaded.get_component("ranker").model == "some/ranker"
    assert {(c.sender, c.receiver) for c in loaded.connections} == {
        (c.sender, c.receiver) for c in pipeline.connections
    }
