"""``POST /score``: the model cards' real-time formats (see :mod:`docqa.formats`), question answering in the
AzureML and Hugging Face styles and fill-mask, answered in the cards' shapes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request, Response

from docqa.formats.fill_mask import encode_request_texts, fill_mask_response, request_targets
from docqa.formats.question_answering import qa_response, reader_inputs
from docqa.formats.requests import FillMaskRequest, QARequest, ScoreRequestBody, answering_errors
from docqa.formats.responses import FillMaskResponse, QAResponse, ScoreResponse
from docqa.server.batching import BatchJob
from docqa.server.dependencies import State, reads
from docqa.server.limits import check_pairs, check_texts
from docqa.server.schemas import json_response
from docqa.server.state import FILL_MASK, ServerState
from docqa.server.waiting import until_answered

router = APIRouter(tags=["score"])


@router.post("/score", response_model=ScoreResponse, dependencies=[Depends(reads)])
async def score(body: ScoreRequestBody, request: Request, state: State) -> Response:
    """Question answering (``question`` and ``context`` in ``inputs`` or ``input_data``) with the reader, or
    fill-mask (texts with a mask token) with the fill-mask model; concurrent requests share batches."""
    if isinstance(body, QARequest):
        check_pairs(body.pairs(), state.config.limits)
        state.need(state.reader_name)
        batcher = state.batchers[state.reader_name]
        return json_response(await until_answered(request, _answer_qa(body, state), [batcher]))
    check_texts(body.texts(), state.config.limits)
    state.need(FILL_MASK)
    answered = await until_answered(request, _answer_fill_mask(body, state), [state.batchers[FILL_MASK]])
    return json_response(answered)


async def _answer_qa(body: QARequest, state: ServerState) -> QAResponse:
    options = body.options
    with answering_errors():
        reader = state.reader(options.reader_settings())
        found = await reader.run_batch(**reader_inputs(body.pairs(), options))
    return qa_response(body, found["answers"])


async def _answer_fill_mask(body: FillMaskRequest, state: ServerState) -> FillMaskResponse:
    fill_mask = state.models[FILL_MASK]
    encoded = await asyncio.to_thread(encode_request_texts, body, fill_mask)
    shared = (("targets", request_targets(body.options)), ("top_k", body.options.top_k))
    job = BatchJob(fill_mask.predict_encoded, {"encoded": encoded}, shared)
    with answering_errors():
        found = await state.batchers[FILL_MASK].run(job, job.size)
    return fill_mask_response(body, found)
