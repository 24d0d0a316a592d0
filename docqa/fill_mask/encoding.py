"""Turning fill-mask texts into token ids: the model's mask token, the length limit, batches with dynamic padding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from docqa.errors import ComponentError

#: The mask tokens of the two model families; a text written with either works with both.
MASK_SPELLINGS = ("[MASK]", "<mask>")

#: Models whose position ids start after the padding index, so ``padding_idx + 1`` positions are never usable.
_OFFSET_POSITION_MODELS = frozenset({"roberta", "xlm-roberta", "camembert", "longformer", "data2vec-text"})


class FillMaskInputError(ComponentError):
    """Text ``index`` cannot be filled in: ``reason`` says why (no mask token, too long, empty)."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"FillMask: texts[{index}] {reason}")
        self.index = index
        self.reason = reason


@dataclass(frozen=True)
class EncodedText:
    """One text ready for the model: its token ids and where its mask tokens are."""

    index: int
    input_ids: np.ndarray
    token_type_ids: np.ndarray | None
    mask_positions: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)


def with_model_mask(text: str, mask_token: str) -> str:
    """``text`` with every other family's mask spelling replaced by ``mask_token``."""
    for spelling in MASK_SPELLINGS:
        if spelling != mask_token:
            text = text.replace(spelling, mask_token)
    return text


def max_tokens(tokenizer: Any, config: Any) -> int:
    """The longest input the model takes: its position embeddings (less RoBERTa's offset), capped by the
    tokenizer's ``model_max_length`` when that is set."""
    positions = int(getattr(config, "max_position_embeddings", 512))
    if getattr(config, "model_type", "") in _OFFSET_POSITION_MODELS:
        positions -= int(getattr(config, "pad_token_id", 1) or 0) + 1
    tokenizer_limit = int(min(getattr(tokenizer, "model_max_length", positions), 10**9))
    return min(positions, tokenizer_limit)


def encode_text(tokenizer: Any, text: str, index: int, limit: int, with_token_types: bool) -> EncodedText:
    """Tokenize ``text`` (``texts[index]``) for the model; :class:`FillMaskInputError` when it is empty, has
    no mask token or is longer than ``limit`` tokens."""
    if not isinstance(text, str) or not text.strip():
        raise FillMaskInputError(index, f"must be a non-empty string, got {text!r}")
    encoding = tokenizer(with_model_mask(text, tokenizer.mask_token))
    input_ids = np.asarray(encoding["input_ids"], dtype=np.int64)
    positions = np.flatnonzero(input_ids == tokenizer.mask_token_id)
    if len(positions) == 0:
        raise FillMaskInputError(
            index, f"has no mask token: write {tokenizer.mask_token} where the word to predict goes"
        )
    if len(input_ids) > limit:
        raise FillMaskInputError(index, f"is {len(input_ids)} tokens long, over the model's limit of {limit} tokens")
    token_types = encoding.get("token_type_ids") if with_token_types else None
    types = None if token_types is None else np.asarray(token_types, dtype=np.int64)
    return EncodedText(index, input_ids, types, positions)


def pad_batch(batch: Sequence[EncodedText], pad_token_id: int) -> dict[str, np.ndarray]:
    """Right-padded ``input_ids``, ``attention_mask`` and (when the texts have them) ``token_type_ids``."""
    length = max(len(text) for text in batch)
    input_ids = np.full((len(batch), length), pad_token_id, dtype=np.int64)
    attention_mask = np.zeros((len(batch), length), dtype=np.int64)
    token_type_ids = np.zeros((len(batch), length), dtype=np.int64)
    for row, text in enumerate(batch):
        input_ids[row, : len(text)] = text.input_ids
        attention_mask[row, : len(text)] = 1
        if text.token_type_ids is not None:
            token_type_ids[row, : len(text)] = text.token_type_ids
    arrays = {"input_ids": input_ids, "attention_mask": attention_mask}
    if batch[0].token_type_ids is not None:
        arrays["token_type_ids"] = token_type_ids
    return arrays
