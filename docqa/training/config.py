"""The settings of a reader training run; the defaults are deepset/minilm-uncased-squad2's model card recipe."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from docqa.core.validation import check_int, check_optional_int
from docqa.errors import ComponentError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")

#: Settings that may differ between a run and its ``--resume`` (the data files are compared by content hash).
_RUNTIME_FIELDS = ("train", "dev", "out", "device", "eval_batch_size")


@dataclass(frozen=True)
class TrainingConfig:
    """What to train from (``base``: hub id or folder), on what (``train``, ``dev``: SQuAD JSON files), where to
    write (``out``), and how.

    ``max_steps`` (optimizer steps) overrides ``epochs``, as in transformers' Trainer: the run takes that many steps,
    over as many epochs as they need (the last one possibly cut short); the warm-up is the fraction
    ``warmup`` of all optimizer steps; one optimizer step sees ``batch_size * grad_acc`` windows. ``save_steps``
    adds a checkpoint every that many optimizer steps to the one at each epoch end. ``precision`` ``"auto"``
    uses bf16 (else fp16) autocast on CUDA and fp32 elsewhere.

    Example::

        config = TrainingConfig(base="bert-base-uncased", train="train-v2.0.json", out="my-reader",
                                dev="dev-v2.0.json", epochs=2)
    """

    base: str
    train: str
    out: str
    dev: str | None = None
    epochs: int = 4
    max_steps: int | None = None
    batch_size: int = 12
    grad_acc: int = 4
    learning_rate: float = 4e-5
    warmup: float = 0.2
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_seq_len: int = 384
    doc_stride: int = 128
    max_query_length: int = 64
    seed: int = 42
    save_steps: int | None = None
    device: str = "auto"
    precision: str = "auto"
    eval_batch_size: int = 32

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "grad_acc", "max_seq_len", "max_query_length", "eval_batch_size")
        for name in positive:
            check_int("TrainingConfig", name, getattr(self, name))
        for name in ("max_steps", "save_steps"):
            check_optional_int("TrainingConfig", name, getattr(self, name))
        check_int("TrainingConfig", "doc_stride", self.doc_stride, minimum=0)
        check_int("TrainingConfig", "seed", self.seed, minimum=0)
        if not 0.0 <= self.warmup < 1.0:
            raise ComponentError(f"warmup must be a fraction in [0, 1), got {self.warmup!r}")
        for name in ("learning_rate", "max_grad_norm"):
            if not getattr(self, name) > 0.0:
                raise ComponentError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.weight_decay < 0.0:
            raise ComponentError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.precision not in PRECISIONS:
            raise ComponentError(f"precision must be one of {list(PRECISIONS)}, got {self.precision!r}")

    def hyperparameters(self) -> dict[str, Any]:
        """Every setting that decides the trained weights (a ``--resume`` must not change any)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in _RUNTIME_FIELDS}
