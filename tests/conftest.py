"""Fixtures shared by the whole suite: the ../shared folder and tiny models built at test time.

No weights are committed and none can be downloaded: models are built with random weights, saved next to a
real tokenizer from ../shared, and loaded by path exactly as a user's local model would be.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach a model hub; set before transformers/huggingface_hub are imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
BERT_TOKENIZER_DIR = SHARED_DIR / "models" / "bert-base-uncased-tokenizer"
ROBERTA_TOKENIZER_DIR = SHARED_DIR / "models" / "roberta-base-tokenizer"
SQUAD_DEV_HALF = SHARED_DIR / "data" / "squad2-dev-half" / "dev-v2.0-half.json"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        raise RuntimeError(f"the shared folder is missing: expected it at {SHARED_DIR} (beside the repo)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def squad_dev_half(shared_dir: Path) -> Path:
    return SQUAD_DEV_HALF


@pytest.fixture(scope="session")
def tiny_bert_qa_dir(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    """A 2-layer, 64-hidden BertForQuestionAnswering with random weights and the real uncased vocabulary."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("tiny-bert-qa")
    config = BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
    BertForQuestionAnswering(config).save_pretrained(directory)
    AutoTokenizer.from_pretrained(BERT_TOKENIZER_DIR).save_pretrained(directory)
    return directory
