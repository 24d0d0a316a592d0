"""Request and response bodies of the REST API (pydantic; they make the typed schema at /openapi.json).

Responses are constructed by the code (``AnswerOut.of(answer)``...), so what the schema says is what is sent.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, model_validator

from docqa.formats.requests import NonEmptyStr
from docqa.schema import Answer, Document


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QueryRequest(_Strict):
    """One question (``query``) or several (``queries``); ``top_k`` answers each (default: the reader's)."""

    query: str | None = None
    queries: list[str] | None = None
    top_k: int | None = Field(default=None, ge=1)
    filters: dict[str, Any] | None = None
    include_documents: bool = False

    @model_validator(mode="after")
    def _one_of_them(self) -> QueryRequest:
        if (self.query is None) == (self.queries is None):
            raise ValueError("give exactly one of 'query' and 'queries'")
        return self

    def texts(self) -> tuple[str, list[str]]:
        """Where the queries are (``query`` or ``queries``) and the queries."""
        return ("query", [self.query]) if self.query is not None else ("queries", list(self.queries or []))


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such numbers (also inside meta) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


class DocumentOut(BaseModel):
    id: str
    content: str
    meta: dict[str, Any]
    score: float | None = None

    @classmethod
    def of(cls, document: Document) -> DocumentOut:
        return cls(id=document.id, content=document.content, meta=_finite(document.meta), score=_finite(document.score))


class AnswerOut(BaseModel):
    """An answer: its text (``null`` for the no-answer), offsets into the source document and into the passage
    read, the passage itself and the reader's scores."""

    text: str | None
    no_answer: bool
    score: float
    probability: float
    document_id: str | None
    source_id: str | None
    start: int | None = Field(description="offset into the source document")
    end: int | None
    passage_start: int | None = Field(description="offset into passage.content")
    passage_end: int | None
    passage: DocumentOut | None
    meta: dict[str, Any]

    @classmethod
    def of(cls, answer: Answer) -> AnswerOut:
        doc, span, local = answer.document, answer.span, answer.document_span
        return cls(
            text=answer.text,
            no_answer=answer.is_no_answer,
            score=answer.score if math.isfinite(answer.score) else 0.0,
            probability=answer.probability,
            document_id=doc.id if doc is not None else None,
            source_id=answer.source_id,
            start=span.start if span is not None else None,
            end=span.end if span is not None else None,
            passage_start=local.start if local is not None else None,
            passage_end=local.end if local is not None else None,
            passage=DocumentOut.of(doc) if doc is not None else None,
            meta=_finite(answer.meta),
        )


class QueryResult(BaseModel):
    query: str
    answers: list[AnswerOut]
    documents: list[DocumentOut]

    @classmethod
    def of(cls, query: str, answers: list[Answer], documents: list[Document], include: bool) -> QueryResult:
        """One query's result: its answers, and the passages read when ``include`` (else none)."""
        shown = [DocumentOut.of(doc) for doc in documents] if include else []
        return cls(query=query, answers=[AnswerOut.of(answer) for answer in answers], documents=shown)


class QueryResults(BaseModel):
    results: list[QueryResult]


class DocumentIn(_Strict):
    content: NonEmptyStr
    meta: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None

    def document(self) -> Document:
        return Document(self.content, dict(self.meta), self.id or "")


class WriteRequest(_Strict):
    documents: list[DocumentIn]
    policy: Literal["skip", "overwrite", "fail"] = "skip"


class SkippedOut(BaseModel):
    file: str
    reason: str


class WriteResult(BaseModel):
    written: int
    skipped: list[SkippedOut]


class SearchRequest(_Strict):
    """The stored documents matching ``filters`` (all when null), at most ``top_k`` (``limit`` is its old name)."""

    filters: dict[str, Any] | None = None
    top_k: int | None = Field(default=None, ge=1, validation_alias=AliasChoices("top_k", "limit"))


class SearchResult(BaseModel):
    documents: list[DocumentOut]


def _some_filter(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    if filters is not None and not filters:
        raise ValueError('an empty filter matches every document: to delete them all, send {"all": true}')
    return filters


class DeleteRequest(_Strict):
    """Exactly one of: ``ids``, ``filters`` (not empty), or ``all: true`` (every document)."""

    ids: list[str] | None = None
    filters: Annotated[dict[str, Any] | None, AfterValidator(_some_filter)] = None
    all: Literal[True] | None = Field(default=None, description="delete every document: must be said explicitly")

    @model_validator(mode="after")
    def _exactly_one(self) -> DeleteRequest:
        if sum(choice is not None for choice in (self.ids, self.filters, self.all)) != 1:
            raise ValueError("give exactly one of 'ids', 'filters' and 'all'")
        return self


class DeleteResult(BaseModel):
    deleted: int


class CountResult(BaseModel):
    count: int


class Health(BaseModel):
    """``ok``, or ``degraded`` when a model or the store failed to load (``errors`` says which, and why)."""

    status: Literal["ok", "degraded"]
    errors: dict[str, str] | None = Field(default=None, description="what failed to load, and why (when degraded)")


class Readiness(BaseModel):
    ready: bool
    loading: list[str]
    errors: dict[str, str] = Field(default_factory=dict)
    detail: str | None = Field(default=None, description="why not ready, in one line")


class Info(BaseModel):
    version: str
    writes_allowed: bool
    api_key_required_for_writes: bool
    api_key_required_for_reads: bool
    max_upload_bytes: int


class ErrorItem(BaseModel):
    loc: str
    msg: str


class ErrorOut(BaseModel):
    detail: str
    errors: list[ErrorItem] | None = None
