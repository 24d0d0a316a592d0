"""The model cards' real-time request bodies as pydantic models, and one-line errors naming field and index.

Question answering (``question`` and ``context``: a string each, or lists that pair up by position)::

    {"input_data": {"question": [...], "context": [...]}, "params": {...}}        # AzureML
    {"inputs": {"question": "...", "context": "..."}, "parameters": {...}}       # Hugging Face Inference

Fill-mask::

    {"inputs": {"input_string": [...]}, "parameters": {"top_k": 2}}
    {"input_data": [...]}
    {"inputs": "one string"}

>>> parse_score_request({"inputs": {"question": "Who?", "context": "Ann did."}}).pairs()
[('Who?', 'Ann did.')]
>>> parse_score_request({"input_data": {"question": ["a", "b"], "context": ["c"]}})
Traceback (most recent call last):
...
docqa.errors.RequestError: invalid request: input_data: question has 2 items but context has 1; they pair up by position
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from docqa.errors import ComponentError, RequestError
from docqa.readers.settings import ReaderSettings

Task = Literal["qa", "fill-mask"]
_MAX_REPORTED = 5


def _non_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must be a non-empty string")
    return text


NonEmptyStr = Annotated[str, Field(strict=True), AfterValidator(_non_blank)]


def _one_or_many(value: Any) -> str:
    return "~many" if isinstance(value, list) else "~one"


#: A string or a list of strings. The tags (``~one``, ``~many``) are left out of error locations.
OneOrMany = Annotated[
    Union[Annotated[NonEmptyStr, Tag("~one")], Annotated[list[NonEmptyStr], Tag("~many")]],  # noqa: UP007
    Discriminator(_one_or_many),
]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class QAParameters(_Strict):
    """Options of a question-answering request (the Hugging Face pipeline's names and defaults);
    ``response_format="keyed"`` answers in the minilm card's form ``[{"0": "John"}, ...]``."""

    top_k: int = Field(default=1, ge=1, le=100)
    doc_stride: int = Field(default=128, ge=0)
    max_answer_len: int = Field(default=15, ge=1)
    max_seq_len: int = Field(default=384, ge=8)
    max_question_len: int = Field(default=64, ge=1)
    handle_impossible_answer: bool = False
    align_to_words: bool = True
    response_format: Literal["answers", "keyed"] = "answers"

    def reader_settings(self) -> ReaderSettings:
        """The reader settings these parameters ask for (the no-answer always scored, so that
        ``handle_impossible_answer`` can rank it)."""
        return ReaderSettings(
            max_seq_len=self.max_seq_len,
            doc_stride=self.doc_stride,
            max_query_length=self.max_question_len,
            max_answer_length=self.max_answer_len,
            align_to_words=self.align_to_words,
            no_answer=True,
        )

    @model_validator(mode="after")
    def _window_fits(self) -> QAParameters:
        room = self.max_seq_len - self.max_question_len - 4  # at most 4 special tokens in a pair (RoBERTa)
        if self.doc_stride >= room:
            raise ValueError(
                f"doc_stride={self.doc_stride} must be smaller than max_seq_len - max_question_len - 4 = {room}"
            )
        return self


class QAInputs(_Strict):
    question: OneOrMany
    context: OneOrMany

    @model_validator(mode="after")
    def _same_length(self) -> QAInputs:
        questions, contexts = as_list(self.question), as_list(self.context)
        if len(questions) != len(contexts):
            raise ValueError(
                f"question has {len(questions)} items but context has {len(contexts)}; they pair up by position"
            )
        if not questions:
            raise ValueError("question and context are empty lists: give at least one pair")
        return self


class QARequest(_Strict):
    """A question-answering request: ``input_data`` or ``inputs``, and optionally ``params`` or ``parameters``."""

    input_data: QAInputs | None = None
    inputs: QAInputs | None = None
    params: QAParameters | None = None
    parameters: QAParameters | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> QARequest:
        _exactly_one(self.input_data, self.inputs, "input_data", "inputs")
        if self.params is not None and self.parameters is not None:
            raise ValueError("give params or parameters, not both")
        return self

    @property
    def task(self) -> Task:
        return "qa"

    @property
    def options(self) -> QAParameters:
        chosen = self.params if self.params is not None else self.parameters
        return chosen if chosen is not None else QAParameters()

    @property
    def single(self) -> bool:
        """Whether the request asked one question about one context as plain strings (not lists)."""
        given = self._inputs()
        return isinstance(given.question, str) and isinstance(given.context, str)

    @property
    def style(self) -> Literal["azureml", "hugging-face"]:
        """``azureml`` for ``input_data`` bodies, ``hugging-face`` for ``inputs`` ones (they shape one pair's
        answer differently: the cards' list, or the Inference API's object)."""
        return "azureml" if self.input_data is not None else "hugging-face"

    def _inputs(self) -> QAInputs:
        given = self.input_data if self.input_data is not None else self.inputs
        assert given is not None  # checked by _one_of_each
        return given

    def pairs(self) -> list[tuple[str, str]]:
        given = self._inputs()
        return list(zip(as_list(given.question), as_list(given.context), strict=True))


class FillMaskInputs(_Strict):
    input_string: OneOrMany


def _fill_mask_tag(value: Any) -> str:
    return "~fields" if isinstance(value, dict) else _one_or_many(value)


FillMaskTexts = Annotated[
    Union[  # noqa: UP007
        Annotated[NonEmptyStr, Tag("~one")],
        Annotated[list[NonEmptyStr], Tag("~many")],
        Annotated[FillMaskInputs, Tag("~fields")],
    ],
    Discriminator(_fill_mask_tag),
]


class FillMaskParameters(_Strict):
    top_k: int = Field(default=5, ge=1, le=1000)
    targets: OneOrMany | None = None


class FillMaskRequest(_Strict):
    """A fill-mask request: texts in ``inputs`` or ``input_data`` (a string, a list, or ``{"input_string":
    ...}``), options in ``parameters`` or ``params``."""

    inputs: FillMaskTexts | None = None
    input_data: FillMaskTexts | None = None
    parameters: FillMaskParameters | None = None
    params: FillMaskParameters | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> FillMaskRequest:
        _exactly_one(self.input_data, self.inputs, "input_data", "inputs")
        if self.params is not None and self.parameters is not None:
            raise ValueError("give params or parameters, not both")
        if not self.texts():
            raise ValueError("no input strings: give at least one")
        return self

    @property
    def task(self) -> Task:
        return "fill-mask"

    @property
    def options(self) -> FillMaskParameters:
        chosen = self.params if self.params is not None else self.parameters
        return chosen if chosen is not None else FillMaskParameters()

    def _given(self) -> str | list[str] | FillMaskInputs:
        given = self.inputs if self.inputs is not None else self.input_data
        assert given is not None  # checked by _one_of_each
        return given

    @property
    def field(self) -> str:
        """Where the texts are, for error messages: ``inputs``, ``input_data.input_string``..."""
        name = "inputs" if self.inputs is not None else "input_data"
        return f"{name}.input_string" if isinstance(self._given(), FillMaskInputs) else name

    @property
    def single(self) -> bool:
        """Whether the texts came as one plain string (answered with one list, not a list of lists)."""
        given = self._given()
        return isinstance(given.input_string if isinstance(given, FillMaskInputs) else given, str)

    def texts(self) -> list[str]:
        given = self._given()
        return as_list(given.input_string if isinstance(given, FillMaskInputs) else given)


ScoreRequest = Union[QARequest, FillMaskRequest]  # noqa: UP007


def _task_tag(body: Any) -> str | None:
    if isinstance(body, (QARequest, FillMaskRequest)):
        return f"~{body.task}"
    return f"~{detect_task(body)}" if isinstance(body, dict) else None


#: A /score body: question answering or fill-mask, told apart by :func:`detect_task` (a QA body's inputs hold
#: ``question`` or ``context``); errors name the fields of the task detected, not those of both.
ScoreRequestBody = Annotated[
    Union[Annotated[QARequest, Tag("~qa")], Annotated[FillMaskRequest, Tag("~fill-mask")]],  # noqa: UP007
    Discriminator(_task_tag, custom_error_type="not_an_object", custom_error_message="the body must be a JSON object"),
]
_SCORE_REQUEST: TypeAdapter[ScoreRequest] = TypeAdapter(ScoreRequestBody)


def _exactly_one(first: object, second: object, first_name: str, second_name: str) -> None:
    if first is None and second is None:
        raise ValueError(f"{first_name} or {second_name} is required")
    if first is not None and second is not None:
        raise ValueError(f"give {first_name} or {second_name}, not both")


def detect_task(body: Mapping[str, Any]) -> Task:
    """``"qa"`` when the inputs hold a ``question`` or ``context``, else ``"fill-mask"``."""
    given = body.get("inputs", body.get("input_data"))
    return "qa" if isinstance(given, dict) and ({"question", "context"} & given.keys()) else "fill-mask"


def parse_score_request(body: Any, task: Task | None = None) -> ScoreRequest:
    """Validate a request body (a parsed JSON object) for ``task`` (detected from the shape when ``None``).

    Raises :class:`RequestError`: one line naming the first problems' fields and indices
    (``input_data.question[1]: must be a non-empty string``), every problem in ``details``.
    """
    if not isinstance(body, dict):
        raise RequestError(f"invalid request: the body must be a JSON object, got {type(body).__name__}")
    try:
        if task is None:
            return _SCORE_REQUEST.validate_python(body)
        return (QARequest if task == "qa" else FillMaskRequest).model_validate(body)
    except ValidationError as error:
        raise request_error(error) from None


def request_error(error: ValidationError | Sequence[Mapping[str, Any]], prefix: str = "") -> RequestError:
    """The one conversion of validation errors (pydantic's, or FastAPI's list of them) to a
    :class:`RequestError`: locations as ``a.b[2]`` (after ``prefix``), messages without noise, the first few
    on one line and every one in ``details``."""
    items = error.errors() if isinstance(error, ValidationError) else error
    details = [{"loc": _location(tuple(item.get("loc", ())), prefix), "msg": _message(item)} for item in items]
    shown = "; ".join(f"{d['loc']}: {d['msg']}" if d["loc"] else d["msg"] for d in details[:_MAX_REPORTED])
    more = f" (and {len(details) - _MAX_REPORTED} more)" if len(details) > _MAX_REPORTED else ""
    return RequestError(f"invalid request: {shown or 'the body does not validate'}{more}", details)


@contextmanager
def answering_errors() -> Iterator[None]:
    """Turn a model's refusal of a valid request (settings it cannot read windows of, content it cannot take)
    into a :class:`RequestError`: the request asked for it, the server is fine."""
    try:
        yield
    except ComponentError as error:
        raise RequestError(f"invalid request: {error}") from None
    except (IndexError, RuntimeError) as error:  # e.g. windows longer than the model's positions
        raise RequestError(f"invalid request: the model cannot read this request ({error})") from None


def _location(loc: tuple[int | str, ...], prefix: str) -> str:
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part.startswith("~"):
            text += f".{part}" if text else part
    return text


def _message(item: Mapping[str, Any]) -> str:
    message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
    if item.get("type") == "extra_forbidden":
        return "unknown field"
    return message[:1].lower() + message[1:]
