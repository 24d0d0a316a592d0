"""Fill-mask: predict masked words with a masked language model, in transformers' fill-mask output format."""

from docqa.fill_mask.decoding import FillMaskPrediction
from docqa.fill_mask.fill_mask import DEFAULT_FILL_MASK_MODEL, FillMask

__all__ = ["DEFAULT_FILL_MASK_MODEL", "FillMask", "FillMaskPrediction"]
