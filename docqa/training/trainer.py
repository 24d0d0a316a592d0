"""Fine-tuning a reader on SQuAD: :func:`train_reader`.

The loop is the standard SQuAD recipe (AdamW, linear warm-up then linear decay, gradient accumulation, gradient
clipping) over the reader's own windows (:mod:`docqa.training.labels`). The order of windows in epoch ``e`` is a
permutation drawn from ``(seed, e)`` alone and checkpoints hold the optimizer, scheduler, torch RNG and step, so a
run resumed from any checkpoint ends with the same weights as one never interrupted (on the CPU, bit for bit).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm  # type: ignore[import-untyped]

from docqa.errors import ComponentError, ConversionError
from docqa.hub import resolve_device
from docqa.readers.windows import pad_batch
from docqa.training.base_model import BaseModel, load_base_model
from docqa.training.checkpoints import (
    TRAINER_STATE,
    TRAINING_FILE,
    prepare_out_dir,
    publish,
    read_pointers,
    write_checkpoint,
)
from docqa.training.config import TrainingConfig
from docqa.training.labels import LabelledWindow, training_windows, uses_token_types
from docqa.training.squad_training_data import SquadTrainingSet

logger = logging.getLogger(__name__)

#: Called after every optimizer step (and the checkpoint it may make) with ``(step, mean window loss of the step)``.
StepCallback = Callable[[int, float], None]


@dataclass
class TrainingState:
    """Where a run is: optimizer steps done, the next epoch and accumulation group, per-epoch results."""

    step: int = 0
    epoch: int = 0
    group: int = 0
    epoch_loss: float = 0.0
    epoch_windows: int = 0
    windows_seen: int = 0
    train_seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_score: float | None = None

    @property
    def windows_per_second(self) -> float | None:
        return self.windows_seen / self.train_seconds if self.train_seconds > 0 else None


@dataclass(frozen=True)
class TrainingResult:
    """The outcome: ``out`` holds the best model (by dev F1; the final one without ``dev``) and
    ``docqa_training.json``, whose content is ``metadata``."""

    out: Path
    metadata: dict[str, Any]

    @property
    def epochs(self) -> list[dict[str, Any]]:
        return list(self.metadata["epochs"])

    @property
    def advised_no_answer_threshold(self) -> float | None:
        value = self.metadata.get("advised_no_answer_threshold")
        return None if value is None else float(value)


def train_reader(
    config: TrainingConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
    log: Callable[[str], None] = logger.info,
    on_step: StepCallback | None = None,
) -> TrainingResult:
    """Fine-tune ``config.base`` on ``config.train`` and save the best model in ``config.out``.

    ``resume`` continues from the last checkpoint in ``config.out`` (same settings and data required);
    ``overwrite`` replaces a non-empty ``config.out``. ``progress``: progress bars on stderr (``None``: only when
    stderr is a terminal). ``log`` receives one-line messages (the SQuAD mode, the validation report, the steps
    and epochs, evaluation results). Bad input raises a one-line :class:`~docqa.errors.DocqaError`.

    Example::

        config = TrainingConfig(base="/models/bert-base-uncased", train="train.json", out="reader", dev="dev.json")
        result = train_reader(config)
        reader = ExtractiveReader(model="reader", no_answer_threshold=result.advised_no_answer_threshold)
    """
    out = Path(config.out)
    train_set = SquadTrainingSet.load(config.train)
    dev_hash = _check_dev(config.dev)
    if not train_set.questions:
        summary = train_set.report.summary()
        raise ConversionError(f"{config.train}: no training question left after validation ({summary})")
    _seed_everything(config.seed)
    if resume:
        resume_from = prepare_out_dir(out, resume=True, overwrite=False)
        base = load_base_model(str(resume_from))
    else:  # a base that cannot be loaded must not cost the old contents of --out
        base = load_base_model(config.base)
        resume_from = prepare_out_dir(out, resume=False, overwrite=overwrite)
    run = _Run(config, train_set, dev_hash, base, log, progress, on_step)
    if resume_from is not None:
        run.restore(resume_from)
    return run.train()


def _check_dev(dev: str | None) -> str | None:
    if dev is None:
        return None
    from docqa.evaluation.squad_dataset import SquadDataset

    if not any(True for _ in SquadDataset.load(dev).questions()):
        raise ConversionError(f"{dev}: the dev file has no questions")
    return hashlib.sha256(Path(dev).read_bytes()).hexdigest()


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def planned_steps(epochs: int, max_steps: int | None, steps_per_epoch: int) -> tuple[int, int]:
    """``(optimizer steps, epochs started)`` of a run: ``epochs`` whole epochs, unless ``max_steps`` is given, which
    overrides them (as in transformers' Trainer): that many steps, over as many epochs as they take (the last one
    possibly cut short)."""
    if max_steps is None:
        return epochs * steps_per_epoch, epochs
    return max_steps, math.ceil(max_steps / steps_per_epoch)


def _disabled(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: ``None`` (progress not decided) hides the bar unless stderr is a terminal."""
    return None if progress is None else not progress


