"""docqa's answers as Haystack ``ExtractedAnswer``: probability as score, exact offsets, page numbers, context.

* ``data``: the answer text, ``None`` for the no-answer; ``score``: docqa's probability (a softmax over every
  candidate span of the question and its no-answer, comparable across documents).
* ``document``: the Haystack document the answer was read from, the very object given to the reader;
  ``document_offset``: where the answer lies in its ``content`` (``content[start:end] == data``).
* ``context``: about ``context_window_size`` characters of the document around the answer, cut at whitespace (the
  whole document when ``None``); ``context_offset``: where the answer lies in it (``context[start:end] == data``).
* ``meta``: docqa's answer metadata (``no_answer_margin`` on the no-answer: best span score minus null score),
  ``logit_score`` (docqa's raw score: start + end logit, the null score for the no-answer) and, when the
  document says which page it starts on, ``answer_page_number`` (see :func:`page_number`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from typing import Any

from haystack import Document as HaystackDocument
from haystack import ExtractedAnswer

from docqa.schema import SOURCE_START, Answer

#: The meta key of an answer's page (Haystack's readers' name for it).
PAGE_KEY = "answer_page_number"


def extracted_answer(
    answer: Answer, originals: Mapping[int, HaystackDocument], context_window_size: int | None
) -> ExtractedAnswer:
    """``answer`` as an ``ExtractedAnswer``; ``originals`` maps ``id()`` of each docqa document given to the reader
    to the Haystack document it was made from."""
    meta = {**answer.meta, "logit_score": answer.score}
    if answer.text is None or answer.document is None or answer.document_span is None:
        return ExtractedAnswer(query=answer.query, score=answer.probability, data=None, meta=meta)
    document = originals[id(answer.document)]
    content = answer.document.content
    start, end = answer.document_span.start, answer.document_span.end
    first, last = context_bounds(content, start, end, context_window_size)
    page = page_number(answer.document.meta, content, start)
    if page is not None:
        meta[PAGE_KEY] = page
    return ExtractedAnswer(
        query=answer.query,
        score=answer.probability,
        data=answer.text,
        document=document,
        context=content[first:last],
        document_offset=ExtractedAnswer.Span(start, end),
        context_offset=ExtractedAnswer.Span(start - first, end - first),
        meta=meta,
    )


def context_bounds(content: str, start: int, end: int, size: int | None) -> tuple[int, int]:
    """Where the context of the span ``[start, end)`` of ``content`` begins and ends: ``size`` characters centred
    on the span (room one side lacks goes to the other), words cut at either edge left out, the span always whole.

    >>> text = "The quick brown fox jumps over the lazy dog"
    >>> first, last = context_bounds(text, 16, 19, 15)
    >>> text[first:last]
    'brown fox jumps'
    >>> context_bounds(text, 0, 3, None) == (0, len(text))
    True
    """
    if size is None:
        return 0, len(content)
    spare = max(0, size - (end - start))
    first = max(0, start - spare // 2)
    last = min(len(content), end + spare - (start - first))
    first = max(0, start - (spare - (last - end)))
    if first > 0 and not content[first - 1].isspace():
        first = next((i + 1 for i in range(first, start) if content[i].isspace()), start)
    if last < len(content) and not content[last].isspace():
        last = next((i for i in range(last - 1, end - 1, -1) if content[i].isspace()), end)
    return first, last


def page_number(meta: Mapping[str, Any], content: str, offset: int) -> int | None:
    """The page of character ``offset`` of a document, or ``None`` when the document does not say.

    * ``meta["page_number"]`` (an int: the page the document starts on, as Haystack's ``DocumentSplitter`` and
      docqa's per-page PDF conversion set it) plus the form feeds (``\\f``, Haystack's page break) before ``offset``,
      as Haystack's readers count;
    * else ``meta["page_starts"]`` (docqa's whole-file PDF conversion: where each page begins in the source file)
      at the offset's position in the source file (``meta["source_start"]`` for a passage);
    * else, when the text holds form feeds (a whole converted file), 1 plus those before ``offset``.

    >>> page_number({"page_number": 3}, "end of 3\\fpage 4", 10)
    4
    >>> page_number({"page_starts": [0, 120, 250], "source_start": 100}, "x" * 100, 30)
    2
    >>> page_number({}, "one\\ftwo", 5), page_number({}, "no pages", 3)
    (2, None)
    """
    feeds = content.count("\f", 0, offset)
    first = meta.get("page_number")
    if isinstance(first, int) and not isinstance(first, bool):
        return first + feeds
    starts = meta.get("page_starts")
    if isinstance(starts, list) and starts:
        return bisect_right(starts, int(meta.get(SOURCE_START, 0)) + offset)
    return 1 + feeds if "\f" in content else None
