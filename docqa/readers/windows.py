"""Tokenizing question/document pairs into overlapping windows; batching them with dynamic padding."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import numpy as np

from docqa.core.batching import length_batches


@dataclass(frozen=True)
class Window:
    """One model input: a question with a slice of one document's tokens.

    ``pair`` indexes the (question, document) pair the window came from; ``context_mask`` marks the document
    tokens (the only ones an answer may use); ``offsets[i]`` is token ``i``'s ``[start, end)`` in the
    document text; ``word_offsets[i]`` is the ``[start, end)`` of the whole word token ``i`` belongs to (the
    tokenizer's pre-tokenized word, over all windows of the document), its own offsets for tokens in no word.
    """

    pair: int
    input_ids: np.ndarray
    token_type_ids: np.ndarray | None
    context_mask: np.ndarray
    offsets: np.ndarray
    word_offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)


def truncate_question(tokenizer: Any, question: str, max_query_length: int) -> tuple[str, bool]:
    """Cut ``question`` at a token boundary so that it has at most ``max_query_length`` tokens.

    Returns the (possibly shortened) text and whether it was shortened. Cutting the text rather than the ids
    keeps the pair tokenization (and its offsets) entirely inside the tokenizer.
    """
    # verbose=False: a question longer than the model is no reason for transformers' "sequence length" warning
    encoding = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    offsets = encoding["offset_mapping"]
    if len(offsets) <= max_query_length:
        return question, False
    keep = max_query_length
    text = question
    while keep > 0:
        text = question[: offsets[keep - 1][1]]
        # A cut inside a word can re-tokenize into more pieces: back off one token until it fits.
        if len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]) <= max_query_length:
            break
        keep -= 1
    return text, True


def tokenize_windows(
    tokenizer: Any,
    questions: Sequence[str],
    contexts: Sequence[str],
    max_seq_len: int,
    doc_stride: int,
    with_token_types: bool,
) -> list[Window]:
    """Split every ``(questions[i], contexts[i])`` pair into windows of at most ``max_seq_len`` tokens.

    Consecutive windows of one context share ``doc_stride`` tokens, so an answer cut by one window boundary
    lies whole in the next window.
    """
    if not questions:
        return []
    encoded = tokenizer(
        list(questions),
        list(contexts),
        truncation="only_second",
        max_length=max_seq_len,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    pairs = [int(pair) for pair in encoded["overflow_to_sample_mapping"]]
    offsets = [np.asarray(o, dtype=np.int64).reshape(-1, 2) for o in encoded["offset_mapping"]]
    masks = [np.fromiter((sid == 1 for sid in encoded.sequence_ids(i)), dtype=bool) for i in range(len(pairs))]
    word_ids = [_context_word_ids(encoded.word_ids(i), masks[i]) for i in range(len(pairs))]
    word_offsets = _whole_word_offsets(pairs, word_ids, offsets)
    windows = []
    for index, pair in enumerate(pairs):
        token_types = encoded["token_type_ids"][index] if with_token_types and "token_type_ids" in encoded else None
        windows.append(
            Window(
                pair=pair,
                input_ids=np.asarray(encoded["input_ids"][index], dtype=np.int64),
                token_type_ids=None if token_types is None else np.asarray(token_types, dtype=np.int64),
                context_mask=masks[index],
                offsets=offsets[index],
                word_offsets=word_offsets[index],
            )
        )
    return windows


def _context_word_ids(word_ids: Sequence[int | None], context_mask: np.ndarray) -> np.ndarray:
    """The word index of each document token; ``-1`` for question and special tokens and tokens in no word."""
    ids = np.fromiter((-1 if word is None else word for word in word_ids), dtype=np.int64, count=len(word_ids))
    return np.where(context_mask, ids, -1)


def _whole_word_offsets(
    pairs: Sequence[int], word_ids: Sequence[np.ndarray], offsets: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """Per window, each document token's character span widened to its whole word: from the start of the word's
    first token to the end of its last, over all windows of the same document (word indices are per document;
    the tokenizer yields a document's windows one after another)."""
    widened = []
    for _, group in groupby(range(len(pairs)), key=lambda i: pairs[i]):
        members = list(group)
        ids = [word_ids[i] for i in members]
        widened.extend(_widen_to_words(ids, [offsets[i] for i in members]))
    return widened


def _widen_to_words(word_ids: Sequence[np.ndarray], offsets: Sequence[np.ndarray]) -> list[np.ndarray]:
    ids, spans = np.concatenate(word_ids), np.concatenate(offsets)
    in_word = ids >= 0
    starts = np.full(int(ids.max(initial=-1)) + 1, np.iinfo(np.int64).max, dtype=np.int64)
    ends = np.full(len(starts), -1, dtype=np.int64)
    np.minimum.at(starts, ids[in_word], spans[in_word, 0])
    np.maximum.at(ends, ids[in_word], spans[in_word, 1])
    widened = []
    for window_ids, window_offsets in zip(word_ids, offsets, strict=True):
        mask = window_ids >= 0
        result = window_offsets.copy()
        result[mask, 0] = starts[window_ids[mask]]
        result[mask, 1] = ends[window_ids[mask]]
        widened.append(result)
    return widened


def length_sorted_batches(
    windows: Sequence[Window], batch_size: int, max_tokens: int | None = None
) -> Iterator[list[Window]]:
    """Batches of similar-length windows, longest first, so that padding each batch to its longest window wastes
    little: at most ``batch_size`` windows and, when ``max_tokens`` is given, at most ``max_tokens`` padded tokens
    (see :func:`docqa.core.batching.length_batches`)."""
    for positions in length_batches([len(window) for window in windows], batch_size, max_tokens):
        yield [windows[i] for i in positions]


def pad_batch(batch: Sequence[Window], pad_token_id: int) -> dict[str, np.ndarray]:
    """Right-pad a batch to its longest window: ``input_ids``, ``attention_mask`` and, if used,
    ``token_type_ids``.

    Right padding keeps the first token (where the null answer is scored) at index 0 in every row.
    """
    length = max(len(window) for window in batch)
    input_ids = np.full((len(batch), length), pad_token_id, dtype=np.int64)
    attention_mask = np.zeros((len(batch), length), dtype=np.int64)
    for row, window in enumerate(batch):
        input_ids[row, : len(window)] = window.input_ids
        attention_mask[row, : len(window)] = 1
    arrays = {"input_ids": input_ids, "attention_mask": attention_mask}
    if batch[0].token_type_ids is not None:
        token_type_ids = np.zeros((len(batch), length), dtype=np.int64)
        for row, window in enumerate(batch):
            if window.token_type_ids is not None:
                token_type_ids[row, : len(window)] = window.token_type_ids
        arrays["token_type_ids"] = token_type_ids
    return arrays


def context_mask_matrix(batch: Sequence[Window], length: int) -> np.ndarray:
    """``(len(batch), length)`` mask of document tokens; padding positions are ``False``."""
    mask = np.zeros((len(batch), length), dtype=bool)
    for row, window in enumerate(batch):
        mask[row, : len(window)] = window.context_mask
    return mask
