"""Joiners: combine the outputs of several retrievers."""

from __future__ import annotations

from docqa.joiners.document_joiner import DocumentJoiner

__all__ = ["DocumentJoiner"]
