"""Tokenization into windows, batching and padding, against counts derived from the tokenizer alone, and the bulk
window maker against the tokenizer's own pair call made one pair at a time."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from shared_assets import BERT_TOKENIZER, ROBERTA_TOKENIZER, SQUAD_DEV_HALF

from docqa.core.batching import length_batches
from docqa.readers.windows import (
    PairTokenizer,
    Window,
    pad_batch,
    tokenize_windows,
    truncate_question,
)

CONTEXT = (
    "Zürich's   café served crème brûlée; 東京 is far away. The Normans gave their name to Normandy. " * 12
).strip()


@pytest.fixture(scope="module", params=[BERT_TOKENIZER, ROBERTA_TOKENIZER], ids=["bert", "roberta"])
def tokenizer(request: pytest.FixtureRequest):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(request.param)


@pytest.mark.parametrize("max_seq_len,stride", [(64, 16), (96, 0), (128, 40)])
def test_window_count_and_overlap(tokenizer, max_seq_len: int, stride: int) -> None:
    question = "Who gave their name to Normandy?"
    n_question = len(tokenizer(question, add_special_tokens=False)["input_ids"])
    context_offsets = tokenizer(CONTEXT, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    room = max_seq_len - n_question - tokenizer.num_special_tokens_to_add(pair=True)
    n = len(context_offsets)
    expected = 1 if n <= room else 1 + math.ceil((n - room) / (room - stride))
    windows = tokenize_windows(tokenizer, [question], [CONTEXT], max_seq_len, stride, with_token_types=False)
    assert len(windows) == expected
    pieces = [[tuple(o) for o in w.offsets[w.context_mask].tolist()] for w in windows]
    for before, after in itertools.pairwise(pieces):
        if stride:
            assert before[-stride:] == after[:stride]  # consecutive windows share `stride` document tokens
    # and, the shared tokens aside, the windows are the document's tokens in order, each exactly once
    stitched = pieces[0] + [offset for piece in pieces[1:] for offset in piece[stride:]]
    assert stitched == [tuple(o) for o in context_offsets]
    assert all(len(w) <= max_seq_len and w.pair == 0 for w in windows)


def test_windows_of_several_pairs_keep_their_pair_index(tokenizer) -> None:
    questions = ["first?", "second question?", "third?"]
    contexts = [CONTEXT, "short one", CONTEXT[:200]]
    windows = tokenize_windows(tokenizer, questions, contexts, 64, 16, with_token_types=False)
    assert sorted({w.pair for w in windows}) == [0, 1, 2]
    for window in windows:
        start, end = window.offsets[window.context_mask][[0, -1]]
        assert contexts[window.pair][start[0] : end[1]]  # offsets index the window's own document


def length_sorted_batches(windows: list[Window], batch_size: int, max_tokens: int | None) -> list[list[Window]]:
    """The windows in the batches the reader forms from their lengths (``docqa.core.batching.length_batches``)."""
    return [[windows[i] for i in batch] for batch in length_batches([len(w) for w in windows], batch_size, max_tokens)]


def test_batches_are_length_sorted_and_padded_on_the_right(tokenizer) -> None:
    contexts = [CONTEXT[: 20 * k] for k in range(1, 30)]
    windows = tokenize_windows(tokenizer, ["why?"] * len(contexts), contexts, 48, 8, with_token_types=True)
    batches = list(length_sorted_batches(windows, 7, None))
    assert sorted(id(w) for b in batches for w in b) == sorted(id(w) for w in windows)
    lengths = [len(w) for b in batches for w in b]
    assert lengths == sorted(lengths, reverse=True) and all(len(b) <= 7 for b in batches)
    for batch in batches:
        arrays = pad_batch(batch, pad_token_id=tokenizer.pad_token_id)
        assert arrays["attention_mask"].sum(axis=1).tolist() == [len(w) for w in batch]
        assert (arrays["input_ids"][:, 0] == tokenizer.cls_token_id).all()
        for row, window in enumerate(batch):
            assert (arrays["input_ids"][row, len(window) :] == tokenizer.pad_token_id).all()
            np.testing.assert_array_equal(arrays["input_ids"][row, : len(window)], window.input_ids)
        assert ("token_type_ids" in arrays) == ("token_type_ids" in tokenizer.model_input_names)


@pytest.mark.parametrize(("batch_size", "max_tokens"), [(7, None), (7, 100), (64, 48), (3, 1)])
def test_batches_keep_both_limits_and_every_window(tokenizer, batch_size: int, max_tokens: int | None) -> None:
    contexts = [CONTEXT[: 15 * k] for k in range(1, 40)]
    windows = tokenize_windows(tokenizer, ["why?"] * len(contexts), contexts, 48, 8, with_token_types=True)
    batches = list(length_sorted_batches(windows, batch_size, max_tokens))
    assert sorted(id(w) for b in batches for w in b) == sorted(id(w) for w in windows)
    for batch in batches:
        padded = len(batch) * max(len(w) for w in batch)
        assert len(batch) <= batch_size
        assert max_tokens is None or padded <= max_tokens or len(batch) == 1
    # greedy: a batch closes only when the next window would break a limit
    for batch in batches[:-1]:
        grown = len(batch) + 1
        assert grown > batch_size or (max_tokens is not None and grown * len(batch[0]) > max_tokens)


@pytest.mark.parametrize("limit", [1, 3, 8, 64])
def test_truncate_question(tokenizer, limit: int) -> None:
    question = "Which extraordinarily long-winded, über-verbose question about Normandy never ends?"
    text, truncated = truncate_question(tokenizer, question, limit)
    encoding = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    n_tokens = len(encoding["input_ids"])
    assert truncated is (n_tokens > limit)
    if not truncated:
        assert text == question
        return

    def n_tokens_of(prefix: str) -> int:
        return len(tokenizer(prefix, add_special_tokens=False)["input_ids"])

    # Expected, by brute force: the longest prefix ending where one of the question's first `limit` tokens ends
    # that still tokenizes into at most `limit` tokens.
    ends = [end for _, end in encoding["offset_mapping"][:limit]]
    expected = max((question[:end] for end in ends if n_tokens_of(question[:end]) <= limit), key=len)
    assert text == expected
    assert 0 < n_tokens_of(text) <= limit


def _pair_by_pair(tokenizer, question: str, context: str, max_seq_len: int, stride: int) -> list[dict[str, object]]:
    """The windows of one pair as the tokenizer's own pair call makes them, words widened over all of them."""
    encoded = tokenizer(
        question,
        context,
        truncation="only_second",
        max_length=max_seq_len,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    words: dict[int, tuple[int, int]] = {}
    for w in range(len(encoded["input_ids"])):
        for (start, end), word, sequence in zip(
            encoded["offset_mapping"][w], encoded.word_ids(w), encoded.sequence_ids(w), strict=True
        ):
            if sequence == 1 and word is not None:
                known = words.get(word, (start, end))
                words[word] = (min(known[0], start), max(known[1], end))
    windows = []
    for w, ids in enumerate(encoded["input_ids"]):
        mask = [sequence == 1 for sequence in encoded.sequence_ids(w)]
        offsets = [tuple(o) for o, inside in zip(encoded["offset_mapping"][w], mask, strict=True) if inside]
        word_ids = [word for word, inside in zip(encoded.word_ids(w), mask, strict=True) if inside]
        widened = [words[word] if word is not None else o for word, o in zip(word_ids, offsets, strict=True)]
        types = encoded["token_type_ids"][w] if "token_type_ids" in encoded else None
        windows.append({"ids": ids, "types": types, "mask": mask, "offsets": offsets, "words": widened})
    return windows


def _squad_pairs(limit: int) -> tuple[list[str], list[str]]:
    import json

    paragraphs = [p for article in json.loads(SQUAD_DEV_HALF.read_text())["data"] for p in article["paragraphs"]]
    pairs = [(qa["question"], p["context"]) for p in paragraphs[::37] for qa in p["qas"][:4]][:limit]
    return [q for q, _ in pairs], [c for _, c in pairs]


@pytest.mark.parametrize("max_seq_len,stride", [(384, 128), (64, 16), (48, 0)])
def test_bulk_windows_equal_the_pair_by_pair_tokenization(tokenizer, max_seq_len: int, stride: int) -> None:
    questions, contexts = _squad_pairs(60)  # several questions per paragraph: repeated documents
    questions += ["Who?", "Where is the café?", "What is 東京?", "Why   so many   spaces?"]
    contexts += [CONTEXT * 3, "Zürich's   café,\n\n\tnaïve 🙂 coöperative.", "東京タワーは高さ333メートルです。", "🙂"]
    pairs = PairTokenizer(tokenizer)
    windows = pairs.windows(pairs.questions(questions), range(len(questions)), contexts, max_seq_len, stride)
    expected = [
        (pair, window)
        for pair, (question, context) in enumerate(zip(questions, contexts, strict=True))
        for window in _pair_by_pair(tokenizer, question, context, max_seq_len, stride)
    ]
    assert len(windows) == len(expected) > len(questions)
    with_types = "token_type_ids" in tokenizer.model_input_names
    for index, (pair, reference) in enumerate(expected):
        window = windows.window(index)
        assert window.pair == pair
        assert window.input_ids.tolist() == reference["ids"]
        assert window.context_mask.tolist() == reference["mask"]
        assert [tuple(o) for o in window.offsets[window.context_mask].tolist()] == reference["offsets"]
        assert [tuple(o) for o in window.word_offsets[window.context_mask].tolist()] == reference["words"]
        assert (window.token_type_ids.tolist() if with_types else None) == reference["types"]
        assert windows.input_ids[index, len(window) :].tolist() == [pairs.pad_id] * (
            windows.input_ids.shape[1] - len(window)
        )


@pytest.mark.parametrize("limit", [1, 4, 9])
def test_questions_are_truncated_in_bulk_as_one_by_one(tokenizer, limit: int) -> None:
    questions = [
        "Which extraordinarily long-winded, über-verbose question about Normandy never ends?",
        "Short?",
        "Quelle était la capitale de la Normandie au onzième siècle, déjà?",
        "Who ruled?",
    ]
    tokens = PairTokenizer(tokenizer).questions(questions, limit)
    for index, question in enumerate(questions):
        text, truncated = truncate_question(tokenizer, question, limit)
        ids = tokens.ids[tokens.starts[index] :][: tokens.lengths[index]].tolist()
        assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]
        assert bool(tokens.truncated[index]) is truncated
    assert tokens.truncated[0] and (limit == 1 or not tokens.truncated.all())
