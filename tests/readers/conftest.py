"""Tiny question-answering models with random weights, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_assets import BERT_TOKENIZER, ROBERTA_TOKENIZER, save_with_tokenizer


@pytest.fixture(scope="session")
def tiny_bert(tiny_bert_qa_dir: Path) -> Path:
    return tiny_bert_qa_dir


@pytest.fixture(scope="session")
def tiny_distilbert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import DistilBertConfig, DistilBertForQuestionAnswering

    torch.manual_seed(1)
    config = DistilBertConfig(vocab_size=30522, dim=64, n_layers=2, n_heads=2, hidden_dim=128)
    model = DistilBertForQuestionAnswering(config).eval()
    return save_with_tokenizer(tmp_path_factory.mktemp("tiny-distilbert"), model, BERT_TOKENIZER)


@pytest.fixture(scope="session")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import RobertaConfig, RobertaForQuestionAnswering

    torch.manual_seed(2)
    config = RobertaConfig(
        vocab_size=50265,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    model = RobertaForQuestionAnswering(config).eval()
    return save_with_tokenizer(tmp_path_factory.mktemp("tiny-roberta"), model, ROBERTA_TOKENIZER)
