"""Embedders: turn documents and queries into vectors for dense retrieval."""

from __future__ import annotations

from docqa.embedders._models import DEFAULT_EMBEDDING_MODEL
from docqa.embedders.sentence_transformers_document_embedder import SentenceTransformersDocumentEmbedder
from docqa.embedders.sentence_transformers_text_embedder import SentenceTransformersTextEmbedder

__all__ = ["DEFAULT_EMBEDDING_MODEL", "SentenceTransformersDocumentEmbedder", "SentenceTransformersTextEmbedder"]
