"""Request and response bodies of the REST API (pydantic; they make the typed schema at /openapi.json).

Responses are constructed by the code (``AnswerOut.of(answer)``...), so what the schema says is what is sent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Response
from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, computed_field, model_validator
from pydantic_core import to_json

from docqa.answers import answer_json, passage_json
from docqa.formats.requests import NonEmptyStr
from docqa.schema import Answer, Document


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QueryRequest(_Strict):
    """One question (``query``) or several (``queries``); ``top_k`` answers each (default: the reader's), merged
    as ``group_by`` says (default: as the served pipeline does, ``"text"`` with ``--store`` and the example files)."""

    query: str | None = None
    queries: list[str] | None = None
    top_k: int | None = Field(default=None, ge=1)
    filters: dict[str, Any] | None = None
    include_documents: bool = False
    group_by: Literal["span", "text"] | None = Field(
        default=None,
        description='"span": one answer per place in a source document; "text": one answer per answer text, listing '
        "every place in its sources (default: the served pipeline's, text with --store and the example pipelines)",
    )

    @model_validator(mode="after")
    def _one_of_them(self) -> QueryRequest:
        if (self.query is None) == (self.queries is None):
            raise ValueError("give exactly one of 'query' and 'queries'")
        return self

    def texts(self) -> tuple[str, list[str]]:
        """Where the queries are (``query`` or ``queries``) and the queries."""
        return ("query", [self.query]) if self.query is not None else ("queries", list(self.queries or []))


class DocumentOut(BaseModel):
    """A passage or stored document, as answers carry it (:func:`docqa.answers.passage_json`; no embedding)."""

    id: str
    content: str
    meta: dict[str, Any]
    score: float | None = None

    @classmethod
    def of(cls, document: Document) -> DocumentOut:
        return cls.model_validate(passage_json(document))


class SpanOut(BaseModel):
    start: int
    end: int


class SourceOut(BaseModel):
    """One place an answer was found (:func:`docqa.answers.source_json`)."""

    document_id: str = Field(description="the passage's id")
    source_id: str = Field(description="the source document's id (the file the passage was split from)")
    source_span: SpanOut = Field(description="offsets into the source document")
    passage_span: SpanOut = Field(description="offsets into the passage's content")
    score: float | None
    probability: float = Field(description="this place's share of the answer's probability")
    meta: dict[str, Any] = Field(description="the passage's meta")


class AnswerOut(BaseModel):
    """An answer (:func:`docqa.answers.answer_json`, the JSON of ``docqa ask --json``): its text (``null`` for the
    no-answer), offsets into the source document (``source_span``) and into the passage read (``passage_span``),
    the passage, the reader's scores, and every place it was found (``sources``, best first: several when the same
    characters lie in overlapping passages, or with ``group_by: "text"`` the same text in several places).

    ``start``, ``end``, ``passage_start`` and ``passage_end`` are the spans' offsets under their 0.1 names, kept one
    more release."""

    text: str | None
    no_answer: bool
    score: float | None
    probability: float
    document_id: str | None = Field(description="the passage's id")
    source_id: str | None
    source_span: SpanOut | None = Field(description="offsets into the source document")
    passage_span: SpanOut | None = Field(description="offsets into passage.content")
    passage: DocumentOut | None
    sources: list[SourceOut]
    meta: dict[str, Any]

    @classmethod
    def of(cls, answer: Answer) -> AnswerOut:
        return cls.model_validate(answer_json(answer, deprecated_keys=False))

    @computed_field(deprecated="source_span.start")  # type: ignore[prop-decorator]
    @property
    def start(self) -> int | None:
        return self.source_span.start if self.source_span is not None else None

    @computed_field(deprecated="source_span.end")  # type: ignore[prop-decorator]
    @property
    def end(self) -> int | None:
        return self.source_span.end if self.source_span is not None else None

    @computed_field(deprecated="passage_span.start")  # type: ignore[prop-decorator]
    @property
    def passage_start(self) -> int | None:
        return self.passage_span.start if self.passage_span is not None else None

    @computed_field(deprecated="passage_span.end")  # type: ignore[prop-decorator]
    @property
    def passage_end(self) -> int | None:
        return self.passage_span.end if self.passage_span is not None else None


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


def json_response(content: Any) -> Response:
    """``content`` (a response model, a list of them...) as JSON, serialized once by pydantic-core. A route that
    returns its model instead has FastAPI validate it against the route's ``response_model`` again before
    serializing it (about 0.3 ms of a /score call); the ``response_model`` stays, for the OpenAPI schema."""
    return Response(to_json(content), media_type="application/json")
