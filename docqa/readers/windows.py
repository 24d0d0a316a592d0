"""Tokenizing question/document pairs into overlapping windows, as arrays for many pairs at once; batching them.

:class:`PairTokenizer` does what the tokenizer's own pair call (``truncation="only_second"``,
``return_overflowing_tokens=True``, ``stride``) does, in bulk: every distinct document of a call is tokenized
once and every question once, each in one batched call of the Rust tokenizer, and the windows are assembled
with numpy from the tokenizer's pair template (``[CLS] question [SEP] document [SEP]``, ``<s> question </s></s>
document </s>``...), which is read from the tokenizer and checked against its own pair call when the reader
loads. No Python runs per token: windows, offsets, word spans and document masks are arrays of the whole call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Window:
    """One model input: a question with a slice of one document's tokens.

    ``pair`` indexes the (question, document) pair the window came from; ``context_mask`` marks the document
    tokens (the only ones an answer may use); ``offsets[i]`` is document token ``i``'s ``[start, end)`` in the
    document text (``(0, 0)`` for question and special tokens); ``word_offsets[i]`` is the ``[start, end)`` of
    the whole word token ``i`` belongs to (the tokenizer's pre-tokenized word, over all windows of the
    document), its own offsets for tokens in no word.
    """

    pair: int
    input_ids: np.ndarray
    token_type_ids: np.ndarray | None
    context_mask: np.ndarray
    offsets: np.ndarray
    word_offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True)
class Windows:
    """The windows of a list of (question, document) pairs, pair after pair and each pair's windows in document
    order (the tokenizer's order), as arrays.

    ``input_ids`` / ``token_type_ids``: ``(W, longest)``, right-padded with the pad id / 0; ``lengths``: each
    window's token count. A window's document tokens are the contiguous positions ``context_begin`` to
    ``context_begin + context_count``; the first of them is token ``first_token`` of ``token_chars`` /
    ``word_chars``, the ``(T, 2)`` character spans of the tokens of every distinct document of the call, one
    document after the other (as tokens, and widened to whole words).
    """

    pair: np.ndarray
    input_ids: np.ndarray
    token_type_ids: np.ndarray | None
    lengths: np.ndarray
    context_begin: np.ndarray
    context_count: np.ndarray
    first_token: np.ndarray
    token_chars: np.ndarray
    word_chars: np.ndarray

    def __len__(self) -> int:
        return len(self.pair)

    def window(self, index: int) -> Window:
        """Window ``index`` on its own (for training and tests; the reader works on the arrays)."""
        length, begin, count = int(self.lengths[index]), int(self.context_begin[index]), int(self.context_count[index])
        tokens = slice(int(self.first_token[index]), int(self.first_token[index]) + count)
        offsets = np.zeros((length, 2), dtype=np.int64)
        word_offsets = offsets.copy()
        offsets[begin : begin + count] = self.token_chars[tokens]
        word_offsets[begin : begin + count] = self.word_chars[tokens]
        mask = np.zeros(length, dtype=bool)
        mask[begin : begin + count] = True
        types = None if self.token_type_ids is None else self.token_type_ids[index, :length].copy()
        return Window(int(self.pair[index]), self.input_ids[index, :length].copy(), types, mask, offsets, word_offsets)


@dataclass(frozen=True)
class QuestionTokens:
    """Token ids of questions (no special tokens), concatenated: question ``i`` is ``ids[starts[i]:][:lengths[i]]``;
    ``truncated[i]``: whether it was cut to ``max_query_length`` tokens."""

    ids: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    truncated: np.ndarray


@dataclass(frozen=True)
class PairLayout:
    """Where a tokenizer puts its special tokens around a pair: ``prefix question middle document suffix``.

    ``prefix`` / ``middle`` / ``suffix``: ``(n, 2)`` arrays of (token id, token type); ``question_type`` and
    ``context_type``: the token type of the question's and the document's tokens.
    """

    prefix: np.ndarray
    middle: np.ndarray
    suffix: np.ndarray
    question_type: int
    context_type: int

    @property
    def special_count(self) -> int:
        return len(self.prefix) + len(self.middle) + len(self.suffix)

    @classmethod
    def of(cls, tokenizer: Any) -> PairLayout:
        """Read from the Rust ``tokenizer``'s encoding of a probe pair; ``ValueError`` when its pair is not
        ``prefix question middle document suffix`` with one token type per sequence."""
        encoding = tokenizer.encode("Who wrote it?", "Hamlet was written by Shakespeare.")
        sequence = np.array([-1 if s is None else s for s in encoding.sequence_ids])
        columns = np.stack([np.asarray(encoding.ids), np.asarray(encoding.type_ids)], axis=1)
        question, context = np.flatnonzero(sequence == 0), np.flatnonzero(sequence == 1)
        contiguous = all(len(part) and part[-1] - part[0] == len(part) - 1 for part in (question, context))
        if not contiguous or question[0] > context[0]:
            raise ValueError("its pair encoding is not: special tokens, question, special tokens, document, ...")
        question_types, context_types = set(columns[question, 1].tolist()), set(columns[context, 1].tolist())
        if len(question_types) != 1 or len(context_types) != 1:
            raise ValueError("its pair encoding gives one sequence several token types")
        return cls(
            prefix=columns[: question[0]],
            middle=columns[question[-1] + 1 : context[0]],
            suffix=columns[context[-1] + 1 :],
            question_type=question_types.pop(),
            context_type=context_types.pop(),
        )


class PairTokenizer:
    """Windows of (question, document) pairs, exactly as the fast tokenizer's pair call with overflowing tokens
    makes them, built in bulk (see the module doc).

    Works on a private copy of the Rust tokenizer (without the truncation or padding state transformers keeps
    on the shared one), so it can run on another thread than the tokenizer's other users; its batched calls
    release the GIL.

    Example::

        pairs = PairTokenizer(AutoTokenizer.from_pretrained(path))
        questions = pairs.questions(["Who wrote it?"])
        windows = pairs.windows(questions, [0], ["Hamlet was written by Shakespeare."], max_seq_len=384, doc_stride=128)
    """

    def __init__(self, tokenizer: Any, with_token_types: bool = True) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = tokenizer
        self.with_token_types = with_token_types and "token_type_ids" in tokenizer.model_input_names
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._rust = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        self._rust.no_truncation()
        self._rust.no_padding()
        self.layout = PairLayout.of(self._rust)

    # --- questions ---------------------------------------------------------------------------------------

    def questions(self, texts: Sequence[str], max_query_length: int | None = None) -> QuestionTokens:
        """Every question tokenized (one batched call), and cut to at most ``max_query_length`` tokens as
        :func:`truncate_question` cuts it (the cut texts re-tokenized in one more batched call)."""
        ids = [encoding.ids for encoding in self._rust.encode_batch_fast(list(texts), add_special_tokens=False)]
        truncated = np.zeros(len(ids), dtype=bool)
        if max_query_length is not None:
            for position, cut in self._cut_questions(texts, ids, max_query_length).items():
                ids[position] = cut
                truncated[position] = True
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        return QuestionTokens(flat, np.cumsum(lengths) - lengths, lengths, truncated)

    def _cut_questions(self, texts: Sequence[str], ids: list[list[int]], limit: int) -> dict[int, list[int]]:
        long = [position for position, tokens in enumerate(ids) if len(tokens) > limit]
        if not long:
            return {}
        encodings = self._rust.encode_batch([texts[p] for p in long], add_special_tokens=False)
        cuts = [texts[p][: encoding.offsets[limit - 1][1]] for p, encoding in zip(long, encodings, strict=True)]
        recut = self._rust.encode_batch_fast(cuts, add_special_tokens=False)
        found = {}
        for position, cut, encoding in zip(long, cuts, recut, strict=True):
            if len(encoding.ids) > limit:  # a cut inside a word re-tokenized into more pieces: back off
                cut = truncate_question(self.tokenizer, texts[position], limit)[0]
                encoding = self._rust.encode(cut, add_special_tokens=False)
            found[position] = encoding.ids
        return found

    def check(self, max_seq_len: int, doc_stride: int) -> None:
        """Compare the windows of a probe pair (several windows, accents, CJK, punctuation) with the tokenizer's
        own pair call; ``ValueError`` naming the first difference when the assembly would not reproduce it."""
        question = "Who gave their name to Normandy, and when?"
        context = " ".join(["Zürich's café: the Normans (Nortmanni) gave Normandy its name in 911; 東京."] * 12)
        context = context * max(1, max_seq_len // 128)
        encoded = self.tokenizer(
            question,
            context,
            truncation="only_second",
            max_length=max_seq_len,
            stride=doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        windows = self.windows(self.questions([question]), [0], [context], max_seq_len, doc_stride)
        if len(windows) != len(encoded["input_ids"]):
            raise ValueError(f"{len(windows)} windows instead of the tokenizer's {len(encoded['input_ids'])}")
        for index in range(len(windows)):
            window = windows.window(index)
            mask = np.array([sequence == 1 for sequence in encoded.sequence_ids(index)])
            expected = {
                "input_ids": np.asarray(encoded["input_ids"][index]),
                "document tokens": mask,
                "offsets": np.asarray(encoded["offset_mapping"][index])[mask],
            }
            got = {
                "input_ids": window.input_ids,
                "document tokens": window.context_mask,
                "offsets": window.offsets[mask],
            }
            if self.with_token_types:
                expected["token_type_ids"] = np.asarray(encoded["token_type_ids"][index])
                got["token_type_ids"] = window.token_type_ids  # type: ignore[assignment]
            for name, array in expected.items():
                if array.shape != got[name].shape or not np.array_equal(array, got[name]):
                    raise ValueError(f"window {index}'s {name} differ from the tokenizer's pair call")

    # --- windows -----------------------------------------------------------------------------------------

    def windows(
        self,
        questions: QuestionTokens,
        question_of_pair: Sequence[int] | np.ndarray,
        contexts: Sequence[str],
        max_seq_len: int,
        doc_stride: int,
    ) -> Windows:
        """The windows of pairs ``(question question_of_pair[i], contexts[i])``, at most ``max_seq_len`` tokens
        each, consecutive windows of one context sharing ``doc_stride`` tokens; each distinct context is
        tokenized once."""
        distinct: dict[str, int] = {}
        context_of_pair = np.fromiter(
            (distinct.setdefault(text, len(distinct)) for text in contexts), dtype=np.int64, count=len(contexts)
        )
        tokens = _context_tokens(self._rust, list(distinct))
        question = np.asarray(question_of_pair, dtype=np.int64)
        return self._assemble(questions, question, context_of_pair, tokens, (max_seq_len, doc_stride))

    def _assemble(
        self,
        questions: QuestionTokens,
        question: np.ndarray,
        context: np.ndarray,
        tokens: _ContextTokens,
        geometry: tuple[int, int],
    ) -> Windows:
        max_seq_len, doc_stride = geometry
        q_length, c_length = questions.lengths[question], tokens.lengths[context]
        room = max_seq_len - q_length - self.layout.special_count
        _check_room(room, c_length, doc_stride)
        step = np.maximum(room - doc_stride, 1)
        count = np.where(c_length > room, 1 + -(-(c_length - room) // step), 1)
        pair = np.repeat(np.arange(len(question)), count)
        index = np.arange(len(pair)) - np.repeat(np.cumsum(count) - count, count)
        begin_in_context = index * step[pair]
        context_count = np.minimum(begin_in_context + room[pair], c_length[pair]) - begin_in_context
        first_token = tokens.starts[context[pair]] + begin_in_context
        parts = _Parts(self.layout, q_length[pair], context_count)
        ids, types = self._token_matrices(parts, questions, question[pair], tokens, first_token)
        return Windows(
            pair=pair,
            input_ids=ids,
            token_type_ids=types if self.with_token_types else None,
            lengths=parts.total,
            context_begin=parts.context_begin,
            context_count=context_count,
            first_token=first_token,
            token_chars=tokens.chars,
            word_chars=tokens.word_chars,
        )

    def _token_matrices(
        self,
        parts: _Parts,
        questions: QuestionTokens,
        question: np.ndarray,
        tokens: _ContextTokens,
        first_token: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(input_ids, token_type_ids)``, ``(W, longest)``: one gather from the parts laid end to end."""
        layout = self.layout
        longest = int(parts.total.max(initial=0))
        specials = np.concatenate([layout.prefix, layout.middle, layout.suffix])
        padding = np.tile([[self.pad_id, 0]], (max(longest, 1), 1))
        question_part = np.stack([questions.ids, np.full(len(questions.ids), layout.question_type)], axis=1)
        context_part = np.stack([tokens.ids, np.full(len(tokens.ids), layout.context_type)], axis=1)
        source = np.concatenate([specials, padding, question_part, context_part]).astype(np.int64)
        base_padding, base_question = len(specials), len(specials) + len(padding)
        base_context = base_question + len(question_part)
        starts = np.stack(
            [
                np.zeros_like(question),
                base_question + questions.starts[question],
                np.full_like(question, len(layout.prefix)),
                base_context + first_token,
                np.full_like(question, len(layout.prefix) + len(layout.middle)),
                np.full_like(question, base_padding),
            ],
            axis=1,
        )
        lengths = np.stack([*parts.lengths, longest - parts.total], axis=1)
        flat_lengths = lengths.ravel()
        offsets = np.repeat(starts.ravel() - (np.cumsum(flat_lengths) - flat_lengths), flat_lengths)
        gathered = source[offsets + np.arange(len(offsets))].reshape(len(question), longest, 2)
        return gathered[:, :, 0].copy(), gathered[:, :, 1].copy()


@dataclass(frozen=True)
class _Parts:
    """The five parts of each window (prefix, question, middle, document, suffix): their token counts."""

    lengths: tuple[np.ndarray, ...]
    context_begin: np.ndarray
    total: np.ndarray

    def __init__(self, layout: PairLayout, question_length: np.ndarray, context_count: np.ndarray) -> None:
        def constant(size: int) -> np.ndarray:
            return np.full_like(question_length, size)

        prefix, middle, suffix = (
            constant(len(layout.prefix)),
            constant(len(layout.middle)),
            constant(len(layout.suffix)),
        )
        object.__setattr__(self, "lengths", (prefix, question_length, middle, context_count, suffix))
        object.__setattr__(self, "context_begin", prefix + question_length + middle)
        object.__setattr__(self, "total", prefix + question_length + middle + context_count + suffix)


@dataclass(frozen=True)
class _ContextTokens:
    """Distinct documents' tokens, concatenated: ids, character spans, spans widened to whole words."""

    ids: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    chars: np.ndarray
    word_chars: np.ndarray


def _context_tokens(tokenizer: Any, texts: list[str]) -> _ContextTokens:
    encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
    lengths = np.fromiter((len(encoding.ids) for encoding in encodings), dtype=np.int64, count=len(encodings))
    total = int(lengths.sum())
    ids = np.fromiter(chain.from_iterable(encoding.ids for encoding in encodings), dtype=np.int64, count=total)
    offsets = chain.from_iterable(chain.from_iterable(encoding.offsets for encoding in encodings))
    chars = np.fromiter(offsets, dtype=np.int64, count=2 * total).reshape(total, 2)
    word_ids = chain.from_iterable(encoding.word_ids for encoding in encodings)
    words = np.array(list(word_ids), dtype=np.float64)  # a token in no word (None) becomes nan
    starts = np.cumsum(lengths) - lengths
    return _ContextTokens(ids, starts, lengths, chars, _whole_words(chars, words, lengths))


def _whole_words(chars: np.ndarray, words: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each token's character span widened to its whole word, from the start of the word's first token to the
    end of its last (word indices are per document); tokens in no word keep their own span."""
    in_word = ~np.isnan(words)
    local = np.where(in_word, words, -1).astype(np.int64)
    per_document = np.zeros(len(lengths), dtype=np.int64)
    ends = np.cumsum(lengths)
    nonempty = lengths > 0
    per_document[nonempty] = np.maximum.reduceat(local, (ends - lengths)[nonempty]) + 1
    base = np.repeat(np.cumsum(per_document) - per_document, lengths)
    word = (base + local)[in_word]
    starts = np.full(int(per_document.sum()), np.iinfo(np.int64).max, dtype=np.int64)
    stops = np.full(len(starts), -1, dtype=np.int64)
    np.minimum.at(starts, word, chars[in_word, 0])
    np.maximum.at(stops, word, chars[in_word, 1])
    widened = chars.copy()
    widened[in_word, 0] = starts[word]
    widened[in_word, 1] = stops[word]
    return widened


def _check_room(room: np.ndarray, context_length: np.ndarray, stride: int) -> None:
    """The tokenizer's own refusals: a window that must be split but has no room for the document, or less
    room than the stride."""
    split = context_length > room
    if (split & (room <= 0)).any():
        raise ValueError("the question leaves no room for the document in a window (raise max_seq_len)")
    if (split & (room <= stride)).any():
        raise ValueError(f"doc_stride={stride} must be smaller than the room the question leaves for the document")


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
    """Split every ``(questions[i], contexts[i])`` pair into windows of at most ``max_seq_len`` tokens, as
    :class:`Window` objects (the reader itself keeps them as :class:`Windows` arrays).

    Consecutive windows of one context share ``doc_stride`` tokens, so an answer cut by one window boundary
    lies whole in the next window.
    """
    if not questions:
        return []
    pairs = PairTokenizer(tokenizer, with_token_types)
    windows = pairs.windows(pairs.questions(questions), range(len(questions)), contexts, max_seq_len, doc_stride)
    return [windows.window(index) for index in range(len(windows))]


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
