"""Readers: extract answer spans from documents."""

from docqa.readers.extractive_reader import ExtractiveReader

__all__ = ["ExtractiveReader"]
