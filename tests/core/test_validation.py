"""One rule and one message for components' integer settings, in every component that takes one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from docqa.core.validation import check_int, check_optional_int
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.embedders import SentenceTransformersDocumentEmbedder, SentenceTransformersTextEmbedder
from docqa.errors import ComponentError
from docqa.joiners.document_joiner import DocumentJoiner
from docqa.rankers.cross_encoder_ranker import CrossEncoderRanker
from docqa.readers.extractive_reader import ExtractiveReader
from docqa.retrievers.bm25_retriever import BM25Retriever
from docqa.retrievers.embedding_retriever import EmbeddingRetriever
from docqa.schema import Document

BAD_VALUES = [True, False, "3", 3.0, 0, -1, None]


@pytest.mark.parametrize("value", [1, 7, np.int64(4)])
def test_check_int_accepts_integers_and_returns_plain_ints(value: Any) -> None:
    checked = check_int("Owner", "top_k", value)
    assert checked == value and type(checked) is int


@pytest.mark.parametrize("value", BAD_VALUES)
def test_check_int_rejects_everything_else_with_one_message(value: Any) -> None:
    with pytest.raises(ComponentError) as raised:
        check_int("Owner", "top_k", value)
    assert str(raised.value) == f"Owner: top_k must be an integer >= 1, got {value!r}"


def test_minimum_and_optional() -> None:
    assert check_int("Owner", "doc_stride", 0, minimum=0) == 0
    with pytest.raises(ComponentError, match=r"^Owner: doc_stride must be an integer >= 0, got -1$"):
        check_int("Owner", "doc_stride", -1, minimum=0)
    assert check_optional_int("Owner", "top_k", None) is None
    with pytest.raises(ComponentError, match=r"^Owner: top_k must be an integer >= 1 or None, got True$"):
        check_optional_int("Owner", "top_k", True)


def _store() -> InMemoryDocumentStore:
    store = InMemoryDocumentStore()
    store.write_documents([Document("Paris is in France.", embedding=np.array([1.0, 0.0]))])
    return store


# Each builds the component with one integer setting set to ``value``; none of them loads a model.
CONSTRUCTORS: dict[str, Callable[[Any], object]] = {
    "BM25Retriever.top_k": lambda v: BM25Retriever(_store(), top_k=v),
    "EmbeddingRetriever.top_k": lambda v: EmbeddingRetriever(_store(), top_k=v),
    "EmbeddingRetriever.ann_ef_search": lambda v: EmbeddingRetriever(_store(), ann_ef_search=v),
    "ExtractiveReader.top_k": lambda v: ExtractiveReader(model="unused", top_k=v),
    "ExtractiveReader.max_answer_length": lambda v: ExtractiveReader(model="unused", max_answer_length=v),
    "CrossEncoderRanker.top_k": lambda v: CrossEncoderRanker(model="unused", top_k=v),
    "SentenceTransformersDocumentEmbedder.batch_size": lambda v: SentenceTransformersDocumentEmbedder(
        model="unused", batch_size=v
    ),
    "SentenceTransformersTextEmbedder.batch_size": lambda v: SentenceTransformersTextEmbedder(
        model="unused", batch_size=v
    ),
}


@pytest.mark.parametrize("value", [True, "3", 0])
@pytest.mark.parametrize("setting", sorted(CONSTRUCTORS))
def test_every_component_rejects_bad_integers_the_same_way(setting: str, value: Any) -> None:
    owner, name = setting.split(".")
    with pytest.raises(ComponentError) as raised:
        CONSTRUCTORS[setting](value)
    assert str(raised.value) == f"{owner}: {name} must be an integer >= 1, got {value!r}"


@pytest.mark.parametrize("setting", sorted(CONSTRUCTORS))
def test_every_component_accepts_a_good_integer(setting: str) -> None:
    CONSTRUCTORS[setting](2)


@pytest.mark.parametrize("value", [True, "3", 0])
def test_run_time_top_k_is_checked_the_same_way(value: Any) -> None:
    runs: dict[str, Callable[[], object]] = {
        "BM25Retriever": lambda: BM25Retriever(_store()).run("Paris", top_k=value),
        "EmbeddingRetriever": lambda: EmbeddingRetriever(_store()).run(np.array([1.0, 0.0]), top_k=value),
        "DocumentJoiner": lambda: DocumentJoiner().run([[Document("a")]], top_k=value),
    }
    for owner, run in runs.items():
        with pytest.raises(ComponentError) as raised:
            run()
        assert str(raised.value) == f"{owner}: top_k must be an integer >= 1, got {value!r}"


def test_joiner_top_k_may_be_none() -> None:
    assert len(DocumentJoiner(top_k=None).run([[Document("a"), Document("b")]])["documents"]) == 2
    with pytest.raises(ComponentError, match=r"^DocumentJoiner: top_k must be an integer >= 1 or None, got True$"):
        DocumentJoiner(top_k=True)
