"""Preprocessors: split documents into passages that point back into their source."""

from __future__ import annotations

from docqa.preprocessors.document_splitter import SPLIT_INDEX, DocumentSplitter
from docqa.preprocessors.units import paragraph_spans, sentence_spans, word_spans

__all__ = ["SPLIT_INDEX", "DocumentSplitter", "paragraph_spans", "sentence_spans", "word_spans"]
