"""Batch input, validated into plain dicts (picklable, so they can be shipped to workers):

* ``.jsonl``: JSON Lines records, ``{"id", "question", "context"?}`` (QA) or ``{"id", "input_string"}``
  (fill-mask);
* ``.json``: one request body in the model cards' formats (records ``"0"``, ``"1"``...), else JSON Lines;
* ``.csv``: a header and one record per row, columns ``question``, ``context`` (optional; an empty cell means
  none) and ``id`` (optional: rows are then ``"0"``, ``"1"``...), or ``input_string`` for fill-mask, as the
  model cards' batch endpoints take them; other columns are ignored;
* a folder: every such file under it (sorted, hidden ones left out), as one input; records without an id of
  their own are named ``"<file>:<row>"``, so ids stay unique. Other files are listed in ``skipped``.

A record that is not valid becomes an error line ``{"id", "error"}`` (``"line"`` too when it has no usable id,
and ``"file"`` in a folder) instead of stopping the run; a record whose id an earlier record has is a duplicate:
reported, never written. A file that is not one of these formats at all is one :class:`RequestError`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
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


#: The files a batch reads, by extension; in a folder, other files are skipped.
INPUT_SUFFIXES = (".jsonl", ".json", ".csv")


@dataclass(frozen=True)
class InputLine:
    """One input record: ``record`` (validated, as a dict) or ``error`` (the output line for it). ``duplicate``:
    its id is an earlier record's, so it is reported (``error["error"]`` says where) and never written."""

    line: int
    record: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    duplicate: bool = False

    @property
    def key(self) -> str:
        """What resuming matches against the output: the id, or the line number of an id-less error."""
        source = self.record if self.record is not None else self.error
        assert source is not None
        found = source.get("id")
        return f"id:{found!r}" if found is not None else f"line:{self.line}"


@dataclass(frozen=True)
class BatchInput:
    """The records of an input file or folder; ``options`` are a request body's parameters (``None`` for
    records); ``skipped`` names the files of a folder that are not batch input."""

    lines: list[InputLine]
    options: QAParameters | FillMaskParameters | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> list[InputLine]:
        return [line for line in self.lines if line.duplicate]


def record_error(line: int, raw: Any, message: str, source: str = "") -> InputLine:
    """The error line of a bad record: its id when it has a usable one, else its line number (and, in a folder,
    its ``source`` file)."""
    found = raw.get("id") if isinstance(raw, dict) else None
    usable = isinstance(found, (str, int)) and not isinstance(found, bool)
    error: dict[str, Any] = {"id": found if usable else None, "error": message}
    if not usable:
        error["line"] = line
        if source:
            error["file"] = source
    return InputLine(line, error=error)


def _where(line: int, source: str) -> str:
    return f"{source} line {line}" if source else f"line {line}"


def parse_record(raw: Any, line: int, task: Task, source: str = "") -> InputLine:
    """Validate one decoded record for ``task`` (``line``, ``source``: where it is, for messages)."""
    model: type[QARecord] | type[FillMaskRecord] = QARecord if task == "qa" else FillMaskRecord
    where = _where(line, source)
    if not isinstance(raw, dict):
        return record_error(line, raw, f"{where}: a record must be a JSON object, got {type(raw).__name__}", source)
    try:
        record = model.model_validate(raw)
    except ValidationError as error:
        message = str(request_error(error)).removeprefix("invalid request: ")
        return record_error(line, raw, f"{where}: {message}", source)
    return InputLine(line, record=record.model_dump(exclude_none=True))


def parse_jsonl(text: str, task: Task, source: str = "") -> Iterator[InputLine]:
    """Each non-blank line of ``text`` as a record or an error line (duplicates are not checked here: see
    :func:`mark_duplicates`)."""
    for number, raw_line in enumerate(text.splitlines(), start=1):
        if not raw_line.strip():
            continue
        try:
            raw = json.loads(raw_line)
        except json.JSONDecodeError as error:
            message = f"{_where(number, source)}: not valid JSON ({error.msg} at column {error.colno})"
            yield record_error(number, None, message, source)
            continue
        yield parse_record(raw, number, task, source)


