"""Training windows and their start/end labels, made with the reader's own windowing.

Training and reading see the same windows: questions are cut by :func:`truncate_question` and paired with their
contexts by :func:`tokenize_windows`, exactly as :class:`~docqa.readers.ExtractiveReader` does. A window's labels
are the first and last document tokens that overlap the answer's characters; an answer not wholly inside the
window's document tokens, and an unanswerable question, are labelled at the first token (``[CLS]`` / ``<s>``),
where the reader scores "no answer".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from docqa.readers.windows import Window, tokenize_windows, truncate_question
from docqa.training.squad_training_data import TrainingQuestion

#: Questions tokenized at once: bounds the tokenizer's memory on large files.
_QUESTIONS_PER_CHUNK = 1000


@dataclass(frozen=True)
class LabelledWindow:
    """A window of question ``question`` (index into the training set) with its gold start/end token."""

    question: int
    window: Window
    start: int
    end: int


def label_window(window: Window, answer: tuple[int, int] | None) -> tuple[int, int]:
    """``(start, end)`` token labels (inclusive) of ``answer`` (``[start, end)`` in characters) in ``window``:
    ``(0, 0)`` when there is no answer or it is not wholly inside the window's document tokens."""
    if answer is None:
        return 0, 0
    tokens = np.flatnonzero(window.context_mask)
    if tokens.size == 0:
        return 0, 0
    starts, ends = window.offsets[tokens, 0], window.offsets[tokens, 1]
    if starts[0] > answer[0] or ends[-1] < answer[1]:
        return 0, 0
    first = int(np.searchsorted(ends, answer[0], side="right"))  # the first token ending after the answer starts
    last = int(np.searchsorted(starts, answer[1], side="left")) - 1  # the last token starting before it ends
    if first > last:
        return 0, 0  # only characters the tokenizer drops: nothing to point at
    return int(tokens[first]), int(tokens[last])


def training_windows(
    tokenizer: Any,
    questions: Sequence[TrainingQuestion],
    max_seq_len: int,
    doc_stride: int,
    max_query_length: int,
    with_token_types: bool,
) -> list[LabelledWindow]:
    """Every window of every question, labelled (see the module doc)."""
    labelled: list[LabelledWindow] = []
    for first in range(0, len(questions), _QUESTIONS_PER_CHUNK):
        chunk = questions[first : first + _QUESTIONS_PER_CHUNK]
        texts = [truncate_question(tokenizer, q.question, max_query_length)[0] for q in chunk]
        windows = tokenize_windows(
            tokenizer, texts, [q.context for q in chunk], max_seq_len, doc_stride, with_token_types
        )
        for window in windows:
            start, end = label_window(window, chunk[window.pair].answer_span)
            labelled.append(LabelledWindow(first + window.pair, window, start, end))
    return labelled


def uses_token_types(tokenizer: Any, model: Any) -> bool:
    """Whether ``model`` takes token type ids and ``tokenizer`` makes them: the reader's rule."""
    import inspect

    parameters = inspect.signature(model.forward).parameters
    return "token_type_ids" in parameters and "token_type_ids" in tokenizer.model_input_names
