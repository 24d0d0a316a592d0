"""Markdown files (``.md``, ``.markdown``): the text a reader sees, without markup syntax."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from docqa.converters._common import Source, convert_each, file_meta, read_text, require_text
from docqa.converters.html_converter import html_to_text
from docqa.core.component import component
from docqa.schema import Document

# YAML front matter (Jekyll, Hugo...) is metadata, not prose; CommonMark would render it as a rule + text.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_BR_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)
_SPACES_AROUND_NEWLINE = re.compile(r"[ \t]*\n[ \t]*")


def _parser() -> MarkdownIt:
    # A fresh parser per call: MarkdownIt instances are mutable, so none is shared process-wide.
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _inline_text(children: Sequence[Token]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "text_special", "code_inline", "image"):
            parts.append(child.content)  # an image's content is its alt text
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak" or (child.type == "html_inline" and _BR_TAG.fullmatch(child.content)):
            parts.append("\n")
    return _SPACES_AROUND_NEWLINE.sub("\n", "".join(parts)).strip()


def markdown_to_text(source: str) -> tuple[str, str | None]:
    """The plain text of a Markdown document and its first level-1 heading (None if it has none).

    Emphasis, links, images (their alt text is kept), code spans and inline HTML lose their syntax; every
    block (heading, paragraph, list item, code block, table) becomes a paragraph, separated by blank lines;
    table rows become lines with cells joined by `` | ``.

    >>> markdown_to_text("# Cats\\n\\nCats *purr*, see [the docs](http://x).\\n\\n- one\\n- `two`")
    ('Cats\\n\\nCats purr, see the docs.\\n\\none\\n\\ntwo', 'Cats')
    """
    tokens = _parser().parse(_FRONT_MATTER.sub("", source, count=1))
    blocks: list[str] = []
    title: str | None = None
    row: list[str] | None = None
    rows: list[str] = []
    for index, token in enumerate(tokens):
        if token.type == "inline":
            text = _inline_text(token.children or [])
            if row is not None:
                row.append(text)
            else:
                blocks.append(text)
            previous = tokens[index - 1] if index else None
            if title is None and previous is not None and previous.type == "heading_open" and previous.tag == "h1":
                title = text
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.strip("\n"))
        elif token.type == "html_block":
            blocks.append(html_to_text(token.content)[0])
        elif token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            rows.append(" | ".join(row))
            row = None
        elif token.type == "table_close":
            blocks.append("\n".join(rows))
    return "\n\n".join(block for block in blocks if block.strip()), (title or None)


def convert_markdown_file(path: Source, meta: dict[str, Any] | None = None) -> list[Document]:
    """Convert one Markdown file into a :class:`Document`; the first ``# heading`` is ``meta["title"]``."""
    text, title = markdown_to_text(require_text(read_text(path, universal_newlines=True), path))
    require_text(text, path, what="text (after removing Markdown syntax)")
    document_meta = file_meta(path, meta)
    if title is not None:
        document_meta["title"] = title
    return [Document(content=text, meta=document_meta)]


def convert_markdown_files(sources: Iterable[Source], meta: dict[str, Any] | None = None) -> list[Document]:
    """:func:`convert_markdown_file` over several paths, in order."""
    return convert_each(sources, meta, convert_markdown_file)


@component
class MarkdownConverter:
    """Convert ``.md`` files into documents of plain text (Markdown syntax removed, blocks as paragraphs).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.md"
    >>> _ = path.write_text("# Notes\\n\\nSee **this** [link](https://example.org).\\n", encoding="utf-8")
    >>> [doc] = MarkdownConverter().run(sources=[path])["documents"]
    >>> doc.content, doc.meta["title"]
    ('Notes\\n\\nSee this link.', 'Notes')
    """

    def __init__(self) -> None:
        """Markdown extraction has no options."""

    @component.output_types(documents=list[Document])
    def run(self, sources: list[Source], meta: dict | None = None) -> dict[str, list[Document]]:
        return {"documents": convert_markdown_files(sources, meta)}
