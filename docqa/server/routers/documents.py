"""The stored documents: ``POST /documents`` (JSON, or files converted and split like ``docqa index``),
``POST /documents/search``, ``DELETE /documents`` and ``GET /documents/count``.

Every store call runs in a worker thread (the store guards its own reads and writes); writes, deletes and
checkpoints take turns (see :class:`~docqa.server.state.ServerState`).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile

from docqa.schema import Document
from docqa.server.dependencies import State, reads, writes
from docqa.server.errors import parse_body
from docqa.server.limits import LimitExceeded, check_documents, search_limit
from docqa.server.schemas import (
    CountResult,
    DeleteRequest,
    DeleteResult,
    DocumentOut,
    SearchRequest,
    SearchResult,
    SkippedOut,
    WriteRequest,
    WriteResult,
)

router = APIRouter(tags=["documents"])


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


_WRITE_BODY = {
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


@router.post(
    "/documents",
    response_model=WriteResult,
    dependencies=[Depends(writes)],
    openapi_extra={"requestBody": _WRITE_BODY},
)
async def write_documents(request: Request, state: State) -> WriteResult:
    """Write JSON documents, or upload files (multipart ``files``) converted and split like ``docqa index``;
    embedded with the store's model when it has one. Nothing is written unless the whole request is valid."""
    state.need("store")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        passages, skipped = await _uploaded_passages(request, state)
        policy = "skip"
    else:
        body: WriteRequest = parse_body(WriteRequest, await request.body())
        check_documents([item.content for item in body.documents], state.config.limits)
        passages, skipped, policy = [item.document() for item in body.documents], [], body.policy
    written = await state.write(passages, policy)
    return WriteResult(written=written, skipped=skipped)


@router.post("/documents/search", response_model=SearchResult, dependencies=[Depends(reads)])
async def search_documents(body: SearchRequest, state: State) -> SearchResult:
    """The stored documents matching ``filters`` (all when null), at most ``top_k``, in insertion order."""
    state.need("store")
    limit = search_limit(body.top_k, state.config.limits)
    found = await asyncio.to_thread(state.store.filter_documents, body.filters, return_embedding=False)
    return SearchResult(documents=[DocumentOut.of(doc) for doc in found[:limit]])


@router.delete("/documents", response_model=DeleteResult, dependencies=[Depends(writes)])
async def delete_documents(body: DeleteRequest, state: State) -> DeleteResult:
    """Delete by ``ids``, by ``filters`` (a non-empty filter), or every document with ``{"all": true}``."""
    state.need("store")
    return DeleteResult(deleted=await asyncio.to_thread(state.delete, body.ids, body.filters))


@router.get("/documents/count", response_model=CountResult, dependencies=[Depends(reads)])
async def count_documents(state: State) -> CountResult:
    state.need("store")
    return CountResult(count=int(await asyncio.to_thread(state.store.count_documents)))


async def _uploaded_passages(request: Request, state: Any) -> tuple[list[Document], list[SkippedOut]]:
    form = await request.form()
    uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
    if not uploads:
        raise LimitExceeded("files", "a multipart upload needs one or more files in the field 'files'")
    files = [(Path(upload.filename or "upload").name or "upload", await upload.read()) for upload in uploads]
    return await asyncio.to_thread(_convert_uploads, files, state.store)


def _convert_uploads(files: list[tuple[str, bytes]], store: Any) -> tuple[list[Document], list[SkippedOut]]:
    """Convert and split uploaded files like ``docqa index``; the files that cannot be converted are reported."""
    from docqa.converters import convert_paths
    from docqa.preprocessors import DocumentSplitter

    documents: list[Document] = []
    skipped: list[SkippedOut] = []
    with tempfile.TemporaryDirectory(prefix="docqa-upload-") as folder:
        for position, (name, data) in enumerate(files):
            path = Path(folder) / str(position) / name
            path.parent.mkdir()
            path.write_bytes(data)
            converted = convert_paths([path])
            skipped += [SkippedOut(file=name, reason=item.reason) for item in converted.skipped]
            documents += [Document(doc.content, {**doc.meta, "file_path": name}) for doc in converted.documents]
    settings = getattr(store, "split_settings", None) or {}
    return DocumentSplitter(**settings).run(documents=documents)["documents"], skipped
