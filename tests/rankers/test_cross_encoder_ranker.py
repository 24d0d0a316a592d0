"""CrossEncoderRanker with a tiny random BertForSequenceClassification, checked against the model's own logits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from shared_assets import build_tiny_classifier

from docqa.core.component import init_parameters
from docqa.errors import ComponentError, ModelLoadError
from docqa.rankers import CrossEncoderRanker
from docqa.schema import Document

QUERY = "where do penguins live?"
DOCS = [
    Document("Penguins live almost exclusively in the Southern Hemisphere.", meta={"title": "Penguin"}),
    Document("The Eiffel Tower is in Paris.", meta={"title": "Eiffel"}),
    Document("Emperor penguins breed in Antarctica during winter.", meta={"title": "Emperor"}),
    Document("Rust is a systems programming language.", meta={}),
    Document("Polar bears live in the Arctic, not with penguins.", meta={"title": "Bears"}),
    Document("Bananas are rich in potassium.", meta={"title": "Fruit"}),
]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Large initial weights: well-separated logits, so the order checked below is not decided by rounding.
    directory = tmp_path_factory.mktemp("wide-cross-encoder")
    return build_tiny_classifier(directory, num_hidden_layers=2, initializer_range=0.5)


def _direct_logits(model_dir: Path, query: str, texts: list[str], dtype: object = None) -> np.ndarray:
    """The oracle: tokenizer + model called directly with transformers, no sentence-transformers involved."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    precision = {} if dtype is None else {"dtype": dtype}
    model = BertForSequenceClassification.from_pretrained(model_dir, **precision).eval()
    encoded = tokenizer([query] * len(texts), texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        return model(**encoded).logits[:, 0].double().numpy()


def test_bfloat16_ranker_follows_the_bfloat16_model(tiny_cross_encoder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from docqa import hub

    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset({"amx_bf16"}))
    ranker = CrossEncoderRanker(model=str(tiny_cross_encoder), device="cpu", dtype="bfloat16", batch_size=len(DOCS))
    logits = ranker.logits(QUERY, DOCS)
    assert {p.dtype for p in ranker._cross_encoder.model.parameters()} == {torch.bfloat16}
    expected = _direct_logits(tiny_cross_encoder, QUERY, [d.content for d in DOCS], dtype=torch.bfloat16)
    np.testing.assert_allclose(logits, expected, atol=1e-6)  # the same bfloat16 computation
    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset())
    with pytest.raises(
        ComponentError, match=r"^CrossEncoderRanker: dtype='bfloat16' does not run natively on this CPU"
    ):
        CrossEncoderRanker(model=str(tiny_cross_encoder), device="cpu", dtype="bfloat16").warm_up()


def test_ranking_follows_model_logits_and_scores_are_sigmoid(tiny_cross_encoder: Path) -> None:
    logits = _direct_logits(tiny_cross_encoder, QUERY, [d.content for d in DOCS])
    assert np.ptp(logits) > 1e-2  # the test can tell orders apart
    ranker = CrossEncoderRanker(model=str(tiny_cross_encoder), top_k=4, device="cpu", batch_size=2)
    out = ranker.run(QUERY, DOCS)["documents"]
    expected_order = list(np.argsort(-logits, kind="stable")[:4])
    assert [d.id for d in out] == [DOCS[i].id for i in expected_order]
    probabilities = 1.0 / (1.0 + np.exp(-logits))
    assert [d.score for d in out] == pytest.approx(list(probabilities[expected_order]), abs=1e-5)
    assert all(0.0 < d.score < 1.0 for d in out)
    assert all(d.score is None for d in DOCS)  # inputs untouched


def test_run_batch_ranks_each_query_by_the_models_logits(tiny_cross_encoder: Path) -> None:
    queries, lists = [QUERY, "which language is for systems?", "fruit"], [DOCS, DOCS[2:5], []]
    ranker = CrossEncoderRanker(model=str(tiny_cross_encoder), top_k=3, device="cpu", batch_size=4)
    found = ranker.run_batch(queries, lists)["documents"]
    for query, documents, ranked in zip(queries, lists, found, strict=True):
        if not documents:
            assert ranked == []
            continue
        logits = _direct_logits(tiny_cross_encoder, query, [d.content for d in documents])
        order = list(np.argsort(-logits, kind="stable")[:3])
        assert [d.id for d in ranked] == [documents[i].id for i in order]
        assert [d.score for d in ranked] == pytest.approx(list(1.0 / (1.0 + np.exp(-logits[order]))), abs=1e-5)
    with pytest.raises(ComponentError, match="2 queries but 1 document lists"):
        ranker.run_batch([QUERY, QUERY], [DOCS])


def test_raw_logits_without_scaling_and_run_top_k(tiny_cross_encoder: Path) -> None:
    logits = _direct_logits(tiny_cross_encoder, QUERY, [d.content for d in DOCS])
    ranker = CrossEncoderRanker(model=str(tiny_cross_encoder), scale_score=False, device="cpu")
    out = ranker.run(QUERY, DOCS, top_k=2)["documents"]
    assert [d.score for d in out] == pytest.approx(sorted(logits, reverse=True)[:2], abs=1e-5)


def test_meta_fields_are_read_with_the_content(tiny_cross_encoder: Path) -> None:
    texts = [f"{d.meta['title']}\n{d.content}" if "title" in d.meta else d.content for d in DOCS]
    logits = _direct_logits(tiny_cross_encoder, QUERY, texts)
    ranker = CrossEncoderRanker(
        model=str(tiny_cross_encoder), meta_fields_to_embed=["title"], scale_score=False, device="cpu", top_k=6
    )
    scores = {d.id: d.score for d in ranker.run(QUERY, DOCS)["documents"]}
    assert [scores[d.id] for d in DOCS] == pytest.approx(list(logits), abs=1e-5)


def test_empty_documents_and_bad_input(tiny_cross_encoder: Path) -> None:
    ranker = CrossEncoderRanker(model=str(tiny_cross_encoder), device="cpu")
    assert ranker.run(QUERY, []) == {"documents": []}
    with pytest.raises(ComponentError):
        ranker.run(QUERY, DOCS, top_k=0)
    with pytest.raises(ComponentError):
        CrossEncoderRanker(top_k=0)


def test_multi_label_model_is_rejected(tmp_path: Path) -> None:
    directory = build_tiny_classifier(tmp_path, num_labels=3)
    with pytest.raises(ComponentError, match="3 output labels"):
        CrossEncoderRanker(model=str(directory), device="cpu").warm_up()


def test_missing_model_gives_model_load_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    with pytest.raises(ModelLoadError, match="nope") as info:
        CrossEncoderRanker(model=missing).run(QUERY, DOCS)
    assert "\n" not in str(info.value)


def test_init_parameters() -> None:
    params = init_parameters(CrossEncoderRanker(top_k=3))
    assert params["model"] == "cross-encoder/ms-marco-MiniLM-L-6-v2" and params["top_k"] == 3
    assert params["scale_score"] is True
