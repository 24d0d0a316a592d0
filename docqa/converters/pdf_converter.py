"""PDF files (``.pdf``): the text layer extracted with pypdf, one document per file or per page."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from docqa.converters._common import Source, convert_each, file_meta, read_bytes
from docqa.core.component import component
from docqa.errors import ConversionError
from docqa.schema import Document

#: Separator between pages with text in a whole-file document; ``meta["page_starts"]`` says where each begins.
PAGE_SEPARATOR = "\n\n"


def _page_texts(path: Source) -> list[str]:
    try:
        from pypdf import PdfReader
    except ImportError:  # pypdf is the optional "pdf" extra
        raise ConversionError(f"{path}: reading PDF needs pypdf: pip install 'docqa[pdf]'") from None
    data = read_bytes(path)
    try:
        with _quiet_pypdf():
            return _extract(PdfReader, data, path)
    except ConversionError:
        raise
    except Exception as error:  # pypdf raises many exception types on damaged files
        raise ConversionError(f"{path}: cannot read PDF ({type(error).__name__}: {error})") from None


def _extract(reader_class: Any, data: bytes, path: Source) -> list[str]:
    reader = reader_class(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise ConversionError(f"{path}: the PDF is encrypted with a password")
    return [(page.extract_text() or "").strip() for page in reader.pages]


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Keep pypdf's own log lines and warnings ("EOF marker not found") off stderr: docqa reports the file."""
    logger = logging.getLogger("pypdf")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(previous)


def convert_pdf_file(path: Source, meta: dict[str, Any] | None = None, per_page: bool = False) -> list[Document]:
    """Convert a PDF's text layer into documents.

    With ``per_page=False`` (default) one document per file: pages joined by a blank line, with
    ``meta["page_count"]`` and ``meta["page_starts"]`` (the character offset where each page's text begins, so
    an answer's offset can be mapped to its page). With ``per_page=True`` one document per page that has text,
    with ``meta["page_number"]`` (1-based). A PDF without any text layer (e.g. scanned images) raises
    :class:`~docqa.errors.ConversionError`.
    """
    pages = _page_texts(path)
    if not any(pages):
        raise ConversionError(f"{path}: the PDF has no extractable text (scanned images need OCR first)")
    base = file_meta(path, meta)
    if per_page:
        return [
            Document(content=text, meta={**base, "page_number": number})
            for number, text in enumerate(pages, start=1)
            if text
        ]
    # Empty pages add no separator, so the text has no runs of blank lines; they still get a start offset.
    parts: list[str] = []
    starts: list[int] = []
    offset = 0
    for text in pages:
        if parts and text:
            offset += len(PAGE_SEPARATOR)
        starts.append(offset)
        if text:
            parts.append(text)
            offset += len(text)
    content = PAGE_SEPARATOR.join(parts)
    return [Document(content=content, meta={**base, "page_count": len(pages), "page_starts": starts})]


def convert_pdf_files(
    sources: Iterable[Source], meta: dict[str, Any] | None = None, per_page: bool = False
) -> list[Document]:
    """:func:`convert_pdf_file` over several paths, in order."""
    return convert_each(sources, meta, lambda path, m: convert_pdf_file(path, m, per_page))


@component
class PDFConverter:
    """Convert ``.pdf`` files into documents with pypdf (install the ``docqa[pdf]`` extra).

    Usage (needs a PDF with a text layer)::

        docs = PDFConverter(per_page=True).run(sources=["report.pdf"])["documents"]
        docs[0].meta["page_number"]  # 1
    """

    def __init__(self, per_page: bool = False) -> None:
        self.per_page = per_page

    @component.output_types(documents=list[Document])
    def run(self, sources: list[Source], meta: dict | None = None) -> dict[str, list[Document]]:
        return {"documents": convert_pdf_files(sources, meta, self.per_page)}
