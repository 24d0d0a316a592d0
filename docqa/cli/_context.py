"""``docqa ask --context TEXT|FILE``: answer from one given context, with no store or pipeline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from docqa.cli._common import fail, print_json
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
    question: str, context: Document, model: str | None, top_k: int, options: dict[str, str | None], json_output: bool
) -> None:
    """Read ``context`` with the reader (``options``: its ``backend`` and ``dtype``, None for the defaults) and
    print the answers as ``docqa ask`` does."""
    from docqa.cli.ask import print_answers
    from docqa.readers.extractive_reader import DEFAULT_READER_MODEL, ExtractiveReader

    settings: dict[str, Any] = {name: value for name, value in options.items() if value is not None}
    reader = ExtractiveReader(model=DEFAULT_READER_MODEL if model is None else model, **settings)
    # one more than asked, so that top_k spans are shown even when the no-answer ranks among them
    found = reader.run(query=question, documents=[context], top_k=top_k + 1)["answers"]
    spans = [answer for answer in found if not answer.is_no_answer][:top_k]
    answers = [answer for answer in found if answer.is_no_answer or any(answer is span for span in spans)]
    if json_output:
        print_json({"question": question, "answers": [answer.to_dict() for answer in answers]})
    else:
        print_answers(question, answers)
