"""What answers look like outside Python: the JSON of ``docqa ask --json`` and ``docqa run --json`` (the shape an
HTTP API returns too), the lines ``docqa batch`` writes, and the model cards' keyed responses. Written here once,
for every command and endpoint."""

from __future__ import annotations

from docqa.answers.shapes import (
    answer_json,
    answers_json,
    batch_line,
    keyed_answers,
    passage_json,
    source_json,
)

__all__ = [
    "answer_json",
    "answers_json",
    "batch_line",
    "keyed_answers",
    "passage_json",
    "source_json",
]
