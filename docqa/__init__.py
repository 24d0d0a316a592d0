"""docqa: extractive question answering over document collections.

>>> from docqa import Document, InMemoryDocumentStore, BM25Retriever
>>> store = InMemoryDocumentStore()
>>> store.write_documents([Document("Paris is the capital of France."), Document("Berlin is in Germany.")])
2
>>> BM25Retriever(store, top_k=1).run(query="capital of France")["documents"][0].content
'Paris is the capital of France.'

Heavy parts (the reader, embedders, rankers: torch) are imported only when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from docqa.errors import DocqaError
from docqa.schema import Answer, AnswerSource, Document, Span

__version__ = "0.1.0"

_LAZY_EXPORTS: dict[str, str] = {
    "component": "docqa.core.component",
    "Pipeline": "docqa.core.pipeline",
    "DuplicatePolicy": "docqa.document_stores.base",
    "InMemoryDocumentStore": "docqa.document_stores.in_memory",
    "convert_paths": "docqa.converters",
    "FileConverter": "docqa.converters",
    "DocumentSplitter": "docqa.preprocessors",
    "BM25Retriever": "docqa.retrievers.bm25_retriever",
    "EmbeddingRetriever": "docqa.retrievers.embedding_retriever",
    "SentenceTransformersDocumentEmbedder": "docqa.embedders",
    "SentenceTransformersTextEmbedder": "docqa.embedders",
    "DocumentJoiner": "docqa.joiners",
    "CrossEncoderRanker": "docqa.rankers",
    "ExtractiveReader": "docqa.readers",
    "ExtractiveQAPipeline": "docqa.pipelines",
    "FillMask": "docqa.fill_mask",
    "DocumentWriter": "docqa.writers",
}

__all__ = [
    "Answer",
    "AnswerSource",
    "BM25Retriever",
    "CrossEncoderRanker",
    "DocqaError",
    "Document",
    "DocumentJoiner",
    "DocumentSplitter",
    "DocumentWriter",
    "DuplicatePolicy",
    "EmbeddingRetriever",
    "ExtractiveQAPipeline",
    "ExtractiveReader",
    "FileConverter",
    "FillMask",
    "InMemoryDocumentStore",
    "Pipeline",
    "SentenceTransformersDocumentEmbedder",
    "SentenceTransformersTextEmbedder",
    "Span",
    "__version__",
    "component",
    "convert_paths",
]


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'docqa' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: the next access skips __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from docqa.converters import FileConverter, convert_paths
    from docqa.core.component import component
    from docqa.core.pipeline import Pipeline
    from docqa.document_stores.base import DuplicatePolicy
    from docqa.document_stores.in_memory import InMemoryDocumentStore
    from docqa.embedders import SentenceTransformersDocumentEmbedder, SentenceTransformersTextEmbedder
    from docqa.fill_mask import FillMask
    from docqa.joiners import DocumentJoiner
    from docqa.pipelines import ExtractiveQAPipeline
    from docqa.rankers import CrossEncoderRanker
    from docqa.readers import ExtractiveReader
    from docqa.retrievers.bm25_retriever import BM25Retriever
    from docqa.retrievers.embedding_retriever import EmbeddingRetriever
    from docqa.writers import DocumentWriter
