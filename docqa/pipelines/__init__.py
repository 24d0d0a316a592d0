"""Ready-made pipelines: extractive QA over BM25, and hybrid (BM25 + dense) retrieval."""

from __future__ import annotations

from docqa.pipelines.extractive_qa import (
    BM25_RETRIEVER_WEIGHT,
    DEFAULT_READER_MODEL,
    QA_GROUP_BY,
    ExtractiveQAPipeline,
    build_bm25_qa_pipeline,
    build_extractive_qa_pipeline,
)
from docqa.pipelines.hybrid import build_hybrid_pipeline, hybrid_inputs

__all__ = [
    "BM25_RETRIEVER_WEIGHT",
    "DEFAULT_READER_MODEL",
    "QA_GROUP_BY",
    "ExtractiveQAPipeline",
    "build_bm25_qa_pipeline",
    "build_extractive_qa_pipeline",
    "build_hybrid_pipeline",
    "hybrid_inputs",
]
