"""The model a training run starts from: a base encoder (a fresh span head is added), an existing
question-answering model (training continues from its head) or a sentence-transformers folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docqa.errors import ModelLoadError
from docqa.hub import load_transformers_model

#: Encoder-only families (``config.model_type``) that take a span head: BERT, DistilBERT, RoBERTa and their kin.
ENCODER_TYPES = frozenset(
    {
        "albert", "bert", "camembert", "data2vec-text", "deberta", "deberta-v2", "distilbert", "electra",
        "ernie", "ibert", "longformer", "megatron-bert", "mobilebert", "modernbert", "mpnet", "nezha",
        "roberta", "roberta-prelayernorm", "roformer", "squeezebert", "xlm-roberta", "xlm-roberta-xl", "xmod",
    }
)  # fmt: skip


@dataclass(frozen=True)
class BaseModel:
    """A loaded starting point: ``model`` (an ``AutoModelForQuestionAnswering``), its fast ``tokenizer``, and
    ``kind``: ``"question-answering model"`` or ``"encoder (fresh span head)"``."""

    name: str
    model: Any
    tokenizer: Any
    kind: str


def sentence_transformers_module(directory: Path) -> Path:
    """The transformer inside a sentence-transformers folder (``modules.json``): the folder itself when its
    ``config.json`` is at the top (as in all-MiniLM-L6-v2), else the Transformer module's subfolder."""
    modules_file = directory / "modules.json"
    if (directory / "config.json").is_file() or not modules_file.is_file():
        return directory
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"{modules_file}: not a readable sentence-transformers modules file ({error})") from None
    for module in modules if isinstance(modules, list) else []:
        if isinstance(module, dict) and str(module.get("type", "")).endswith("models.Transformer"):
            return directory / str(module.get("path", ""))
    raise ModelLoadError(f"{directory}: its modules.json names no sentence_transformers Transformer module")


def load_base_model(base: str) -> BaseModel:
    """Load ``base`` (hub id or directory) with a span head; :class:`ModelLoadError` in one line when it is not
    an encoder (e.g. GPT-2, T5) or cannot be loaded. Seed torch first: a fresh head is initialised randomly."""
    from transformers import AutoModelForQuestionAnswering

    path = Path(base).expanduser()
    source = str(sentence_transformers_module(path)) if path.is_dir() else base
    model, tokenizer = load_transformers_model(
        source, AutoModelForQuestionAnswering, "base model", fast_tokenizer=True, parameter="base"
    )
    config = model.config
    if config.model_type not in ENCODER_TYPES or getattr(config, "is_encoder_decoder", False):
        raise ModelLoadError(
            f"{base} is a {config.model_type!r} model, not an encoder: docqa train fine-tunes encoders such as "
            "BERT, DistilBERT or RoBERTa (or a question-answering model made from one)"
        )
    architectures = getattr(config, "architectures", None) or []
    has_head = any(name.endswith("ForQuestionAnswering") for name in architectures)
    return BaseModel(base, model, tokenizer, "question-answering model" if has_head else "encoder (fresh span head)")
