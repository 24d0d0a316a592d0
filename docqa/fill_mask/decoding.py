"""From masked-LM logits to ranked predictions, exactly as transformers' fill-mask pipeline reports them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from docqa.errors import ComponentError
from docqa.fill_mask.encoding import EncodedText

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FillMaskPrediction:
    """One candidate for one mask: its probability, token id, the token as text, and the whole filled-in text
    (special tokens removed for a text with one mask; kept, as transformers does, for several)."""

    score: float
    token: int
    token_str: str
    sequence: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The predictions of one text: one list of candidates per mask, in the order the masks appear.
MaskPredictions = list[list[FillMaskPrediction]]


def target_ids(tokenizer: Any, targets: Sequence[str]) -> np.ndarray:
    """The vocabulary ids of ``targets``, as the pipeline chooses them: the token itself when it is in the
    vocabulary, else the first token it splits into (with a warning); unknown targets are dropped."""
    vocab = tokenizer.get_vocab()
    ids: list[int] = []
    for target in targets:
        token_id = vocab.get(target)
        if token_id is None:
            pieces = tokenizer(target, add_special_tokens=False, max_length=1, truncation=True)["input_ids"]
            if not pieces:
                logger.warning("FillMask: target %r is not in the vocabulary: ignored", target)
                continue
            token_id = pieces[0]
            replacement = tokenizer.convert_ids_to_tokens(token_id)
            logger.warning("FillMask: target %r is not in the vocabulary: using %r", target, replacement)
        ids.append(int(token_id))
    if not ids:
        raise ComponentError(f"FillMask: none of the targets {list(targets)!r} maps to a token of the vocabulary")
    return np.array(sorted(set(ids)), dtype=np.int64)


def top_candidates(mask_logits: Any, top_k: int, targets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, token ids)``, each ``(masks, k)``: the softmax over the whole vocabulary, restricted to
    ``targets`` when given, then its ``top_k`` best (fewer when there are fewer targets)."""
    import torch

    probabilities = mask_logits.float().softmax(dim=-1)  # float32 whatever the model's precision
    if targets is not None:
        probabilities = probabilities[..., torch.from_numpy(targets).to(probabilities.device)]
    k = min(top_k, probabilities.shape[-1])
    values, indices = probabilities.topk(k)
    values, indices = values.float().cpu().numpy(), indices.cpu().numpy()
    return values, (indices if targets is None else targets[indices])


def predictions_for(tokenizer: Any, text: EncodedText, scores: np.ndarray, tokens: np.ndarray) -> MaskPredictions:
    """One list per mask of ``text``: for candidate ``tokens[m, j]`` (probability ``scores[m, j]``), the text
    with that mask filled in, decoded as the pipeline does."""
    single = len(text.mask_positions) == 1
    filled = []
    for mask, position in enumerate(text.mask_positions):
        for token in tokens[mask]:
            ids = text.input_ids.copy()
            ids[position] = token
            filled.append(ids[ids != tokenizer.pad_token_id].tolist())
    sequences = tokenizer.batch_decode(filled, skip_special_tokens=single)
    token_strs = tokenizer.batch_decode([[int(token)] for token in tokens.reshape(-1)])
    per_mask = tokens.shape[1]
    return [
        [
            FillMaskPrediction(
                score=float(scores[mask, j]),
                token=int(tokens[mask, j]),
                token_str=token_strs[mask * per_mask + j],
                sequence=sequences[mask * per_mask + j],
            )
            for j in range(per_mask)
        ]
        for mask in range(len(text.mask_positions))
    ]
