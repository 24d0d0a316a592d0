"""Split documents into passages that are exact slices of their source, with offsets back into it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from docqa.core.component import component
from docqa.errors import ComponentError
from docqa.preprocessors.units import paragraph_spans, sentence_spans, word_spans
from docqa.schema import SOURCE_END, SOURCE_ID, SOURCE_START, Document

#: How ``docqa index`` splits files unless told otherwise: passages of 120 words, consecutive ones sharing 20.
INDEX_SPLIT: dict[str, Any] = {"split_by": "word", "split_length": 120, "split_overlap": 20}

#: Meta key holding a passage's position (0-based) among the passages of its source document.
SPLIT_INDEX = "split_index"

_UNITS: dict[str, Callable[[str], list[tuple[int, int]]]] = {
    "word": word_spans,
    "sentence": sentence_spans,
    "passage": paragraph_spans,
}


def _windows(count: int, length: int, overlap: int, threshold: int) -> list[tuple[int, int]]:
    """Unit index ranges ``[first, last)``: ``length`` units each, consecutive ones sharing ``overlap``."""
    windows: list[tuple[int, int]] = []
    start = 0
    while start < count:
        end = min(start + length, count)
        windows.append((start, end))
        if end == count:
            break  # another window would lie entirely inside this one's overlap
        start = end - overlap
    if len(windows) > 1 and windows[-1][1] - windows[-1][0] < threshold:
        windows.pop()
        windows[-1] = (windows[-1][0], count)
    return windows


def _validate(split_by: str, split_length: int, split_overlap: int, split_threshold: int) -> None:
    name = "DocumentSplitter"
    if split_by not in _UNITS:
        raise ComponentError(f"{name}: split_by must be one of {sorted(_UNITS)}, not {split_by!r}")
    params = (
        ("split_length", split_length),
        ("split_overlap", split_overlap),
        ("split_threshold", split_threshold),
    )
    for param, value in params:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ComponentError(f"{name}: {param} must be an int, not {type(value).__name__}")
    if split_length < 1:
        raise ComponentError(f"{name}: split_length must be >= 1, got {split_length}")
    if not 0 <= split_overlap < split_length:
        raise ComponentError(
            f"{name}: split_overlap must be >= 0 and < split_length ({split_length}), got {split_overlap}"
        )
    if not 0 <= split_threshold <= split_length:
        raise ComponentError(
            f"{name}: split_threshold must be >= 0 and <= split_length ({split_length}), got {split_threshold}"
        )


def _source_offset(document: Document) -> int:
    """Where ``document.content`` starts in its source, checking that its offsets are consistent."""
    span = document.source_span
    if len(span) != len(document.content):
        raise ComponentError(
            f"DocumentSplitter: document {document.id} has {SOURCE_START}/{SOURCE_END} "
            f"[{span.start}, {span.end}) that do not match its content length {len(document.content)}"
        )
    return span.start


@component
class DocumentSplitter:
    """Split documents into passages of ``split_length`` words, sentences or paragraphs ("passage").

    Every passage's content is an exact slice of its source document, from the start of its first unit to the
    end of its last (no re-joining, whitespace inside kept as is). Its meta is the source's meta plus
    ``source_id``, ``source_start``, ``source_end`` (so ``source.content[source_start:source_end]`` is the
    passage) and ``split_index``. Splitting a passage again keeps pointing at the original source.
    Consecutive passages share ``split_overlap`` units; with ``split_threshold`` a last passage shorter than
    that many units is merged into the one before. Documents with no text produce no passages.

    >>> splitter = DocumentSplitter(split_by="word", split_length=3, split_overlap=1)
    >>> source = Document("One two  three four\\nfive six.")
    >>> passages = splitter.run(documents=[source])["documents"]
    >>> [p.content for p in passages]
    ['One two  three', 'three four\\nfive', 'five six.']
    >>> [source.content[p.meta["source_start"] : p.meta["source_end"]] for p in passages] == [
    ...     p.content for p in passages
    ... ]
    True
    """

    def __init__(
        self,
        split_by: str = "word",
        split_length: int = 200,
        split_overlap: int = 0,
        split_threshold: int = 0,
    ) -> None:
        _validate(split_by, split_length, split_overlap, split_threshold)
        self.split_by = split_by
        self.split_length = split_length
        self.split_overlap = split_overlap
        self.split_threshold = split_threshold

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        if not isinstance(documents, list) or not all(isinstance(doc, Document) for doc in documents):
            raise ComponentError("DocumentSplitter: 'documents' must be a list of Document")
        return {"documents": [passage for doc in documents for passage in self.split(doc)]}

    def split(self, document: Document) -> Iterator[Document]:
        """The passages of one document, in order."""
        text = document.content
        if not text:
            return
        offset = _source_offset(document)
        source_id = document.source_id
        units = _UNITS[self.split_by](text)
        windows = _windows(len(units), self.split_length, self.split_overlap, self.split_threshold)
        for index, (first, last) in enumerate(windows):
            start, end = units[first][0], units[last - 1][1]
            meta: dict[str, Any] = {
                **document.meta,
                SOURCE_ID: source_id,
                SOURCE_START: offset + start,
                SOURCE_END: offset + end,
                SPLIT_INDEX: index,
            }
            yield Document(content=text[start:end], meta=meta)
