"""``docqa ask --context TEXT|FILE``: answer from one given context, with no store or pipeline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from docqa.cli._common import fail, handle_errors
from docqa.schema import Document


def read_context(value: str) -> Document:
    """The context as a document: stdin for ``-``, the file ``value`` names (UTF-8) when there is one, else
    ``value`` itself."""
    path = Path(value).expanduser()
    if value == "-":
        document = Document(sys.stdin.read(), meta={"title": "stdin"})
    elif len(value) < 4096 and path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            fail(f"--context {path}: not UTF-8 text (byte {error.start})")
        except OSError as error:
            fail(f"--context {path}: {error.strerror or error}")
        document = Document(text, meta={"file_name": path.name})
    else:
        document = Document(value, meta={"title": "--context"})
    if not document.content.strip():
        fail("--context is empty: give the text to read (or a file holding it)")
    return document


def answer_in_context(
    question: str, context: Document, reader_options: dict[str, Any], top_k: int, json_output: bool
) -> None:
    """Read ``context`` with a reader of ``reader_options`` (``model``, ``backend``...: its init parameters) and
    print the answers as ``docqa ask`` does."""
    from docqa.cli._display import show_answers
    from docqa.pipelines.extractive_qa import QA_GROUP_BY
    from docqa.readers.extractive_reader import DEFAULT_READER_MODEL, ExtractiveReader

    options = {name: value for name, value in reader_options.items() if value is not None}
    reader = ExtractiveReader(**{"model": DEFAULT_READER_MODEL, "group_by": QA_GROUP_BY, **options})
    with handle_errors({reader.model: "--model PATH"}):
        reader.warm_up()
    show_answers(question, reader.run(query=question, documents=[context], top_k=top_k)["answers"], json_output)
