"""The real small QA reader from ../shared and a tiny fill-mask model, loaded once for the formats tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_assets import SHARED_DIR, build_masked_lm, build_tiny_bert

from docqa.fill_mask import FillMask
from docqa.readers import ExtractiveReader

MINILM_SQUAD2 = SHARED_DIR / "models" / "minilm-l6-squad2-half12"


@pytest.fixture(scope="session")
def squad2_reader(shared_dir: Path) -> ExtractiveReader:
    reader = ExtractiveReader(model=str(MINILM_SQUAD2))
    reader.warm_up()
    return reader


@pytest.fixture(scope="session")
def tiny_fill_mask_dir(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    return build_masked_lm("bert", tmp_path_factory.mktemp("tiny-mlm"))


@pytest.fixture(scope="session")
def tiny_fill_mask(tiny_fill_mask_dir: Path) -> FillMask:
    return FillMask(model=str(tiny_fill_mask_dir))


@pytest.fixture(scope="session")
def tiny_qa_dir(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    """A 2-layer random BertForQuestionAnswering: its spans fall anywhere, inside words too."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-qa"))
