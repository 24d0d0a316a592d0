"""Answering fill-mask requests with :class:`~docqa.fill_mask.FillMask`, in transformers' output shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docqa.errors import RequestError
from docqa.fill_mask.decoding import MaskPredictions
from docqa.fill_mask.encoding import EncodedText, FillMaskInputError
from docqa.formats.requests import FillMaskParameters, FillMaskRequest, answering_errors
from docqa.formats.responses import FillMaskPrediction, FillMaskResponse, TextPredictions


def predictions_response(per_mask: MaskPredictions) -> TextPredictions:
    """One text's predictions as transformers gives them: a list of ``{"score", "token", "token_str",
    "sequence"}`` for one mask, a list of such lists for several."""
    lists = [[FillMaskPrediction(**prediction.to_dict()) for prediction in candidates] for candidates in per_mask]
    return lists[0] if len(lists) == 1 else lists


def request_targets(options: FillMaskParameters) -> tuple[str, ...] | None:
    """The request's ``targets`` as a tuple (one string is one target), or ``None``."""
    if options.targets is None:
        return None
    return (options.targets,) if isinstance(options.targets, str) else tuple(options.targets)


def encode_request_texts(request: FillMaskRequest, fill_mask: Any) -> list[EncodedText]:
    """Every text of ``request`` encoded; the first that cannot be is a :class:`RequestError` naming it."""
    encoded = []
    for index, text in enumerate(request.texts()):
        try:
            encoded.append(fill_mask.encode(text, index))
        except FillMaskInputError as error:
            where = request.field if request.single else f"{request.field}[{index}]"
            raise RequestError(
                f"invalid request: {where}: {error.reason}", [{"loc": where, "msg": error.reason}]
            ) from None
    return encoded


def fill_mask_response(request: FillMaskRequest, found: Sequence[MaskPredictions]) -> FillMaskResponse:
    """The response to ``request`` given the predictions of its texts: per text its predictions (see
    :func:`predictions_response`); for one plain string, that text's predictions alone."""
    responses = [predictions_response(per_mask) for per_mask in found]
    return responses[0] if request.single else responses


def answer_fill_mask_request(request: FillMaskRequest, fill_mask: Any) -> FillMaskResponse:
    """:func:`fill_mask_response` to ``request``, predicted by ``fill_mask``."""
    encoded, options = encode_request_texts(request, fill_mask), request.options
    with answering_errors():
        found = fill_mask.predict_encoded(encoded, top_k=options.top_k, targets=request_targets(options))
    return fill_mask_response(request, found)
