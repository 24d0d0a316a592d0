"""Shared constants and the reader factory of the evaluation tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LIMIT = 40


def make_reader(model_dir: Path, threshold: float = 0.0) -> Any:
    from docqa.readers import ExtractiveReader

    # Short windows keep the runs fast; longer paragraphs still span several windows.
    return ExtractiveReader(model=str(model_dir), no_answer_threshold=threshold, max_seq_len=192, doc_stride=64)
