"""Gold labels decode back to the gold answers through the reader's own offset mapping, and agree with a
brute-force labeller on every window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import squad_slice, write_json
from shared_assets import BERT_TOKENIZER, ROBERTA_TOKENIZER

from docqa.readers.windows import Window
from docqa.training import SquadTrainingSet, label_window, training_windows


def brute_force_label(window: Window, span: tuple[int, int] | None) -> tuple[int, int]:
    """Score every (start, end) pair of document tokens: the shortest one that covers every answer character
    some document token holds, if the window's document tokens cover the whole answer."""
    if span is None:
        return 0, 0
    document = np.flatnonzero(window.context_mask)
    begin, finish = window.offsets[document, 0], window.offsets[document, 1]
    if begin.min() > span[0] or finish.max() < span[1]:
        return 0, 0
    holds = (finish > span[0]) & (begin < span[1])  # tokens holding answer characters
    pairs_start, pairs_end = np.meshgrid(np.arange(len(document)), np.arange(len(document)), indexing="ij")
    first, last = np.flatnonzero(holds).min(), np.flatnonzero(holds).max()
    valid = (pairs_start <= first) & (pairs_end >= last)
    length = np.where(valid, pairs_end - pairs_start, np.iinfo(np.int64).max)
    s, e = np.unravel_index(np.argmin(length), length.shape)
    return int(document[s]), int(document[e])


def decode_with_reader(window: Window, start: int, end: int, context: str) -> str | None:
    """The text of span (start, end) of this window by the reader's rule (from the start token's first character
    to the end token's last, ``inference.collect_chunk``); None for the first token (no answer)."""
    if (start, end) == (0, 0):
        return None
    return context[int(window.offsets[start, 0]) : int(window.offsets[end, 1])]


@pytest.fixture(scope="module")
def many_questions(squad_dev_half: Path, tmp_path_factory: pytest.TempPathFactory) -> SquadTrainingSet:
    """About 300 questions from paragraphs spread over several articles."""
    data = squad_slice(squad_dev_half, 32, first=40)
    return SquadTrainingSet.load(write_json(tmp_path_factory.mktemp("labels") / "slice.json", data))


@pytest.mark.parametrize(("tokenizer_dir", "with_types"), [(BERT_TOKENIZER, True), (ROBERTA_TOKENIZER, False)])
def test_labels_decode_to_gold_and_match_brute_force(
    many_questions: SquadTrainingSet, tokenizer_dir: Path, with_types: bool
) -> None:
    from transformers import AutoTokenizer

    tokenizer: Any = AutoTokenizer.from_pretrained(tokenizer_dir)
    questions = many_questions.questions
    assert len(questions) >= 250
    labelled = training_windows(tokenizer, questions, 96, 32, 24, with_types)
    found = {index: False for index, q in enumerate(questions) if q.answer_span is not None}
    exact, answered_windows = 0, 0
    for item in labelled:
        question = questions[item.question]
        assert (item.start, item.end) == brute_force_label(item.window, question.answer_span)
        decoded = decode_with_reader(item.window, item.start, item.end, question.context)
        if question.answer_span is None:
            assert decoded is None
            continue
        if decoded is None:
            continue  # the answer is not wholly in this window
        found[item.question] = True
        answered_windows += 1
        # the decoded span covers the gold answer and adds at most the rest of a word at either end
        assert question.answer_text in decoded
        exact += decoded == question.answer_text
    assert all(found.values()), "every answer lies wholly in at least one window"
    assert exact / answered_windows > 0.97
    assert len({item.question for item in labelled}) == len(questions)


def test_answer_outside_the_window_is_labelled_at_the_first_token() -> None:
    from transformers import AutoTokenizer

    tokenizer: Any = AutoTokenizer.from_pretrained(BERT_TOKENIZER)
    context = " ".join(f"word{i}" for i in range(200)) + " the answer is here"
    start = context.index("answer is")
    data = {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {"id": "q", "question": "where?", "answers": [{"text": "answer is", "answer_start": start}]}
                        ],
                    }
                ],
            }
        ]
    }
    questions = SquadTrainingSet.from_json(data).questions
    labelled = training_windows(tokenizer, questions, 64, 16, 16, True)
    assert len(labelled) > 3
    holding = 0
    for item in labelled:
        document = item.window.offsets[item.window.context_mask]
        inside = document[0, 0] <= start and document[-1, 1] >= start + len("answer is")
        decoded = decode_with_reader(item.window, item.start, item.end, context)
        assert decoded == ("answer is" if inside else None)
        holding += inside
    assert 0 < holding < len(labelled)
    last = labelled[-1]
    # cut through the answer: the window holding only "answer" is not labelled with half the answer
    assert label_window(last.window, (start, len(context) + 5)) == (0, 0)
