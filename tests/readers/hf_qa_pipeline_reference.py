"""A test-only re-implementation of transformers 4.x's ``QuestionAnsweringPipeline`` decoding for one window.

Written from the 4.x pipeline's algorithm, independently of docqa's reader: ``p_mask`` keeps only the context
tokens (and ``[CLS]``), masked logits are set to -10000, start and end logits each go through a softmax,
``[CLS]`` is then zeroed, span scores are the outer product of the two probability vectors restricted to
``start <= end < start + max_answer_len`` (``np.triu`` / ``np.tril``), and the best span's characters come from
the tokenizer's ``Encoding`` with ``align_to_words``: ``word_to_chars(token_to_word(start))[0]`` to
``word_to_chars(token_to_word(end))[1]`` in the context sequence, or the raw token offsets when the token has no
word (the pipeline's fallback) or alignment is off.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PipelineAnswer:
    """The top answer's characters with ``align_to_words=True`` (``start``, ``end``) and ``False``
    (``raw_start``, ``raw_end``), and its score (start probability times end probability)."""

    start: int
    end: int
    raw_start: int
    raw_end: int
    score: float


def single_window_encoding(tokenizer: Any, question: str, context: str, max_seq_len: int) -> Any | None:
    """The pipeline's tokenization of ``(question, context)``, or ``None`` when it needs more than one window."""
    encoded = tokenizer(
        question,
        context,
        truncation="only_second",
        max_length=max_seq_len,
        stride=min(128, max_seq_len // 2),
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    return encoded if len(encoded["input_ids"]) == 1 else None


def pipeline_top_answers(
    model: Any, tokenizer: Any, encodings: list[Any], max_answer_len: int, batch_size: int = 32
) -> list[PipelineAnswer | None]:
    """The top answer of each single-window encoding; forward passes batched, right-padded with an attention
    mask (as the pipeline batches), each row's logits then cut back to its own length."""
    answers: list[PipelineAnswer | None] = []
    for first in range(0, len(encodings), batch_size):
        batch = encodings[first : first + batch_size]
        for encoded, (start, end) in zip(batch, _logits(model, tokenizer, batch), strict=True):
            answers.append(_decode(tokenizer, encoded, start, end, max_answer_len))
    return answers


def _logits(model: Any, tokenizer: Any, batch: list[Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    import torch

    names = [n for n in tokenizer.model_input_names if n in inspect.signature(model.forward).parameters]
    lengths = [len(encoded["input_ids"][0]) for encoded in batch]
    pad = tokenizer.pad_token_id
    inputs = {name: torch.zeros((len(batch), max(lengths)), dtype=torch.long) for name in names}
    inputs["input_ids"].fill_(pad)
    for row, encoded in enumerate(batch):
        for name in names:
            inputs[name][row, : lengths[row]] = torch.tensor(encoded[name][0])
    with torch.no_grad():
        output = model(**inputs)
    return [(output.start_logits[row, :n].numpy(), output.end_logits[row, :n].numpy()) for row, n in enumerate(lengths)]


def _decode(
    tokenizer: Any, encoded: Any, start: np.ndarray, end: np.ndarray, max_answer_len: int
) -> PipelineAnswer | None:
    ids = encoded["input_ids"][0]
    p_mask = np.array([sid != 1 for sid in encoded.sequence_ids(0)], dtype=np.int64)
    p_mask[np.asarray(ids) == tokenizer.cls_token_id] = 0
    desired = np.abs(p_mask - 1)
    start = _softmax(np.where(desired == 0, -10000.0, start))
    end = _softmax(np.where(desired == 0, -10000.0, end))
    start[0] = end[0] = 0.0  # mask CLS
    candidates = np.tril(np.triu(np.outer(start, end)), max_answer_len - 1)
    s, e = np.unravel_index(int(np.argmax(candidates)), candidates.shape)
    if not (desired[s] and desired[e]):
        return None
    first, last = _indices(encoded.encodings[0], int(s), int(e), align_to_words=True)
    raw_first, raw_last = _indices(encoded.encodings[0], int(s), int(e), align_to_words=False)
    return PipelineAnswer(first, last, raw_first, raw_last, float(candidates[s, e]))


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def _indices(encoding: Any, s: int, e: int, align_to_words: bool) -> tuple[int, int]:
    if align_to_words:
        try:
            start_index = encoding.word_to_chars(encoding.token_to_word(s), sequence_index=1)[0]
            end_index = encoding.word_to_chars(encoding.token_to_word(e), sequence_index=1)[1]
            return start_index, end_index
        except Exception:  # the pipeline's own fallback: tokens without a word keep their offsets
            pass
    return encoding.offsets[s][0], encoding.offsets[e][1]
