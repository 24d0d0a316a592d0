from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from docqa.converters import PDFConverter, convert_pdf_file
from docqa.errors import ConversionError

PAGES = [
    ["The Rhine flows through Basel.", "It reaches the sea (North Sea)."],
    [],
    ["Page three speaks of Cologne."],
]


@pytest.fixture
def pdf_path(tmp_path: Path, pdf_bytes: Callable[[list[list[str]]], bytes]) -> Path:
    path = tmp_path / "rivers.pdf"
    path.write_bytes(pdf_bytes(PAGES))
    return path


def _page_text(lines: list[str]) -> str:
    return "\n".join(lines)


def test_whole_file_document_has_every_page_and_page_offsets(pdf_path: Path) -> None:
    [doc] = convert_pdf_file(pdf_path, meta={"lang": "en"})
    assert doc.meta["file_name"] == "rivers.pdf"
    assert doc.meta["file_path"] == str(pdf_path)
    assert doc.meta["lang"] == "en"
    assert doc.meta["page_count"] == 3
    starts = doc.meta["page_starts"]
    assert len(starts) == 3
    for start, lines in zip(starts, PAGES, strict=True):
        text = _page_text(lines)
        assert doc.content[start : start + len(text)] == text
    assert doc.content == _page_text(PAGES[0]) + "\n\n" + _page_text(PAGES[2])


def test_per_page_documents_skip_empty_pages_and_number_from_one(pdf_path: Path) -> None:
    docs = PDFConverter(per_page=True).run(sources=[pdf_path])["documents"]
    assert [d.meta["page_number"] for d in docs] == [1, 3]
    assert [d.content for d in docs] == [_page_text(PAGES[0]), _page_text(PAGES[2])]


def test_pdf_without_text_layer_is_an_error(tmp_path: Path, pdf_bytes: Callable[[list[list[str]]], bytes]) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(pdf_bytes([[], []]))
    with pytest.raises(ConversionError, match=r"scan\.pdf: the PDF has no extractable text"):
        convert_pdf_file(path)


def test_damaged_pdf_is_a_conversion_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    with pytest.raises(ConversionError, match=r"broken\.pdf: cannot read PDF"):
        convert_pdf_file(path)
