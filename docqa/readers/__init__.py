"""Readers: extract answer spans from documents."""

from docqa.readers.extractive_reader import DEFAULT_READER_MODEL, ExtractiveReader
from docqa.readers.settings import ReaderSettings

__all__ = ["DEFAULT_READER_MODEL", "ExtractiveReader", "ReaderSettings"]
