"""JSON files (``.json``): a SQuAD file (one document per paragraph), or an array of document records
``[{"content": "...", "meta": {...}}, ...]`` (read as JSON Lines records are: other fields become meta too)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from docqa.converters._common import Source, convert_each, file_meta, read_text, require_text
from docqa.converters.jsonl_converter import record_content
from docqa.converters.squad_converter import squad_documents
from docqa.core.component import component
from docqa.errors import ConversionError
from docqa.schema import Document


def convert_json_file(path: Source, meta: dict[str, Any] | None = None) -> list[Document]:
    """The documents of a ``.json`` file: a SQuAD file (``{"data": [...]}``, see
    :func:`~docqa.converters.squad_converter.convert_squad_file`) or an array of records (meta: the record's,
    plus ``file_path``, ``file_name`` and ``record_index``, its 0-based place in the array). A malformed record
    raises :class:`ConversionError` naming the file and its index: a file is converted whole or not at all."""
    text = require_text(read_text(path), path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConversionError(f"{path}: invalid JSON ({error.msg} at line {error.lineno})") from None
    if isinstance(data, list):
        return _record_documents(data, path, meta)
    if isinstance(data, dict) and "data" in data:
        return squad_documents(data, path, meta)
    raise ConversionError(
        f"{path}: not a SQuAD file (an object with a 'data' list) nor an array of documents "
        '([{"content": "...", "meta": {...}}, ...])'
    )


def _record_documents(records: list[Any], path: Source, meta: dict[str, Any] | None) -> list[Document]:
    documents = []
    for index, record in enumerate(records):
        content, record_meta = record_content(record, f"{path}: [{index}]")
        document_meta = {**(meta if meta is not None else {}), **record_meta, **file_meta(path, None)}
        document_meta["record_index"] = index
        documents.append(Document(content=content, meta=document_meta))
    if not documents:
        raise ConversionError(f"{path}: the array holds no documents")
    return documents


def convert_json_files(sources: Iterable[Source], meta: dict[str, Any] | None = None) -> list[Document]:
    """:func:`convert_json_file` over several paths, in order."""
    return convert_each(sources, meta, convert_json_file)


@component
class JSONConverter:
    """Convert ``.json`` files: SQuAD files or arrays of document records.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "docs.json"
    >>> _ = path.write_text('[{"content": "Cats purr.", "meta": {"lang": "en"}}, {"content": "Dogs bark."}]')
    >>> documents = JSONConverter().run(sources=[path])["documents"]
    >>> [(d.content, d.meta.get("lang"), d.meta["record_index"]) for d in documents]
    [('Cats purr.', 'en', 0), ('Dogs bark.', None, 1)]
    """

    @component.output_types(documents=list[Document])
    def run(self, sources: list[Source], meta: dict | None = None) -> dict[str, list[Document]]:
        return {"documents": convert_json_files(sources, meta)}
