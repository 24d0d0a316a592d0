"""JSON Lines files (``.jsonl``): one document per line, ``{"content": "...", <meta fields>...}``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from docqa.converters._common import Source, convert_each, file_meta, read_text, require_text
from docqa.core.component import component
from docqa.errors import ConversionError
from docqa.schema import Document


def _record_meta(record: dict[str, Any], content_field: str) -> dict[str, Any]:
    meta = {key: value for key, value in record.items() if key not in (content_field, "meta")}
    # A nested "meta" object (docqa's own Document.to_dict form) is flattened rather than nested twice.
    nested = record.get("meta")
    if isinstance(nested, dict):
        meta.update(nested)
    elif nested is not None:
        meta["meta"] = nested
    return meta


def _parse_line(line: str, path: Source, number: int, content_field: str) -> tuple[str, dict[str, Any]]:
    where = f"{path}: line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ConversionError(f"{where}: invalid JSON ({error.msg} at column {error.colno})") from None
    return record_content(record, where, content_field)


def record_content(record: Any, where: str, content_field: str = "content") -> tuple[str, dict[str, Any]]:
    """``(content, meta)`` of one document record ``{"content": "...", <meta fields>..., "meta": {...}?}``;
    :class:`ConversionError` starting with ``where`` when it is not one."""
    if not isinstance(record, dict):
        raise ConversionError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if content_field not in record:
        raise ConversionError(f"{where}: missing the {content_field!r} field")
    content = record[content_field]
    if not isinstance(content, str):
        raise ConversionError(f"{where}: {content_field!r} must be a string, not {type(content).__name__}")
    if not content.strip():
        raise ConversionError(f"{where}: {content_field!r} is empty")
    return content, _record_meta(record, content_field)


def convert_jsonl_file(
    path: Source, meta: dict[str, Any] | None = None, content_field: str = "content"
) -> list[Document]:
    """One :class:`Document` per non-blank line of a JSON Lines file.

    Every field other than ``content_field`` becomes meta (a nested ``"meta"`` object is merged in), as do
    ``file_path``, ``file_name`` and ``line_number``. A malformed line raises
    :class:`~docqa.errors.ConversionError` naming the file and line: a file is converted whole or not at all.
    """
    text = require_text(read_text(path, universal_newlines=True), path)
    documents: list[Document] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        content, record_meta = _parse_line(line, path, number, content_field)
        document_meta = {**(meta if meta is not None else {}), **record_meta, **file_meta(path, None)}
        document_meta["line_number"] = number
        documents.append(Document(content=content, meta=document_meta))
    return documents


@component
class JSONLConverter:
    """Convert ``.jsonl`` files into documents, one per line.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "docs.jsonl"
    >>> _ = path.write_text('{"content": "Cats purr.", "lang": "en"}\\n{"content": "Dogs bark."}\\n')
    >>> docs = JSONLConverter().run(sources=[path])["documents"]
    >>> [(d.content, d.meta.get("lang"), d.meta["line_number"]) for d in docs]
    [('Cats purr.', 'en', 1), ('Dogs bark.', None, 2)]
    """

    def __init__(self, content_field: str = "content") -> None:
        self.content_field = content_field

    @component.output_types(documents=list[Document])
    def run(self, sources: list[Source], meta: dict | None = None) -> dict[str, list[Document]]:
        return {"documents": convert_jsonl_files(sources, meta, content_field=self.content_field)}


def convert_jsonl_files(
    sources: Iterable[Source], meta: dict[str, Any] | None = None, content_field: str = "content"
) -> list[Document]:
    """:func:`convert_jsonl_file` over several paths, in order."""
    return convert_each(sources, meta, lambda path, m: convert_jsonl_file(path, m, content_field))
