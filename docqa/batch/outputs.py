"""Where a batch writes its lines: JSON Lines, or CSV when the output's name ends in ``.csv``.

Both are appended to and flushed chunk by chunk; resuming reads what is there, drops a last line cut off by a
killed run and the error lines (their records run again), and rewrites the file atomically when it dropped any.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docqa.batch.records import InputLine
from docqa.errors import RequestError
from docqa.files import atomic_write_text
from docqa.formats.requests import FillMaskParameters, QAParameters, Task
from docqa.formats.responses import QAAnswer

#: The columns an error line fills (``line`` and ``file`` only for a record without a usable id).
ERROR_COLUMNS = ("error", "line", "file")

Write = Callable[[dict[str, Any]], None]


def csv_columns(task: Task, options: QAParameters | FillMaskParameters | None) -> tuple[str, ...]:
    """The header of a CSV output: the keys of the lines the batch writes for ``task`` and ``options``."""
    if task == "fill-mask":
        columns: tuple[str, ...] = ("id", "predictions")
    elif options is None or not isinstance(options, QAParameters):
        columns = ("id", "answer", "score", "start", "end", "document_id")
    elif options.response_format == "keyed":
        columns = ("id", *(str(rank) for rank in range(options.top_k)))
    else:
        columns = ("id", *QAAnswer.model_fields) if options.top_k == 1 else ("id", "answers")
    return (*columns, *ERROR_COLUMNS)


@dataclass(frozen=True)
class BatchOutput:
    """The output file ``path``: JSON Lines, or CSV with ``columns`` (``None``: JSON Lines)."""

    path: Path
    columns: tuple[str, ...] | None = None

    @classmethod
    def for_path(cls, path: Path, task: Task, options: QAParameters | FillMaskParameters | None) -> BatchOutput:
        return cls(path, csv_columns(task, options) if path.suffix.lower() == ".csv" else None)

    def key(self, record_id: Any) -> str:
        """What resuming matches a record by: its id (as text in a CSV, where every cell is text)."""
        return f"id:{record_id}" if self.columns is not None else f"id:{record_id!r}"

    def done_keys(self) -> set[str]:
        """The keys of the records ``path`` holds an answer for; rewrites it without its error lines and a cut
        last line (atomically) when it has any."""
        if not self.path.exists():
            return set()
        lines, complete = self._read()
        kept = [line for line in lines if not line.get("error")]
        if len(kept) != len(lines) or not complete:
            self._rewrite(kept)
        return {self.key(line.get("id")) for line in kept}

    def pending(self, lines: Sequence[InputLine], done: set[str]) -> list[InputLine]:
        """The input lines to answer: all but duplicates and the records ``done`` holds."""
        return [line for line in lines if not line.duplicate and not self._done(line, done)]

    def _done(self, line: InputLine, done: set[str]) -> bool:
        return line.record is not None and self.key(line.record["id"]) in done

    @contextmanager
    def writer(self, append: bool) -> Iterator[Write]:
        """A function writing one line and flushing it (the file appended to, or started afresh)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not append or not self.path.exists() or self.path.stat().st_size == 0
        with self.path.open("a" if append else "w", encoding="utf-8", newline="") as handle:
            write = self._csv_writer(handle, fresh) if self.columns is not None else _jsonl_writer(handle)
            yield write

    def _csv_writer(self, handle: Any, fresh: bool) -> Write:
        assert self.columns is not None
        writer = csv.DictWriter(handle, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        if fresh:
            writer.writeheader()

        def write(line: dict[str, Any]) -> None:
            writer.writerow({key: _cell(value) for key, value in line.items()})
            handle.flush()

        return write

    def _read(self) -> tuple[list[dict[str, Any]], bool]:
        """The lines of the file and whether its last one is complete (a killed run may cut it)."""
        text = self.path.read_bytes().decode("utf-8", errors="replace")
        complete = text.endswith("\n") or not text
        if self.columns is not None:
            return self._csv_lines(text, complete), complete
        lines = []
        for number, raw in enumerate(text.splitlines()[: None if complete else -1], start=1):
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                raise RequestError(f"{self.path} line {number} is not JSON: cannot resume from this output") from None
            if not isinstance(line, dict):
                raise RequestError(f"{self.path} line {number} is not a JSON object: cannot resume from this output")
            lines.append(line)
        return lines, complete

    def _csv_lines(self, text: str, complete: bool) -> list[dict[str, Any]]:
        assert self.columns is not None
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is not None and tuple(header) != self.columns:
            raise RequestError(
                f"{self.path}: its columns {header} are not this batch's {list(self.columns)}: cannot resume from it"
            )
        rows = list(reader)
        if rows and (not complete or len(rows[-1]) != len(self.columns)):
            rows = rows[:-1]  # cut by a kill (possibly inside a quoted cell)
        return [dict(zip(self.columns, row, strict=False)) for row in rows]

    def _rewrite(self, lines: list[dict[str, Any]]) -> None:
        if self.columns is None:
            atomic_write_text(self.path, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
            return
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(lines)
        atomic_write_text(self.path, buffer.getvalue())


def _jsonl_writer(handle: Any) -> Write:
    def write(line: dict[str, Any]) -> None:
        handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        handle.flush()

    return write


def _cell(value: Any) -> Any:
    """A CSV cell: lists and objects as JSON text, ``None`` as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value
