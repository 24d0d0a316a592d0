"""Batch input: JSONL records (``{"id", "question", "context"?}``, ``{"id", "input_string"}``) or one request
body in the model cards' formats, validated into plain dicts (picklable, so they can be shipped to workers).

A line that is not a valid record becomes an error line ``{"id", "error"}`` (``"line"`` too when it has no
usable id) instead of stopping the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError

from docqa.errors import RequestError
from docqa.formats.requests import (
    FillMaskParameters,
    FillMaskRequest,
    NonEmptyStr,
    QAParameters,
    QARequest,
    Task,
    parse_score_request,
    request_error,
)

RecordId = Union[str, int]  # noqa: UP007 (a runtime alias)


def _record_id(value: Any) -> RecordId:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"must be a string or an integer, got {type(value).__name__}")
    return value


#: A record's id: a string or an integer (not a boolean), one error message for both.
RecordIdField = Annotated[RecordId, PlainValidator(_record_id)]


class QARecord(BaseModel):
    """A question, with the context to read it in, or without one (then retrieved from a store)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    id: RecordIdField
    question: NonEmptyStr
    context: NonEmptyStr | None = None


class FillMaskRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    id: RecordIdField
    input_string: NonEmptyStr = Field(min_length=1)


@dataclass(frozen=True)
class InputLine:
    """One input record: ``record`` (validated, as a dict) or ``error`` (the output line for it)."""

    line: int
    record: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        """What resuming matches against the output: the id, or the line number of an id-less error."""
        source = self.record if self.record is not None else self.error
        assert source is not None
        found = source.get("id")
        return f"id:{found!r}" if found is not None else f"line:{self.line}"


@dataclass(frozen=True)
class BatchInput:
    """The records of an input file; ``options`` are a request body's parameters (``None`` for JSONL)."""

    lines: list[InputLine]
    options: QAParameters | FillMaskParameters | None = None


def record_error(line: int, raw: Any, message: str) -> InputLine:
    """The error line of a bad record: its id when it has a usable one, else its line number."""
    found = raw.get("id") if isinstance(raw, dict) else None
    usable = isinstance(found, (str, int)) and not isinstance(found, bool)
    error: dict[str, Any] = {"id": found if usable else None, "error": message}
    if not usable:
        error["line"] = line
    return InputLine(line, error=error)


def parse_record(raw: Any, line: int, task: Task) -> InputLine:
    """Validate one decoded JSONL record for ``task``."""
    model: type[QARecord] | type[FillMaskRecord] = QARecord if task == "qa" else FillMaskRecord
    if not isinstance(raw, dict):
        return record_error(line, raw, f"line {line}: a record must be a JSON object, got {type(raw).__name__}")
    try:
        record = model.model_validate(raw)
    except ValidationError as error:
        return record_error(line, raw, f"line {line}: {str(request_error(error)).removeprefix('invalid request: ')}")
    return InputLine(line, record=record.model_dump(exclude_none=True))


def parse_jsonl(text: str, task: Task) -> Iterator[InputLine]:
    """Each non-blank line of ``text`` as a record or an error line; a repeated id is an error."""
    seen: dict[RecordId, int] = {}
    for number, raw_line in enumerate(text.splitlines(), start=1):
        if not raw_line.strip():
            continue
        try:
            raw = json.loads(raw_line)
        except json.JSONDecodeError as error:
            yield record_error(number, None, f"line {number}: not valid JSON ({error.msg} at column {error.colno})")
            continue
        parsed = parse_record(raw, number, task)
        if parsed.record is not None and parsed.record["id"] in seen:
            first = seen[parsed.record["id"]]
            yield record_error(
                number, raw, f"line {number}: id {parsed.record['id']!r} is already used on line {first}"
            )
            continue
        if parsed.record is not None:
            seen[parsed.record["id"]] = number
        yield parsed


def records_from_body(body: dict[str, Any], task: Task) -> BatchInput:
    """A request body's pairs or texts as records with ids ``"0"``, ``"1"``... and the body's parameters."""
    request = parse_score_request(body, task)
    if isinstance(request, QARequest):
        pairs = request.pairs()
        lines = [InputLine(i, {"id": str(i), "question": q, "context": c}) for i, (q, c) in enumerate(pairs)]
        return BatchInput(lines, request.options)
    assert isinstance(request, FillMaskRequest)
    texts = request.texts()
    return BatchInput([InputLine(i, {"id": str(i), "input_string": t}) for i, t in enumerate(texts)], request.options)


def read_batch_input(path: Path, task: Task) -> BatchInput:
    """Read ``path``: one request body (a JSON object with ``inputs`` or ``input_data``), else JSONL records.

    Raises :class:`RequestError` for a body that does not validate and ``OSError`` / ``UnicodeDecodeError``
    (wrapped, naming the file) when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(f"{path}: not UTF-8 text (byte {error.start})") from None
    body = _whole_file_body(text)
    if body is not None:
        try:
            return records_from_body(body, task)
        except RequestError as error:
            raise RequestError(f"{path}: {error}", error.details) from None
    return BatchInput(list(parse_jsonl(text, task)))


def _whole_file_body(text: str) -> dict[str, Any] | None:
    """The file's one JSON object when it is a request body (has ``inputs`` or ``input_data``), else ``None``
    (JSONL fails to parse as one document at its second line, at once)."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return None
    return body if isinstance(body, dict) and ({"inputs", "input_data"} & body.keys()) else None
