"""The endpoints: health and readiness, /query, /score, the document endpoints, /info and /metrics."""

from __future__ import annotations

import asyncio
import functools
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from docqa.errors import RequestError
from docqa.schema import Answer, Document
from docqa.server.auth import check_key
from docqa.server.batching import BatchedFillMask, BatchedReader
from docqa.server.config import Limits
from docqa.server.errors import LimitExceeded
from docqa.server.schemas import (
    CountResult,
    DeleteRequest,
    DeleteResult,
    ErrorOut,
    Health,
    Info,
    QueryRequest,
    QueryResult,
    QueryResults,
    Readiness,
    SearchRequest,
    SearchResult,
    WriteRequest,
    WriteResult,
)
from docqa.server.state import ServerState

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (400, 401, 403, 409, 413, 422, 503)}
_DISCONNECT_POLL_S = 0.05
_CLIENT_GONE = 499  # nginx's "client closed request": the client never reads it


def build_router(state: ServerState, version: str) -> APIRouter:
    """Every endpoint, bound to ``state``."""
    router = APIRouter(responses=_ERRORS)
    config, limits = state.config, state.config.limits

    def reads(request: Request) -> None:
        check_key(request, config, write=False)

    def writes(request: Request) -> None:
        check_key(request, config, write=True)
        if not state.writes_allowed:
            raise HTTPException(403, "writes are disabled on this server (read-only, or a store without a path)")

    @router.get("/health", response_model=Health)
    async def health() -> dict[str, str]:
        """The process is alive (200 as soon as it listens)."""
        return {"status": "ok"}

    @router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
    async def ready() -> JSONResponse:
        """200 once every model and the store are loaded; 503 with what is still loading (or failed)."""
        body = {"ready": state.ready, "loading": list(state.loading), "errors": dict(state.errors)}
        return JSONResponse(body, status_code=200 if state.ready else 503)

    @router.get("/info", response_model=Info)
    async def info() -> dict[str, Any]:
        """What a client needs to know before calling: version, whether writes and keys are needed, limits."""
        return {
            "version": version,
            "writes_allowed": state.writes_allowed,
            "api_key_required_for_writes": config.api_key is not None,
            "api_key_required_for_reads": config.api_key is not None and config.api_key_for_reads,
            "max_upload_bytes": limits.max_body_bytes,
        }

    @router.get("/metrics", dependencies=[Depends(reads)], response_class=Response)
    async def metrics() -> Response:
        """Prometheus text format: requests, latency, queue depth and batch sizes."""
        return Response(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @router.post("/query", response_model=QueryResult | QueryResults, dependencies=[Depends(reads)])
    async def query(body: QueryRequest, request: Request) -> Any:
        """Retrieve passages and extract answers, for ``query`` or each of ``queries``."""
        queries = _queries(body, limits)
        state.need("store", "reader")
        assert state.reader_batcher is not None
        with state.reader_batcher.active():
            documents = await run_in_threadpool(state.retrieve, queries, None, body.filters)
            proxy = BatchedReader(state.reader, state.reader_batcher)
            call = functools.partial(proxy.run_batch, queries, documents, body.top_k)
            answers = await _model_call(request, proxy.pending, call)
        if isinstance(answers, Response):
            return answers
        results = [
            _query_json(q, a, d, body.include_documents)
            for q, a, d in zip(queries, answers["answers"], documents, strict=True)
        ]
        return results[0] if body.query is not None else {"results": results}

    @router.post("/score", dependencies=[Depends(reads)])
    async def score(request: Request, body: Any = Body(...)) -> Any:  # noqa: B008
        """The model cards' real-time formats: question answering (AzureML and Hugging Face styles), fill-mask."""
        from docqa.formats import QARequest, answer_score_request, parse_score_request

        parsed = parse_score_request(body)
        if isinstance(parsed, QARequest):
            _check_pairs(parsed.pairs(), limits)
            state.need("reader")
            assert state.reader_batcher is not None
            reader = BatchedReader(state.reader, state.reader_batcher)
            with state.reader_batcher.active():
                return await _model_call(request, reader.pending, lambda: answer_score_request(parsed, reader=reader))
        _check_texts(parsed.texts(), limits)
        state.need("fill_mask")
        assert state.fill_mask_batcher is not None
        fill_mask = BatchedFillMask(state.fill_mask, state.fill_mask_batcher)
        with state.fill_mask_batcher.active():
            return await _model_call(
                request, fill_mask.pending, lambda: answer_score_request(parsed, fill_mask=fill_mask)
            )

    @router.post(
        "/documents",
        response_model=WriteResult,
        dependencies=[Depends(writes)],
        openapi_extra={"requestBody": _write_body_schema()},
    )
    async def write_documents(request: Request) -> dict[str, Any]:
        """Write JSON documents, or upload files (multipart ``files``) converted and split like ``docqa index``."""
        state.need("store")
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            passages, skipped = await _uploaded_passages(request, state)
            policy = "skip"
        else:
            body = _parsed(WriteRequest, await _json(request))
            passages, skipped, policy = _json_documents(body, limits), [], body.policy
        written = await run_in_threadpool(state.write, passages, policy)
        return {"written": written, "skipped": skipped}

    @router.post("/documents/search", response_model=SearchResult, dependencies=[Depends(reads)])
    async def search_documents(body: SearchRequest) -> dict[str, Any]:
        """The stored documents matching ``filters`` (all when null), at most ``limit``, in insertion order."""
        state.need("store")
        limit = limits.max_documents if body.limit is None else body.limit
        if limit > limits.max_documents:
            raise LimitExceeded("limit", f"{limit} exceeds the limit of {limits.max_documents} (--max-documents)")
        found = await run_in_threadpool(_search, state, body.filters, limit)
        return {"documents": [_document_json(doc) for doc in found]}

    @router.delete("/documents", response_model=DeleteResult, dependencies=[Depends(writes)])
    async def delete_documents(body: DeleteRequest) -> dict[str, int]:
        """Delete by ``ids`` or by ``filters`` (exactly one of them)."""
        if (body.ids is None) == (body.filters is None):
            raise LimitExceeded("body", "give exactly one of 'ids' and 'filters'")
        state.need("store")
        return {"deleted": await run_in_threadpool(state.delete, body.ids, body.filters)}

    @router.get("/documents/count", response_model=CountResult, dependencies=[Depends(reads)])
    async def count_documents() -> dict[str, int]:
        state.need("store")
        return {"count": int(state.store.count_documents())}

    return router


# ------------------------------------------------------------------------------------------- helpers
async def _model_call(request: Request, pending: Any, call: Callable[[], Any]) -> Any:
    """Run ``call`` (which waits on batcher futures) in a thread; if the client disconnects first, cancel its
    futures, freeing their queue slots, and answer nothing. The disconnect is awaited, not polled: waiting
    requests cost no CPU while the model runs."""
    task = asyncio.ensure_future(run_in_threadpool(call))
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if task.done():
        return task.result()
    pending.cancel()
    return Response(status_code=_CLIENT_GONE)


async def _disconnected(request: Request) -> None:
    """Returns once the client has gone. The body is already read, so the server's next ``receive`` message
    is the disconnect (uvicorn holds it back until then, as Starlette's streaming responses rely on)."""
    while (await request.receive())["type"] != "http.disconnect":
        await asyncio.sleep(_DISCONNECT_POLL_S)  # a server that answers at once: fall back to polling


def _queries(body: QueryRequest, limits: Limits) -> list[str]:
    if (body.query is None) == (body.queries is None):
        raise LimitExceeded("body", "give exactly one of 'query' and 'queries'")
    queries = [body.query] if body.query is not None else list(body.queries or [])
    where = "query" if body.query is not None else "queries"
    if not queries:
        raise LimitExceeded("queries", "must hold at least one query")
    if len(queries) > limits.max_items:
        raise LimitExceeded("queries", f"{len(queries)} queries exceed the limit of {limits.max_items} (--max-items)")
    for index, text in enumerate(queries):
        loc = where if body.query is not None else f"queries[{index}]"
        if not text.strip():
            raise LimitExceeded(loc, "must be a non-empty string")
        if len(text) > limits.max_query_chars:
            raise LimitExceeded(
                loc, f"{len(text)} characters exceed the limit of {limits.max_query_chars} (--max-query-chars)"
            )
    if body.top_k is not None and body.top_k > limits.max_top_k:
        raise LimitExceeded("top_k", f"{body.top_k} exceeds the limit of {limits.max_top_k} (--max-top-k)")
    return queries


def _check_pairs(pairs: list[tuple[str, str]], limits: Limits) -> None:
    if len(pairs) > limits.max_items:
        raise LimitExceeded(
            "inputs", f"{len(pairs)} question/context pairs exceed the limit of {limits.max_items} (--max-items)"
        )
    for index, (question, context) in enumerate(pairs):
        if len(question) > limits.max_query_chars:
            raise LimitExceeded(
                f"question[{index}]",
                f"{len(question)} characters exceed the limit of {limits.max_query_chars} (--max-query-chars)",
            )
        if len(context) > limits.max_context_chars:
            raise LimitExceeded(
                f"context[{index}]",
                f"{len(context)} characters exceed the limit of {limits.max_context_chars} (--max-context-chars)",
            )


def _check_texts(texts: list[str], limits: Limits) -> None:
    if len(texts) > limits.max_items:
        raise LimitExceeded("inputs", f"{len(texts)} texts exceed the limit of {limits.max_items} (--max-items)")
    for index, text in enumerate(texts):
        if len(text) > limits.max_context_chars:
            raise LimitExceeded(
                f"inputs[{index}]",
                f"{len(text)} characters exceed the limit of {limits.max_context_chars} (--max-context-chars)",
            )


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise RequestError("body: not valid JSON", [{"loc": "body", "msg": "not valid JSON"}]) from None


def _parsed(model: Any, data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details = [{"loc": ".".join(str(p) for p in e["loc"]) or "body", "msg": e["msg"]} for e in error.errors()]
        raise RequestError(f"{details[0]['loc']}: {details[0]['msg']}", details) from None


def _json_documents(body: WriteRequest, limits: Limits) -> list[Document]:
    if len(body.documents) > limits.max_documents:
        raise LimitExceeded(
            "documents", f"{len(body.documents)} documents exceed the limit of {limits.max_documents} (--max-documents)"
        )
    for index, item in enumerate(body.documents):
        if len(item.content) > limits.max_context_chars:
            raise LimitExceeded(
                f"documents[{index}].content",
                f"{len(item.content)} characters exceed the limit of {limits.max_context_chars} (--max-context-chars)",
            )
    return [Document(item.content, dict(item.meta), item.id or "") for item in body.documents]


async def _uploaded_passages(request: Request, state: ServerState) -> tuple[list[Document], list[dict[str, str]]]:
    form = await request.form()
    uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
    if not uploads:
        raise LimitExceeded("files", "a multipart upload needs one or more files in the field 'files'")
    files = [(Path(upload.filename or "upload").name or "upload", await upload.read()) for upload in uploads]
    return await run_in_threadpool(_convert_uploads, files, state.store)


def _convert_uploads(files: list[tuple[str, bytes]], store: Any) -> tuple[list[Document], list[dict[str, str]]]:
    """Convert and split uploaded files like ``docqa index``; the files that cannot be converted are reported."""
    from docqa.converters import convert_paths
    from docqa.preprocessors import DocumentSplitter

    documents, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="docqa-upload-") as folder:
        for position, (name, data) in enumerate(files):
            path = Path(folder) / str(position) / name
            path.parent.mkdir()
            path.write_bytes(data)
            converted = convert_paths([path])
            skipped += [{"file": name, "reason": item.reason} for item in converted.skipped]
            documents += [Document(doc.content, {**doc.meta, "file_path": name}) for doc in converted.documents]
    settings = getattr(store, "split_settings", None) or {}
    return DocumentSplitter(**settings).run(documents=documents)["documents"], skipped


def _search(state: ServerState, filters: dict[str, Any] | None, limit: int) -> list[Document]:
    with state.store_lock:
        return list(state.store.filter_documents(filters, return_embedding=False)[:limit])


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such numbers (also inside meta) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _document_json(doc: Document) -> dict[str, Any]:
    return {"id": doc.id, "content": doc.content, "meta": _finite(doc.meta), "score": _finite(doc.score)}


def answer_json(answer: Answer) -> dict[str, Any]:
    """An answer as the API returns it: offsets into the source document and into the passage."""
    doc, span, local = answer.document, answer.span, answer.document_span
    return {
        "text": answer.text,
        "no_answer": answer.is_no_answer,
        "score": _finite(answer.score) if math.isfinite(answer.score) else 0.0,
        "probability": answer.probability,
        "document_id": doc.id if doc is not None else None,
        "source_id": answer.source_id,
        "start": span.start if span is not None else None,
        "end": span.end if span is not None else None,
        "passage_start": local.start if local is not None else None,
        "passage_end": local.end if local is not None else None,
        "passage": _document_json(doc) if doc is not None else None,
        "meta": _finite(answer.meta),
    }


def _query_json(query: str, answers: list[Answer], documents: list[Document], include: bool) -> dict[str, Any]:
    return {
        "query": query,
        "answers": [answer_json(answer) for answer in answers],
        "documents": [_document_json(doc) for doc in documents] if include else [],
    }


def _write_body_schema() -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {"schema": _inlined(WriteRequest.model_json_schema())},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                    "required": ["files"],
                }
            },
        },
    }


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` references replaced by the definitions themselves."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        return [resolve(item) for item in node] if isinstance(node, list) else node

    return dict(resolve(schema))