def parse_csv(text: str, task: Task, path: Path, source: str = "") -> Iterator[InputLine]:
    """The rows of a CSV file with a header as records (see the module doc); a header without the task's
    column is a :class:`RequestError` naming the file."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    needed = "question" if task == "qa" else "input_string"
    if needed not in header:
        what = "question answering" if task == "qa" else "fill-mask"
        raise RequestError(f"{path}: a CSV file for {what} needs a {needed!r} column; its header is {header}")
    columns = ("id", "question", "context") if task == "qa" else ("id", "input_string")
    for row_number, row in enumerate(reader):
        line = reader.line_num
        if None in row:
            yield record_error(line, None, f"{_where(line, source)}: more fields than the header's", source)
            continue
        raw: dict[str, Any] = {name: row[name] for name in columns if row.get(name)}  # an empty cell: none
        if "id" not in header:
            raw["id"] = f"{source}:{row_number}" if source else str(row_number)
        yield parse_record(raw, line, task, source)


def mark_duplicates(lines: Sequence[InputLine], sources: Sequence[str] | None = None) -> list[InputLine]:
    """``lines`` with every record whose id an earlier record has marked as a duplicate (never written)."""
    seen: dict[RecordId, str] = {}
    marked = []
    for position, line in enumerate(lines):
        source = sources[position] if sources is not None else ""
        if line.record is not None and line.record["id"] in seen:
            record_id = line.record["id"]
            message = f"{_where(line.line, source)}: id {record_id!r} is already used on {seen[record_id]}"
            line = replace(line, record=None, error={"id": record_id, "error": message}, duplicate=True)
        elif line.record is not None:
            seen[line.record["id"]] = _where(line.line, source)
        marked.append(line)
    return marked


def records_from_body(body: dict[str, Any], task: Task, source: str = "") -> BatchInput:
    """A request body's pairs or texts as records with ids ``"0"``, ``"1"``... (``"<source>:0"``... in a
    folder) and the body's parameters."""
    request = parse_score_request(body, task)
    prefix = f"{source}:" if source else ""
    if isinstance(request, QARequest):
        pairs = request.pairs()
        lines = [InputLine(i, {"id": f"{prefix}{i}", "question": q, "context": c}) for i, (q, c) in enumerate(pairs)]
        return BatchInput(lines, request.options)
    assert isinstance(request, FillMaskRequest)
    texts = request.texts()
    return BatchInput(
        [InputLine(i, {"id": f"{prefix}{i}", "input_string": t}) for i, t in enumerate(texts)], request.options
    )


def read_batch_input(path: Path, task: Task, exclude: Path | None = None) -> BatchInput:
    """Read ``path``, a file or a folder of files (see the module doc); in a folder, ``exclude`` (the batch's
    output, when it lies there) is not input.

    Raises :class:`RequestError` naming the file for a body that does not validate, a file of no batch format,
    a CSV without the task's column, text that is not UTF-8, a folder without input files, and bodies of
    different parameters in one folder."""
    if not path.is_dir():
        found = _read_file(path, task, "")
        return replace(found, lines=mark_duplicates(found.lines))
    return _read_folder(path, task, exclude)


def _read_folder(folder: Path, task: Task, exclude: Path | None) -> BatchInput:
    from docqa.converters.file_converter import expand_paths

    unreadable: list[Any] = []
    left_out = exclude.resolve() if exclude is not None else None
    files = [file for file in expand_paths([folder], True, unreadable) if file.resolve() != left_out]
    inputs = [file for file in files if file.suffix.lower() in INPUT_SUFFIXES]
    skipped = [str(file) for file in files if file not in inputs] + [f"{u.path} ({u.reason})" for u in unreadable]
    if not inputs:
        raise RequestError(f"{folder}: no batch input files in this folder (looked for {', '.join(INPUT_SUFFIXES)})")
    parsed = [(file.relative_to(folder).as_posix(), file) for file in inputs]
    found = [(source, _read_file(file, task, source)) for source, file in parsed]
    if len({batch.options.model_dump_json() if batch.options else None for _, batch in found}) > 1:
        raise RequestError(f"{folder}: its files ask for different parameters (request bodies and records mixed)")
    lines = [line for _, batch in found for line in batch.lines]
    sources = [source for source, batch in found for _ in batch.lines]
    return BatchInput(mark_duplicates(lines, sources), found[0][1].options, skipped)


def _read_file(path: Path, task: Task, source: str) -> BatchInput:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise RequestError(f"{path}: not UTF-8 text (byte {error.start})") from None
    if path.suffix.lower() == ".csv":
        return BatchInput(list(parse_csv(text, task, path, source)))
    body = _whole_file_body(text)
    if body is not None:
        try:
            return records_from_body(body, task, source)
        except RequestError as error:
            raise RequestError(f"{path}: {error}", error.details) from None
    lines = list(parse_jsonl(text, task, source))
    if lines and not _any_json_line(text):
        first = lines[0].error["error"] if lines[0].error is not None else ""
        raise RequestError(f"{path}: not JSON Lines, nor a request body ({first}); a CSV file must be named *.csv")
    return BatchInput(lines)


def _any_json_line(text: str) -> bool:
    """Whether some line of ``text`` is JSON (the first one, in a JSON Lines file): else it is no batch format."""
    for raw_line in text.splitlines():
        try:
            json.loads(raw_line)
        except json.JSONDecodeError:
            continue
        return True
    return False


def _whole_file_body(text: str) -> dict[str, Any] | None:
    """The file's one JSON object when it is a request body (has ``inputs`` or ``input_data``), else ``None``
    (JSONL fails to parse as one document at its second line, at once)."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return None
    return body if isinstance(body, dict) and ({"inputs", "input_data"} & body.keys()) else None
