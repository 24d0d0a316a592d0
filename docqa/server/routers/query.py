"""``POST /query``: the served pipeline, run whole (retrieval, reranking, reading), for one query or several."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from docqa.server.dependencies import State, reads
from docqa.server.limits import check_queries, check_top_k
from docqa.server.schemas import QueryRequest, QueryResult, QueryResults
from docqa.server.waiting import until_answered

router = APIRouter(tags=["query"])


@router.post("/query", response_model=QueryResult | QueryResults, dependencies=[Depends(reads)])
async def query(body: QueryRequest, request: Request, state: State) -> QueryResult | QueryResults:
    """Retrieve passages and extract answers, for ``query`` or each of ``queries``: each model of the pipeline
    (embedder, cross-encoder, reader) micro-batched with the calls of concurrent requests."""
    where, queries = body.texts()
    check_queries(queries, where, state.config.limits)
    check_top_k(body.top_k, state.config.limits)
    state.need_pipeline()
    work = state.answer(queries, body.top_k, body.filters)
    found = await until_answered(request, work, state.pipeline_batchers())
    results = [
        QueryResult.of(text, result["answers"], result["documents"], body.include_documents)
        for text, result in zip(queries, found, strict=True)
    ]
    return results[0] if body.query is not None else QueryResults(results=results)
