"""Request and response bodies of the REST API (pydantic; they make the OpenAPI schema at /openapi.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QueryRequest(_Strict):
    """One question (``query``) or several (``queries``); ``top_k`` answers each (default: the reader's)."""

    query: str | None = None
    queries: list[str] | None = None
    top_k: int | None = Field(default=None, ge=1)
    filters: dict[str, Any] | None = None
    include_documents: bool = False


class DocumentOut(BaseModel):
    id: str
    content: str
    meta: dict[str, Any]
    score: float | None = None


class AnswerOut(BaseModel):
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


class QueryResult(BaseModel):
    query: str
    answers: list[AnswerOut]
    documents: list[DocumentOut]


class QueryResults(BaseModel):
    results: list[QueryResult]


class DocumentIn(_Strict):
    content: str
    meta: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


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
    filters: dict[str, Any] | None = None
    limit: int | None = Field(default=None, ge=1)


class SearchResult(BaseModel):
    documents: list[DocumentOut]


class DeleteRequest(_Strict):
    ids: list[str] | None = None
    filters: dict[str, Any] | None = None


class DeleteResult(BaseModel):
    deleted: int


class CountResult(BaseModel):
    count: int


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    loading: list[str]
    errors: dict[str, str] = Field(default_factory=dict)


class Info(BaseModel):
    version: str
    writes_allowed: bool
    api_key_required_for_writes: bool
    api_key_required_for_reads: bool
    max_upload_bytes: int


class ErrorOut(BaseModel):
    detail: str
