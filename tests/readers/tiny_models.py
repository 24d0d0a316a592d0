"""Builders of tiny question-answering models with random weights (no weights are committed)."""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
BERT_TOKENIZER = SHARED / "models" / "bert-base-uncased-tokenizer"
ROBERTA_TOKENIZER = SHARED / "models" / "roberta-base-tokenizer"


def save_with_tokenizer(model_dir: Path, model: object, tokenizer_dir: Path) -> Path:
    from transformers import AutoTokenizer

    model.save_pretrained(model_dir)  # type: ignore[attr-defined]
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(model_dir)
    return model_dir


def build_tiny_bert(model_dir: Path, seed: int = 0, **sizes: int) -> Path:
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=sizes.get("hidden_size", 64),
        num_hidden_layers=sizes.get("num_hidden_layers", 2),
        num_attention_heads=sizes.get("num_attention_heads", 2),
        intermediate_size=sizes.get("intermediate_size", 128),
        max_position_embeddings=512,
    )
    return save_with_tokenizer(model_dir, BertForQuestionAnswering(config).eval(), BERT_TOKENIZER)
