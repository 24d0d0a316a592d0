"""The data that flows through docqa: documents, character spans and answers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from docqa.errors import DocqaError

#: Meta keys the splitter sets on every passage so that answers can point back into the original document.
SOURCE_ID = "source_id"
SOURCE_START = "source_start"
SOURCE_END = "source_end"


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` into some text.

    >>> Span(4, 9).slice("the quick fox")
    'quick'
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"invalid span [{self.start}, {self.end}): need 0 <= start <= end")

    def __len__(self) -> int:
        return self.end - self.start

    def slice(self, text: str) -> str:
        return text[self.start : self.end]

    def shift(self, offset: int) -> Span:
        return Span(self.start + offset, self.end + offset)

    def to_dict(self) -> dict[str, int]:
        return {"start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        return cls(int(data["start"]), int(data["end"]))


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def document_id(content: str, meta: dict[str, Any]) -> str:
    """A stable id for ``content`` + ``meta``: independent of dict order, the same in every process."""
    digest = hashlib.sha256(_canonical_json({"content": content, "meta": meta}).encode("utf-8"))
    return digest.hexdigest()


@dataclass
class Document:
    """A piece of text with metadata: a whole file, or a passage split from one.

    ``id`` defaults to a hash of ``content`` and ``meta``; ``score`` is set by retrievers and rankers;
    ``embedding`` by embedders. A passage made by :class:`~docqa.preprocessors.DocumentSplitter` carries
    ``meta["source_id"]``, ``meta["source_start"]`` and ``meta["source_end"]`` such that
    ``source.content[source_start:source_end] == passage.content``.

    >>> doc = Document("Paris is the capital of France.", meta={"lang": "en"})
    >>> Document.from_dict(doc.to_dict()) == doc
    True
    """

    content: str
    meta: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    score: float | None = None
    embedding: np.ndarray | list[float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.content, str):
            raise DocqaError(f"Document content must be str, not {type(self.content).__name__}")
        if not self.id:
            self.id = document_id(self.content, self.meta)

    @property
    def source_id(self) -> str:
        """The id of the document this passage was split from (its own id if it was not split)."""
        return str(self.meta.get(SOURCE_ID, self.id))

    @property
    def source_span(self) -> Span:
        """Where this passage lies in its source document (the whole text if it was not split)."""
        start = int(self.meta.get(SOURCE_START, 0))
        return Span(start, int(self.meta.get(SOURCE_END, start + len(self.content))))

    def to_dict(self) -> dict[str, Any]:
        embedding = self.embedding
        if isinstance(embedding, np.ndarray):
            embedding = embedding.astype(float).tolist()
        return {
            "id": self.id,
            "content": self.content,
            "meta": self.meta,
            "score": self.score,
            "embedding": embedding,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(
            content=data["content"],
            meta=dict(data.get("meta") or {}),
            id=data.get("id") or "",
            score=data.get("score"),
            embedding=data.get("embedding"),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        mine, theirs = self.embedding, other.embedding
        same_embedding = (mine is None and theirs is None) or (
            mine is not None and theirs is not None and np.array_equal(np.asarray(mine), np.asarray(theirs))
        )
        return (
            self.id == other.id
            and self.content == other.content
            and self.meta == other.meta
            and self.score == other.score
            and same_embedding
        )

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable


@dataclass
class AnswerSource:
    """One place an answer was found: a passage (``document``), where the answer lies in its source document
    (``span``, offsets into ``document.source_id``'s content) and in the passage (``document_span``, offsets into
    ``document.content``), and this place's share of the answer's ``score`` and ``probability``."""

    document: Document
    span: Span
    document_span: Span
    score: float
    probability: float

    @property
    def source_id(self) -> str:
        return self.document.source_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "document": self.document.to_dict(),
            "span": self.span.to_dict(),
            "document_span": self.document_span.to_dict(),
            "score": self.score,
            "probability": self.probability,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerSource:
        return cls(
            document=Document.from_dict(data["document"]),
            span=Span.from_dict(data["span"]),
            document_span=Span.from_dict(data["document_span"]),
            score=float(data["score"]),
            probability=float(data["probability"]),
        )


@dataclass
class Answer:
    """One ranked answer of a reader; ``text is None`` means "no answer".

    Scores come in two kinds:

    - ``score`` is the model's score in logit units: for a span found once, start logit + end logit; for an
      answer found in several places (the same characters of a source in overlapping passages or windows, or,
      with ``group_by="text"``, the same normalized text anywhere), ``log(sum(exp(score of each place)))``. For
      the no-answer it is the null score (start + end logit of the first token, the minimum over the question's
      windows). ``score - null score`` is the margin the reader's ``no_answer_threshold`` is compared with.
    - ``probability`` is a softmax over all candidate spans and the no-answer of the same question (an answer
      found in several places gets the sum of their shares), so it is comparable across documents and sums to at
      most 1 over the answers returned for one question.

    ``span`` (also ``source_span``) indexes the original source document (``document.source_id``): for a
    passage made by the splitter, ``source.content[span.start:span.end] == text``; ``document_span`` (also
    ``passage_span``) indexes ``document.content``. ``document`` is the passage of the best place; ``sources``
    lists every place, best first (empty for the no-answer).
    """

    query: str
    text: str | None
    score: float
    probability: float
    document: Document | None = None
    span: Span | None = None
    document_span: Span | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    sources: list[AnswerSource] = field(default_factory=list)

    @property
    def is_no_answer(self) -> bool:
        return self.text is None

    @property
    def source_id(self) -> str | None:
        return self.document.source_id if self.document is not None else None

    @property
    def source_span(self) -> Span | None:
        """Where the answer lies in its source document (the same as ``span``)."""
        return self.span

    @property
    def passage_span(self) -> Span | None:
        """Where the answer lies in ``document.content``, the passage read (the same as ``document_span``)."""
        return self.document_span

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "text": self.text,
            "score": self.score,
            "probability": self.probability,
            "document": self.document.to_dict() if self.document is not None else None,
            "span": self.span.to_dict() if self.span is not None else None,
            "document_span": self.document_span.to_dict() if self.document_span is not None else None,
            "meta": self.meta,
            "sources": [source.to_dict() for source in self.sources],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        document = data.get("document")
        span = data.get("span")
        document_span = data.get("document_span")
        return cls(
            query=data["query"],
            text=data.get("text"),
            score=float(data["score"]),
            probability=float(data["probability"]),
            document=Document.from_dict(document) if document is not None else None,
            span=Span.from_dict(span) if span is not None else None,
            document_span=Span.from_dict(document_span) if document_span is not None else None,
            meta=dict(data.get("meta") or {}),
            sources=[AnswerSource.from_dict(source) for source in data.get("sources") or []],
        )
