"""The model cards' response shapes as pydantic models: what ``/score`` and ``docqa batch`` answer.

Question answering, per ``(question, context)`` pair: one :class:`QAAnswer`, or a list of ``top_k`` of them when
``top_k > 1``. One pair given as plain strings is answered as the Hugging Face Inference API and the
transformers pipeline answer it (``inputs``: the object itself when ``top_k`` is 1, else the list), or as the
AzureML cards show it (``input_data``: always a list). ``response_format="keyed"`` gives the minilm card's
``[{"0": "John"}, ...]``. Fill-mask, per text: a list of :class:`FillMaskPrediction` for one mask, a list of such
lists for several; one plain string is answered with its own predictions alone.
"""

from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class QAAnswer(_Frozen):
    """One answer: ``score`` is the reader's probability, ``start``/``end`` character offsets into the given
    context; the no-answer (with ``handle_impossible_answer``) is ``""`` at ``0, 0``."""

    score: float
    start: int
    end: int
    answer: str


class FillMaskPrediction(_Frozen):
    """One candidate for one mask, as transformers' fill-mask pipeline reports it."""

    score: float
    token: int
    token_str: str
    sequence: str


#: Keyed form: per pair ``{"0": best answer, "1": next...}``.
KeyedAnswers = dict[str, str]
QAResponse = Union[QAAnswer, list[QAAnswer], list[list[QAAnswer]], list[KeyedAnswers]]  # noqa: UP007
#: One text's predictions: one list per mask (a flat list for a text with one mask).
TextPredictions = Union[list[FillMaskPrediction], list[list[FillMaskPrediction]]]  # noqa: UP007
FillMaskResponse = Union[TextPredictions, list[TextPredictions]]  # noqa: UP007
ScoreResponse = Union[QAResponse, FillMaskResponse]  # noqa: UP007


def jsonable(response: Any) -> Any:
    """A response as plain JSON values (dicts, lists, numbers, strings)."""
    return to_jsonable_python(response)
