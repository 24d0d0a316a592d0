"""Text analysis for lexical retrieval: the tokenizer BM25 indexes and queries with."""

from __future__ import annotations

from docqa.text.analyzer import ENGLISH_STOPWORDS, Analyzer

__all__ = ["ENGLISH_STOPWORDS", "Analyzer"]
