"""Tiny masked language models (random weights, real vocabularies) of the three families FillMask supports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from shared_assets import BERT_TOKENIZER, build_masked_lm


def cased_bert_tokenizer(directory: Path) -> Path:
    """The uncased WordPiece vocabulary with case kept and three capitalized words in unused slots."""
    for name in ("vocab.txt", "special_tokens_map.json", "tokenizer_config.json"):
        shutil.copy(BERT_TOKENIZER / name, directory / name)
    vocab = (directory / "vocab.txt").read_text(encoding="utf-8").splitlines()
    for slot, word in zip(("[unused1]", "[unused2]", "[unused3]"), ("Capital", "Paris", "France"), strict=True):
        vocab[vocab.index(slot)] = word
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = (directory / "tokenizer_config.json").read_text(encoding="utf-8")
    (directory / "tokenizer_config.json").write_text(config.replace('"do_lower_case": true', '"do_lower_case": false'))
    return directory


@pytest.fixture(scope="session")
def masked_lm_dirs(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> dict[str, Path]:
    """``{"bert", "distilbert", "roberta", "bert-cased"}``: model directories loadable by path."""
    cased = cased_bert_tokenizer(tmp_path_factory.mktemp("cased-tokenizer"))
    dirs = {
        family: build_masked_lm(family, tmp_path_factory.mktemp(family)) for family in ("bert", "distilbert", "roberta")
    }
    dirs["bert-cased"] = build_masked_lm("bert", tmp_path_factory.mktemp("bert-cased"), cased)
    return dirs
