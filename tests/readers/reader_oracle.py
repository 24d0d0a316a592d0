"""A brute-force reference for the reader: each window run alone through the model, every span scored."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Best:
    score: float
    doc: int
    char_start: int
    char_end: int
    token_ids: list[int]
    word_start: int  # the span widened to whole words: the first token's word's start...
    word_end: int  # ...to the last token's word's end, words as the tokenizer's word_ids() give them


@dataclass
class OracleResult:
    best: Best | None
    null: float
    window_nulls: list[float]


@functools.cache
def _load(model_dir: Path, dtype: Any = None) -> tuple[Any, Any]:
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    model = AutoModelForQuestionAnswering.from_pretrained(model_dir, **({} if dtype is None else {"dtype": dtype}))
    return AutoTokenizer.from_pretrained(model_dir), model.eval()


def brute_force_answer(
    model_dir: Path,
    question: str,
    contexts: list[str],
    *,
    pass_token_types: bool,
    max_seq_len: int,
    doc_stride: int,
    max_answer_length: int,
    dtype: Any = None,
) -> OracleResult:
    """The best valid span over all windows of all contexts (all (start, end) pairs, no shortcut) and the null
    score (minimum over windows of start + end logit at index 0); ``dtype``: the model loaded in that
    precision (its logits scored in float64)."""
    import torch

    tokenizer, model = _load(model_dir, dtype)
    best: Best | None = None
    nulls: list[float] = []
    for doc, context in enumerate(contexts):
        enc = tokenizer(
            question,
            context,
            truncation="only_second",
            max_length=max_seq_len,
            stride=doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        for w, ids in enumerate(enc["input_ids"]):
            inputs = {"input_ids": torch.tensor([ids])}
            if pass_token_types:
                inputs["token_type_ids"] = torch.tensor([enc["token_type_ids"][w]])
            with torch.no_grad():
                out = model(**inputs)
            start, end = out.start_logits[0].double().numpy(), out.end_logits[0].double().numpy()
            nulls.append(float(start[0] + end[0]))
            in_context = np.array([sid == 1 for sid in enc.sequence_ids(w)])
            scores = start[:, None] + end[None, :]
            s_idx, e_idx = np.indices(scores.shape)
            valid = in_context[:, None] & in_context[None, :] & (e_idx >= s_idx) & (e_idx - s_idx < max_answer_length)
            if not valid.any():
                continue
            flat = int(np.argmax(np.where(valid, scores, -np.inf)))
            s, e = divmod(flat, scores.shape[1])
            if best is None or scores[s, e] > best.score:
                offsets = enc["offset_mapping"][w]
                words = _word_chars(enc)
                word_ids = enc.word_ids(w)
                best = Best(
                    float(scores[s, e]),
                    doc,
                    offsets[s][0],
                    offsets[e][1],
                    ids[s : e + 1],
                    words[word_ids[s]][0],
                    words[word_ids[e]][1],
                )
    return OracleResult(best, min(nulls) if nulls else float("inf"), nulls)


def _word_chars(enc: Any) -> dict[int, tuple[int, int]]:
    """Each context word's characters: from its first token's start to its last token's end, over all windows."""
    words: dict[int, tuple[int, int]] = {}
    for w in range(len(enc["input_ids"])):
        for token, (word, sequence) in enumerate(zip(enc.word_ids(w), enc.sequence_ids(w), strict=True)):
            if sequence == 1 and word is not None:
                start, end = enc["offset_mapping"][w][token]
                known = words.get(word, (start, end))
                words[word] = (min(known[0], start), max(known[1], end))
    return words
