"""HTML files (``.html``, ``.htm``): visible text with block structure kept as paragraphs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.dammit import EncodingDetector
from bs4.element import PreformattedString

from docqa.converters._common import (
    Source,
    convert_each,
    decode_utf8,
    file_meta,
    read_bytes,
    require_text,
)
from docqa.core.component import component
from docqa.errors import ConversionError
from docqa.schema import Document

#: Elements whose content is never visible text (or is navigation chrome rather than the page's content).
DROPPED_TAGS = ("head", "script", "style", "noscript", "template", "nav", "svg", "iframe", "object", "canvas")

#: Elements that start and end a paragraph of their own.
BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog", "div"),
        *(
            "dl",
            "dt",
            "fieldset",
            "figcaption",
            "figure",
            "footer",
            "form",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
        ),
        *("header", "hgroup", "hr", "html", "legend", "li", "main", "menu", "ol", "p", "pre", "section"),
        *("summary", "table", "tbody", "thead", "tfoot", "tr", "ul"),
    }
)
#: Inline elements that still separate words (table cells, list-like inline boxes).
SEPARATING_TAGS = frozenset({"td", "th", "option", "label", "button"})

_SPACES = re.compile(r"\s+")


@dataclass
class _Paragraphs:
    """Accumulates inline text; a block boundary turns the pending text into a finished paragraph."""

    done: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=lambda: [""])

    def add(self, text: str) -> None:
        self.lines[-1] += text

    def line_break(self) -> None:
        self.lines.append("")

    def flush(self) -> None:
        lines = [_SPACES.sub(" ", line).strip() for line in self.lines]
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            self.done.append(paragraph)
        self.lines = [""]


def _events(root: Tag) -> Iterator[tuple[str, Any]]:
    """Depth-first ``("start", tag)``, ``("text", str)``, ``("end", tag)`` events, without recursion.

    Explicit stack rather than recursion: deeply nested (often machine-generated) HTML must not hit the
    interpreter's recursion limit.
    """
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            yield "end", node
        elif isinstance(node, Tag):
            yield "start", node
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.contents))
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            # PreformattedString covers comments, CDATA, doctypes and processing instructions.
            yield "text", str(node)


def _extract_preformatted(tag: Tag, paragraphs: _Paragraphs) -> None:
    paragraphs.flush()
    text = tag.get_text().strip("\n")
    if text.strip():
        paragraphs.done.append(text)


def html_to_text(markup: str | bytes) -> tuple[str, str | None]:
    """The visible text of an HTML page and its ``<title>`` (None if it has none).

    Scripts, styles, ``<head>`` and ``<nav>`` are dropped; every block element (paragraph, heading, list
    item, table row, ...) becomes a paragraph, paragraphs are separated by a blank line, whitespace inside a
    paragraph is collapsed (except in ``<pre>``) and entities are decoded.

    >>> html_to_text("<title>T</title><p>Fish &amp; chips</p><script>x()</script><ul><li>a</li><li>b</li>")
    ('Fish & chips\\n\\na\\n\\nb', 'T')
    """
    soup = BeautifulSoup(markup, "lxml")
    title_tag = soup.find("title")
    title = _SPACES.sub(" ", title_tag.get_text()).strip() if title_tag is not None else ""
    for tag in soup.find_all(DROPPED_TAGS):
        tag.decompose()
    paragraphs = _Paragraphs()
    skip_until: Tag | None = None
    for kind, value in _events(soup):
        if skip_until is not None:
            if kind == "end" and value is skip_until:
                skip_until = None
            continue
        if kind == "text":
            paragraphs.add(value)
        elif value.name == "pre" and kind == "start":
            _extract_preformatted(value, paragraphs)
            skip_until = value
        elif value.name == "br":
            if kind == "start":
                paragraphs.line_break()
        elif value.name in BLOCK_TAGS:
            paragraphs.flush()
        elif value.name in SEPARATING_TAGS:
            paragraphs.add(" ")
    paragraphs.flush()
    return "\n\n".join(paragraphs.done), (title or None)


def _decode_markup(data: bytes, path: Source) -> str | bytes:
    """UTF-8 text, or the raw bytes when the page itself declares another charset (lxml then honours it)."""
    try:
        return decode_utf8(data, path, universal_newlines=True)
    except ConversionError:
        declared = EncodingDetector.find_declared_encoding(data, is_html=True)
        if declared is None or declared.lower().replace("_", "-") in ("utf-8", "utf8"):
            raise
        return data


def convert_html_file(path: Source, meta: dict[str, Any] | None = None) -> list[Document]:
    """Convert one HTML file into a :class:`Document`; its ``<title>`` goes into ``meta["title"]``.

    The file must be UTF-8 unless it declares another charset (``<meta charset="...">``).
    """
    data = read_bytes(path)
    markup = _decode_markup(data, path)
    require_text(markup if isinstance(markup, str) else data.decode("latin-1"), path)
    try:
        text, title = html_to_text(markup)
    except Exception as error:  # lxml/bs4 raise assorted types on pathological input
        raise ConversionError(f"{path}: cannot parse HTML ({error})") from None
    require_text(text, path, what="visible text")
    document_meta = file_meta(path, meta)
    if title is not None:
        document_meta["title"] = title
    return [Document(content=text, meta=document_meta)]


def convert_html_files(sources: Iterable[Source], meta: dict[str, Any] | None = None) -> list[Document]:
    """:func:`convert_html_file` over several paths, in order."""
    return convert_each(sources, meta, convert_html_file)


@component
class HTMLConverter:
    """Convert ``.html``/``.htm`` files into documents: visible text, one paragraph per block element.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "page.html"
    >>> _ = path.write_text("<head><title>Cats</title></head><body><h1>Cats</h1><p>Cats purr.</p></body>")
    >>> [doc] = HTMLConverter().run(sources=[path])["documents"]
    >>> doc.content, doc.meta["title"]
    ('Cats\\n\\nCats purr.', 'Cats')
    """

    def __init__(self) -> None:
        """HTML extraction has no options."""

    @component.output_types(documents=list[Document])
    def run(self, sources: list[Source], meta: dict | None = None) -> dict[str, list[Document]]:
        return {"documents": convert_html_files(sources, meta)}
