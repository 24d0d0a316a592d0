"""Plain-text files (``.txt``): one document per file, the text as it is."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from docqa.converters._common import Source, convert_each, file_meta, read_text, require_text
from docqa.core.component import component
from docqa.schema import Document


def convert_text_file(path: Source, meta: dict[str, Any] | None = None) -> list[Document]:
    """Read a UTF-8 text file into one :class:`Document` whose content is the file's decoded text without the BOM.

    Line endings are kept (``\\r\\n`` stays ``\\r\\n``), so offsets into the content, and answer spans, are
    offsets into the text of the file as a user reads it: ``open(path, encoding="utf-8-sig", newline="").read()``.

    Raises :class:`~docqa.errors.ConversionError` naming the file if it is unreadable, not UTF-8 or empty.
    """
    text = require_text(read_text(path), path)
    return [Document(content=text, meta=file_meta(path, meta))]


@component
class TextFileConverter:
    """Convert ``.txt`` files into documents, one per file.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = path.write_text("Paris is the capital of France.", encoding="utf-8")
    >>> [doc] = TextFileConverter().run(sources=[path], meta={"lang": "en"})["documents"]
    >>> doc.content, doc.meta["file_name"], doc.meta["lang"]
    ('Paris is the capital of France.', 'a.txt', 'en')
    """

    def __init__(self) -> None:
        """Plain text needs no configuration."""

    @component.output_types(documents=list[Document])
    def run(self, sources: list[Source], meta: dict | None = None) -> dict[str, list[Document]]:
        return {"documents": convert_text_files(sources, meta)}


def convert_text_files(sources: Iterable[Source], meta: dict[str, Any] | None = None) -> list[Document]:
    """:func:`convert_text_file` over several paths, in order."""
    return convert_each(sources, meta, convert_text_file)