def epoch_order(count: int, seed: int, epoch: int) -> np.ndarray:
    """The order windows are seen in during ``epoch``: a function of ``(seed, epoch)`` only."""
    return np.random.default_rng([seed, epoch]).permutation(count)


class _Run:
    """One training run: model, optimizer, schedule, windows and progress."""

    def __init__(
        self,
        config: TrainingConfig,
        train_set: SquadTrainingSet,
        dev_hash: str | None,
        base: BaseModel,
        log: Callable[[str], None],
        progress: bool | None,
        on_step: StepCallback | None,
    ) -> None:
        import torch

        self.config, self.train_set, self.dev_hash, self.base = config, train_set, dev_hash, base
        self.log, self.progress, self.on_step = log, progress, on_step
        self.out = Path(config.out)
        self.device = torch.device(resolve_device(config.device))
        self.autocast_dtype = _autocast_dtype(self.device, config.precision)
        self.model = base.model.to(self.device)
        self.tokenizer = base.tokenizer
        _check_geometry(config, self.tokenizer, self.model)
        self._announce()
        self.windows = training_windows(
            self.tokenizer,
            train_set.questions,
            config.max_seq_len,
            config.doc_stride,
            config.max_query_length,
            uses_token_types(self.tokenizer, self.model),
        )
        self.batches_per_epoch = math.ceil(len(self.windows) / config.batch_size)
        self.steps_per_epoch = math.ceil(self.batches_per_epoch / config.grad_acc)
        self.total_steps, self.epochs = planned_steps(config.epochs, config.max_steps, self.steps_per_epoch)
        self.optimizer, self.scheduler = self._optimizer()
        self.scaler = torch.amp.GradScaler("cuda") if self.autocast_dtype == torch.float16 else None
        self.state = TrainingState()
        log(
            f"{len(self.windows)} training windows ({config.max_seq_len} tokens, stride {config.doc_stride}); "
            f"{self.total_steps} optimizer steps of {config.batch_size} x {config.grad_acc} windows"
            f"{self._epochs_note()}; "
            f"device {self.device}, {'fp32' if self.autocast_dtype is None else str(self.autocast_dtype)[6:]}"
        )

    def _epochs_note(self) -> str:
        if self.config.max_steps is None:
            return f" ({self.epochs} epochs of {self.steps_per_epoch})"
        return (
            f" (--max-steps {self.config.max_steps} overrides --epochs {self.config.epochs}: "
            f"{self.total_steps / self.steps_per_epoch:.3g} epochs of {self.steps_per_epoch})"
        )

    def _announce(self) -> None:
        data = self.train_set
        mode = "SQuAD 2.0 mode" if data.is_v2 else "SQuAD 1.1 mode (no unanswerable questions)"
        self.log(f"{mode}: {data.source} is {data.version} ({data.version_reason})")
        self.log(f"validation: {data.report.summary()}")
        self.log(f"base: {self.base.name} ({self.base.kind})")

    def _optimizer(self) -> tuple[Any, Any]:
        import torch
        from transformers import get_linear_schedule_with_warmup

        decay: list[Any] = []
        no_decay: list[Any] = []
        for name, parameter in self.model.named_parameters():
            (no_decay if name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name else decay).append(
                parameter
            )
        groups = [
            {"params": decay, "weight_decay": self.config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=self.config.learning_rate)
        warmup_steps = int(self.config.warmup * self.total_steps)
        return optimizer, get_linear_schedule_with_warmup(optimizer, warmup_steps, self.total_steps)

    # --- the loop -------------------------------------------------------------------------------------

    def train(self) -> TrainingResult:
        state = self.state
        bar = tqdm(total=self.total_steps, initial=state.step, unit="step", disable=_disabled(self.progress))
        with bar:
            while state.step < self.total_steps and state.epoch < self.epochs:
                bar.set_description(f"epoch {state.epoch + 1}/{self.epochs}")
                self._run_epoch(bar)
        return self._finish()

    def _run_epoch(self, bar: Any) -> None:
        """One epoch (or what is left of it), in the order of ``epoch_order(..., state.epoch)``."""
        state = self.state
        epoch = state.epoch
        groups = self._groups(epoch)
        while state.epoch == epoch and state.group < len(groups) and state.step < self.total_steps:
            loss = self._timed_step(groups[state.group])
            state.group += 1
            bar.update(1)
            rate = state.windows_per_second
            bar.set_postfix(loss=f"{loss:.4f}", windows_s=f"{rate:.1f}" if rate else "-")
            ended = state.group == len(groups) or state.step == self.total_steps
            if ended:
                self._end_epoch(complete=state.group == len(groups))
            elif self.config.save_steps is not None and state.step % self.config.save_steps == 0:
                self._checkpoint(metrics=None)
            if self.on_step is not None:
                self.on_step(state.step, loss)

    def _groups(self, epoch: int) -> list[list[np.ndarray]]:
        order = epoch_order(len(self.windows), self.config.seed, epoch)
        batches = [order[i : i + self.config.batch_size] for i in range(0, len(order), self.config.batch_size)]
        acc = self.config.grad_acc
        return [batches[i : i + acc] for i in range(0, len(batches), acc)]

    def _timed_step(self, group: list[np.ndarray]) -> float:
        started = time.perf_counter()
        loss_sum, windows = self._optimizer_step(group)
        state = self.state
        state.train_seconds += time.perf_counter() - started
        state.step += 1
        state.windows_seen += windows
        state.epoch_loss += loss_sum
        state.epoch_windows += windows
        return loss_sum / windows

    def _optimizer_step(self, group: list[np.ndarray]) -> tuple[float, int]:
        """Accumulate the gradients of ``group``'s batches (weighted so they average over its windows), clip,
        step. Returns the summed window losses and the number of windows."""
        import torch

        self.model.train()
        windows = sum(len(batch) for batch in group)
        loss_sum = 0.0
        for batch in group:
            with self._autocast():
                loss = self.model(**self._inputs([self.windows[i] for i in batch])).loss
            weighted = loss.float() * (len(batch) / windows)
            (self.scaler.scale(weighted) if self.scaler is not None else weighted).backward()
            loss_sum += float(loss.detach()) * len(batch)
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.max_grad_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_sum, windows

    def _autocast(self) -> Any:
        import torch

        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def _inputs(self, batch: list[LabelledWindow]) -> dict[str, Any]:
        import torch

        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        arrays = pad_batch([item.window for item in batch], pad_id)
        inputs = {name: torch.from_numpy(array).to(self.device) for name, array in arrays.items()}
        inputs["start_positions"] = torch.tensor([item.start for item in batch], device=self.device)
        inputs["end_positions"] = torch.tensor([item.end for item in batch], device=self.device)
        return inputs

    # --- epochs, evaluation, checkpoints ------------------------------------------------------------------

    def _end_epoch(self, complete: bool) -> None:
        state = self.state
        record: dict[str, Any] = {
            "epoch": state.epoch + 1,
            "complete": complete,
            "step": state.step,
            "train_loss": state.epoch_loss / state.epoch_windows if state.epoch_windows else None,
            "windows_per_second": state.windows_per_second,
        }
        state.epoch, state.group, state.epoch_loss, state.epoch_windows = state.epoch + 1, 0, 0.0, 0
        self._checkpoint(metrics=record)

    def _checkpoint(self, metrics: dict[str, Any] | None) -> None:
        is_best = False

        def fill(folder: Path) -> None:
            nonlocal is_best
            with _no_progress_bars():
                self.model.save_pretrained(folder)
                self.tokenizer.save_pretrained(folder)
            if metrics is not None:
                is_best = self._record_epoch(folder, metrics)
            self._save_state(folder)

        write_checkpoint(self.out, f"checkpoint-{self.state.step:08d}", fill, best=lambda: is_best)

    def _record_epoch(self, folder: Path, record: dict[str, Any]) -> bool:
        """Evaluate ``folder`` on the dev file (if any), add ``record`` to the history; whether it is the best."""
        if self.config.dev is not None:
            with _preserved_rng():
                record.update(evaluate_checkpoint(folder, self.config, self.progress))
            self.log(_epoch_line(record))
        self.state.history.append(record)
        score = record.get("score")
        if score is None:
            return self.config.dev is None
        if self.state.best_score is None or score > self.state.best_score:
            self.state.best_score = float(score)
            return True
        return False

    def _save_state(self, folder: Path) -> None:
        import torch

        state = self.state
        payload = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "progress": json.dumps({k: v for k, v in vars(state).items()}),
        }
        torch.save(payload, folder / TRAINER_STATE)
        (folder / TRAINING_FILE).write_text(json.dumps(self.metadata(finished=False), indent=1), encoding="utf-8")

    def restore(self, checkpoint: Path) -> None:
        """Continue from ``checkpoint`` (its weights are already loaded as the base)."""
        import torch

        saved = json.loads((checkpoint / TRAINING_FILE).read_text(encoding="utf-8"))
        self._check_same_run(saved)
        payload = torch.load(checkpoint / TRAINER_STATE, map_location=self.device, weights_only=True)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        if self.scaler is not None and payload["scaler"] is not None:
            self.scaler.load_state_dict(payload["scaler"])
        torch.set_rng_state(payload["torch_rng"].cpu())
        if payload["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in payload["cuda_rng"]])
        self.state = TrainingState(**json.loads(payload["progress"]))
        self.base = BaseModel(saved["base"], self.base.model, self.base.tokenizer, saved["base_kind"])
        self.log(f"resumed from {checkpoint} at step {self.state.step} of {self.total_steps}")

    def _check_same_run(self, saved: dict[str, Any]) -> None:
        now = self.metadata(finished=False)
        for key in ("hyperparameters", "train_sha256", "dev_sha256"):
            if saved.get(key) != now[key]:
                raise ComponentError(
                    f"--resume: {key} differ from the saved run's (saved {saved.get(key)}, now {now[key]}); "
                    "resume with the same settings and data, or start again with --overwrite"
                )

    def metadata(self, finished: bool) -> dict[str, Any]:
        """The content of ``docqa_training.json``."""
        from docqa import __version__

        history = self.state.history
        best = max((r for r in history if r.get("score") is not None), key=lambda r: r["score"], default=None)
        data = self.train_set
        return {
            "docqa_version": __version__,
            "base": self.base.name,
            "base_kind": self.base.kind,
            "mode": "squad2" if data.is_v2 else "squad1",
            "train": self.config.train,
            "train_sha256": data.sha256,
            "train_version": f"{data.version} ({data.version_reason})",
            "validation": data.report.to_dict(),
            "dev": self.config.dev,
            "dev_sha256": self.dev_hash,
            "hyperparameters": self.config.hyperparameters(),
            "windows": len(self.windows),
            "steps": self.state.step,
            "total_steps": self.total_steps,
            "windows_per_second": self.state.windows_per_second,
            "epochs": history,
            "best_epoch": None if best is None else best["epoch"],
            "advised_no_answer_threshold": None if best is None else best.get("advised_no_answer_threshold"),
            "finished": finished,
        }

    def _finish(self) -> TrainingResult:
        pointers = read_pointers(self.out)
        chosen = self.out / "checkpoints" / pointers["best" if self.config.dev is not None else "last"]
        metadata = self.metadata(finished=True)
        metadata["checkpoint"] = chosen.name
        publish(self.out, chosen, json.dumps(metadata, indent=1))
        self.log(f"saved the {'best' if self.config.dev is not None else 'final'} model ({chosen.name}) to {self.out}")
        return TrainingResult(self.out, metadata)


def evaluate_checkpoint(folder: Path, config: TrainingConfig, progress: bool | None = None) -> dict[str, Any]:
    """docqa's SQuAD metrics of the model in ``folder`` on ``config.dev`` (read as the reader will read);
    ``score`` is the F1 at the best no-answer threshold (SQuAD 2.0) or the SQuAD 1.1 F1 of the best spans."""
    from docqa.evaluation import evaluate_reader, squad_v1_metrics
    from docqa.readers.extractive_reader import ExtractiveReader

    assert config.dev is not None
    reader = ExtractiveReader(
        model=str(folder),
        max_seq_len=config.max_seq_len,
        doc_stride=config.doc_stride,
        max_query_length=config.max_query_length,
        batch_size=config.eval_batch_size,
        device=config.device,
    )
    result = evaluate_reader(reader, config.dev, progress=progress)
    metrics = result.metrics.to_dict()
    if not any(not answers for answers in result.gold.values()):  # a SQuAD 1.1 dev file: every question answerable
        v1 = squad_v1_metrics(result.gold, result.span_predictions)
        return {"metrics": {**metrics, "v1": v1.to_dict()}, "score": v1.f1, "advised_no_answer_threshold": None}
    best_f1, best_threshold = result.sweep().best("f1")
    return {"metrics": metrics, "score": best_f1, "advised_no_answer_threshold": 0.0 - best_threshold}


def _epoch_line(record: dict[str, Any]) -> str:
    metrics = record["metrics"]
    text = f"epoch {record['epoch']} (step {record['step']}): EM {metrics['exact']:.2f}, F1 {metrics['f1']:.2f}"
    if "HasAns_f1" in metrics and "NoAns_exact" in metrics:
        text += f", HasAns F1 {metrics['HasAns_f1']:.2f}, NoAns {metrics['NoAns_exact']:.2f}"
    threshold = record.get("advised_no_answer_threshold")
    if threshold is not None:
        text += f"; best F1 {record['score']:.2f} at no_answer_threshold {threshold:.3f}"
    return text


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """``save_pretrained`` draws a "Writing model shards" bar on stderr: noise inside the training bar."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


@contextmanager
def _preserved_rng() -> Iterator[None]:
    """Evaluation must not move the training RNG: a run evaluated after each epoch, and one resumed, draw the
    same dropout masks."""
    import torch

    saved = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        torch.set_rng_state(saved)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


def _autocast_dtype(device: Any, precision: str) -> Any:
    import torch

    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if device.type != "cuda":
        raise ComponentError(f"precision {precision!r} (mixed precision) needs a CUDA device, got {device}")
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if precision == "bf16" else torch.float16


def _check_geometry(config: TrainingConfig, tokenizer: Any, model: Any) -> None:
    room = config.max_seq_len - config.max_query_length - tokenizer.num_special_tokens_to_add(pair=True)
    if room <= config.doc_stride:
        raise ComponentError(
            f"doc_stride={config.doc_stride} must be smaller than the room left for the document in a window "
            f"({room} tokens with max_seq_len={config.max_seq_len}, max_query_length={config.max_query_length})"
        )
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions is not None and config.max_seq_len > positions:
        raise ComponentError(f"max_seq_len={config.max_seq_len} exceeds the base model's {positions} positions")
