"""``POST /query``: the served pipeline, run whole (retrieval, reranking, reading), for one query or several."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from docqa.server.dependencies import State, reads
from docqa.server.limits import check_queries, check_top_k
from docqa.server.schemas import QueryRequest, QueryResult, QueryResults, json_response
from docqa.server.waiting import until_answered

router = APIRouter(tags=["query"])


@router.post("/query", response_model=QueryResult | QueryResults, dependencies=[Depends(reads)])
async def query(body: QueryRequest, request: Request, state: State) -> Response:
    """Retrieve passages and extract answers, for ``query`` or each of ``queries``: each model of the pipeline
    (embedder, cross-encoder, reader) micro-batched with the calls of concurrent requests (those asking the reader
    for the same ``top_k`` and ``group_by`` share its calls)."""
    where, queries = body.texts()
    check_queries(queries, where, state.config.limits)
    check_top_k(body.top_k, state.config.limits)
    state.need_pipeline()
    work = state.answer(queries, top_k=body.top_k, filters=body.filters, group_by=body.group_by)
    found = await until_answered(request, work, state.pipeline_batchers())
    results = [
        QueryResult.of(text, result["answers"], result["documents"], body.include_documents)
        for text, result in zip(queries, found, strict=True)
    ]
    return json_response(results[0] if body.query is not None else QueryResults(results=results))
