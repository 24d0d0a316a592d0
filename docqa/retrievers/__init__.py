"""Retrievers: components that fetch candidate documents for a query from a document store."""

from __future__ import annotations

from docqa.retrievers.bm25_retriever import BM25Retriever
from docqa.retrievers.embedding_retriever import EmbeddingRetriever

__all__ = ["BM25Retriever", "EmbeddingRetriever"]
