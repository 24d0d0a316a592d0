"""Writers: the last component of an indexing pipeline, putting documents into a document store."""

from __future__ import annotations

from docqa.writers.document_writer import DocumentWriter

__all__ = ["DocumentWriter"]
