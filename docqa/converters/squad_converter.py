"""SQuAD-format files (``.json``): every paragraph context becomes a document."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from docqa.converters._common import Source, convert_each, file_meta, read_text, require_text
from docqa.core.component import component
from docqa.errors import ConversionError
from docqa.schema import Document


def _articles(data: Any, path: Source) -> list[Any]:
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ConversionError(f"{path}: not a SQuAD file (expected a JSON object with a 'data' list of articles)")
    return data["data"]


def _question_ids(paragraph: dict[str, Any], where: str) -> list[str]:
    qas = paragraph.get("qas", [])
    if not isinstance(qas, list) or not all(isinstance(qa, dict) and "id" in qa for qa in qas):
        raise ConversionError(f"{where}: 'qas' must be a list of objects with an 'id'")
    return [str(qa["id"]) for qa in qas]


def _article_documents(
    article: Any, article_index: int, path: Source, base_meta: dict[str, Any], include_question_ids: bool
) -> list[Document]:
    where = f"{path}: data[{article_index}]"
    if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
        raise ConversionError(f"{where}: an article must be an object with a 'paragraphs' list")
    title = article.get("title")
    documents: list[Document] = []
    for paragraph_index, paragraph in enumerate(article["paragraphs"]):
        here = f"{where}.paragraphs[{paragraph_index}]"
        context = paragraph.get("context") if isinstance(paragraph, dict) else None
        if not isinstance(context, str):
            raise ConversionError(f"{here}: missing a string 'context'")
        if not context.strip():
            continue  # nothing to retrieve or read in an empty context
        meta = {
            **base_meta,
            "title": title,
            "article_index": article_index,
            "paragraph_index": paragraph_index,
        }
        if include_question_ids:
            meta["question_ids"] = _question_ids(paragraph, here)
        documents.append(Document(content=context, meta=meta))
    return documents


def convert_squad_file(
    path: Source, meta: dict[str, Any] | None = None, include_question_ids: bool = False
) -> list[Document]:
    """One :class:`Document` per paragraph of a SQuAD 1.1/2.0 file.

    Meta: ``title``, ``article_index``, ``paragraph_index`` (0-based, as in the file), ``file_path``,
    ``file_name`` and, with ``include_question_ids``, ``question_ids`` (the ids of the paragraph's questions).
    Contexts are kept exactly as in the file, so SQuAD ``answer_start`` offsets stay valid.
    """
    text = require_text(read_text(path), path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConversionError(f"{path}: invalid JSON ({error.msg} at line {error.lineno})") from None
    return squad_documents(data, path, meta, include_question_ids)


def squad_documents(
    data: Any, path: Source, meta: dict[str, Any] | None = None, include_question_ids: bool = False
) -> list[Document]:
    """:func:`convert_squad_file` of the already parsed JSON ``data`` of ``path``."""
    base_meta = file_meta(path, meta)
    documents: list[Document] = []
    for article_index, article in enumerate(_articles(data, path)):
        documents.extend(_article_documents(article, article_index, path, base_meta, include_question_ids))
    if not documents:
        raise ConversionError(f"{path}: the SQuAD file has no paragraphs")
    return documents


def convert_squad_files(
    sources: Iterable[Source], meta: dict[str, Any] | None = None, include_question_ids: bool = False
) -> list[Document]:
    """:func:`convert_squad_file` over several paths, in order."""
    return convert_each(sources, meta, lambda path, m: convert_squad_file(path, m, include_question_ids))


@component
class SQuADConverter:
    """Convert SQuAD-format ``.json`` files into one document per paragraph context.

    >>> import json, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "dev.json"
    >>> paragraph = {"context": "Cats purr.", "qas": [{"id": "q1"}]}
    >>> squad = {"data": [{"title": "Cats", "paragraphs": [paragraph]}]}
    >>> _ = path.write_text(json.dumps(squad))
    >>> [doc] = SQuADConverter(include_question_ids=True).run(sources=[path])["documents"]
    >>> doc.content, doc.meta["title"], doc.meta["paragraph_index"], doc.meta["question_ids"]
    ('Cats purr.', 'Cats', 0, ['q1'])
    """

    def __init__(self, include_question_ids: bool = False) -> None:
        self.include_question_ids = include_question_ids

    @component.output_types(documents=list[Document])
    def run(self, sources: list[Source], meta: dict | None = None) -> dict[str, list[Document]]:
        return {"documents": convert_squad_files(sources, meta, self.include_question_ids)}
