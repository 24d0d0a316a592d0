"""Answering fill-mask requests with :class:`~docqa.fill_mask.FillMask`, in transformers' output shape."""

from __future__ import annotations

from typing import Any

from docqa.errors import ComponentError, RequestError
from docqa.fill_mask.decoding import MaskPredictions
from docqa.fill_mask.encoding import EncodedText, FillMaskInputError
from docqa.formats.requests import FillMaskRequest


def predictions_response(per_mask: MaskPredictions) -> list[Any]:
    """One text's predictions as transformers gives them: a list of ``{"score", "token", "token_str",
    "sequence"}`` for one mask, a list of such lists for several."""
    lists = [[prediction.to_dict() for prediction in candidates] for candidates in per_mask]
    return lists[0] if len(lists) == 1 else lists


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


def answer_fill_mask_request(request: FillMaskRequest, fill_mask: Any) -> list[Any]:
    """The response to ``request``: per input text its predictions (see :func:`predictions_response`); for
    one plain string, that text's predictions alone."""
    options = request.options
    targets = (
        None
        if options.targets is None
        else ([options.targets] if isinstance(options.targets, str) else options.targets)
    )
    encoded = encode_request_texts(request, fill_mask)
    try:
        found = fill_mask.predict_encoded(encoded, top_k=options.top_k, targets=targets)
    except ComponentError as error:
        raise RequestError(f"invalid request: {error}") from None
    responses = [predictions_response(per_mask) for per_mask in found]
    return responses[0] if request.single else responses
