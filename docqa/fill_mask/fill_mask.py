"""FillMask: predict the masked words of texts with any masked language model (BERT, DistilBERT, RoBERTa...)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from typing import Any, Union

import numpy as np

from docqa.core.batching import length_batches
from docqa.core.component import component
from docqa.core.validation import check_int
from docqa.errors import ComponentError
from docqa.fill_mask.decoding import FillMaskPrediction, MaskPredictions, predictions_for, target_ids, top_candidates
from docqa.fill_mask.encoding import EncodedText, encode_text, max_tokens, pad_batch
from docqa.fill_mask.head import mask_logits

DEFAULT_FILL_MASK_MODEL = "distilbert-base-uncased"

#: A batch holds at most this many tokens (padding included), so that activations stay bounded however long
#: the texts are; one text of the model's full length always fits.
_MAX_BATCH_TOKENS = 4096

#: What ``run`` returns per text, as transformers' fill-mask pipeline does: the candidates of its one mask,
#: or, for a text with several masks, one list of candidates per mask.
TextPredictions = Union[list[FillMaskPrediction], list[list[FillMaskPrediction]]]  # noqa: UP007 (a runtime alias)


@component
class FillMask:
    """Fills in the mask token(s) of texts with a masked language model (``AutoModelForMaskedLM``).

    Write the model's mask token where the word to predict goes: ``[MASK]`` for BERT-family models,
    ``<mask>`` for RoBERTa-family ones; either spelling works with both. For each mask, the ``top_k`` most
    probable tokens (softmax over the vocabulary, or over ``targets`` when given), each with the filled-in
    text: the same scores (up to float rounding), tokens, ``token_str`` and ``sequence`` as transformers'
    ``pipeline("fill-mask")``. Texts are tokenized once, grouped by token length and run in batches of up to
    ``batch_size`` texts of one length (never padded: padding changes the float rounding enough to reorder close
    candidates); the vocabulary projection is computed at the mask positions only. A text without a mask token,
    or longer than the model's limit, is a :class:`ComponentError` that names the text, the expected token or
    the limit. ``dtype``: the model's precision, as for every model component (see
    :func:`docqa.hub.resolve_dtype`: ``"auto"`` is bfloat16 on a CUDA GPU that runs it natively, float32
    elsewhere); probabilities are computed in float32.

    Example (with a model in a local directory)::

        fill_mask = FillMask(model="/models/distilbert-base-uncased", top_k=2)
        for prediction in fill_mask.run(texts=["Paris is the [MASK] of France."])["predictions"][0]:
            print(prediction.token_str, prediction.score)
    """

    def __init__(
        self,
        model: str = DEFAULT_FILL_MASK_MODEL,
        top_k: int = 5,
        targets: list[str] | None = None,
        batch_size: int = 32,
        device: str = "auto",
        dtype: str = "auto",
    ) -> None:
        from docqa.hub import check_dtype

        _check_targets(targets)
        self.model = model
        self.top_k = check_int("FillMask", "top_k", top_k)
        self.targets = None if targets is None else list(targets)
        self.batch_size = check_int("FillMask", "batch_size", batch_size)
        self.device = device
        self.dtype = check_dtype("FillMask", dtype)
        self._model: Any = None
        self._tokenizer: Any = None
        self._torch_device: Any = None
        self._limit = 0
        self._with_token_types = False

    def warm_up(self) -> None:
        """Load the model and tokenizer (once; later calls do nothing)."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForMaskedLM

        from docqa.hub import MASKED_LM_HEAD, load_transformers_model, resolve_device, resolve_dtype

        self._torch_device = torch.device(resolve_device(self.device))
        dtype = resolve_dtype("FillMask", self.dtype, str(self._torch_device))
        model, tokenizer = load_transformers_model(
            self.model, AutoModelForMaskedLM, "fill-mask model", head=MASKED_LM_HEAD, dtype=dtype
        )
        if tokenizer.mask_token_id is None:
            raise ComponentError(f"FillMask: the tokenizer of {self.model!r} has no mask token")
        accepted = inspect.signature(model.forward).parameters
        self._with_token_types = "token_type_ids" in accepted and "token_type_ids" in tokenizer.model_input_names
        self._limit = max_tokens(tokenizer, model.config)
        self._tokenizer = tokenizer
        self._model = model.eval().to(self._torch_device)

    @property
    def mask_token(self) -> str:
        """The model's mask token (loads the model)."""
        self.warm_up()
        return str(self._tokenizer.mask_token)

    @component.output_types(predictions=list[TextPredictions])
    def run(
        self, texts: list[str], top_k: int | None = None, targets: list[str] | None = None
    ) -> dict[str, list[TextPredictions]]:
        """Predictions for each of ``texts``: one list of ``top_k`` candidates for a text with one mask, one
        such list per mask for a text with several (as transformers returns them)."""
        per_mask = self.predict(texts, top_k=top_k, targets=targets)
        return {"predictions": [found[0] if len(found) == 1 else found for found in per_mask]}

    def predict(
        self, texts: Sequence[str], top_k: int | None = None, targets: Sequence[str] | None = None
    ) -> list[MaskPredictions]:
        """Like :meth:`run`, but always one list of candidates per mask, for every text."""
        if isinstance(texts, str):
            raise ComponentError("FillMask: texts must be a list of strings, not one string")
        return self.predict_encoded([self.encode(text, index) for index, text in enumerate(texts)], top_k, targets)

    def encode(self, text: str, index: int = 0) -> EncodedText:
        """Tokenize one text (``texts[index]``, for error messages); raises
        :class:`~docqa.fill_mask.encoding.FillMaskInputError` when it is empty, has no mask token or is too
        long. With :meth:`predict_encoded`, lets a caller set bad texts aside."""
        self.warm_up()
        return encode_text(self._tokenizer, text, index, self._limit, self._with_token_types)

    def predict_encoded(
        self, encoded: Sequence[EncodedText], top_k: int | None = None, targets: Sequence[str] | None = None
    ) -> list[MaskPredictions]:
        """Predictions of texts made by :meth:`encode`, in the order given, batched by length."""
        k = self.top_k if top_k is None else check_int("FillMask", "top_k", top_k)
        chosen = self.targets if targets is None else list(targets)
        _check_targets(chosen)
        if not encoded:
            return []
        self.warm_up()
        ids = None if chosen is None else target_ids(self._tokenizer, chosen)
        found: dict[int, MaskPredictions] = {}
        for batch in self._batches(encoded):
            predictions = self._predict_batch([encoded[i] for i in batch], k, ids)
            found.update(zip(batch, predictions, strict=True))
        return [found[position] for position in range(len(encoded))]

    def _batches(self, encoded: Sequence[EncodedText]) -> Iterator[list[int]]:
        """Positions in ``encoded`` per batch: texts of one token length (no padding), at most ``batch_size``
        of them and about :data:`_MAX_BATCH_TOKENS` tokens.

        Batches never pad: a padded text's logits differ from its unpadded ones by float rounding (other
        matrix shapes), which a model with sharp attention can turn into a different ranking. Unpadded, only the
        batch's row count still changes the rounding, far less often."""
        return length_batches([len(text) for text in encoded], self.batch_size, _MAX_BATCH_TOKENS, same_length=True)

    def _predict_batch(self, batch: list[EncodedText], top_k: int, targets: np.ndarray | None) -> list[MaskPredictions]:
        import torch

        pad_id = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
        inputs = {k: torch.from_numpy(v).to(self._torch_device) for k, v in pad_batch(batch, pad_id).items()}
        rows = np.concatenate([np.full(len(text.mask_positions), row) for row, text in enumerate(batch)])
        columns = np.concatenate([text.mask_positions for text in batch])
        with torch.inference_mode():
            logits = mask_logits(self._model, inputs, torch.from_numpy(rows), torch.from_numpy(columns))
            scores, tokens = top_candidates(logits, top_k, targets)
        results, start = [], 0
        for text in batch:
            end = start + len(text.mask_positions)
            results.append(predictions_for(self._tokenizer, text, scores[start:end], tokens[start:end]))
            start = end
        return results


def _check_targets(targets: Any) -> None:
    if targets is None:
        return
    if isinstance(targets, str) or not all(isinstance(t, str) and t for t in targets) or not targets:
        raise ComponentError(f"FillMask: targets must be a non-empty list of non-empty strings, got {targets!r}")
