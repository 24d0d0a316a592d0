"""``docqa train``: fine-tune a reader on a SQuAD v1.1 / v2.0 file (see :mod:`docqa.training`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from docqa.cli._common import error_console, handle_errors, print_json


def train(
    base: Annotated[
        str,
        typer.Option(
            "--base",
            help="Hub id or folder: a base encoder (BERT, DistilBERT, RoBERTa; a "
            "fresh span head is added), a QA model, or a sentence-transformers folder.",
        ),
    ],
    train_file: Annotated[Path, typer.Option("--train", help="SQuAD v1.1 or v2.0 JSON training file.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Output folder: the best model (Hugging Face format), docqa_training.json and checkpoints/."
        ),
    ],
    dev: Annotated[
        Path | None,
        typer.Option("--dev", help="SQuAD JSON file evaluated after each epoch; the best epoch's model is kept."),
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 4,
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps",
            min=1,
            help="Train for exactly this many optimizer steps, overriding --epochs as transformers' Trainer does "
            "(the run says how many epochs that makes; the schedule is fitted to them).",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Windows per forward pass.")] = 12,
    grad_acc: Annotated[int, typer.Option("--grad-acc", min=1, help="Forward passes per optimizer step.")] = 4,
    learning_rate: Annotated[float, typer.Option("--learning-rate", min=0.0)] = 4e-5,
    warmup: Annotated[
        float, typer.Option("--warmup", min=0.0, max=0.999, help="Fraction of the steps with linear warm-up.")
    ] = 0.2,
    max_seq_len: Annotated[int, typer.Option("--max-seq-len", min=8)] = 384,
    doc_stride: Annotated[int, typer.Option("--doc-stride", min=0)] = 128,
    max_query_length: Annotated[int, typer.Option("--max-query-length", min=1)] = 64,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 42,
    save_steps: Annotated[
        int | None,
        typer.Option("--save-steps", min=1, help="Also checkpoint every N optimizer steps (always at each epoch end)."),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint in --out.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a non-empty --out.")] = False,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:1, mps...")] = "auto",
    precision: Annotated[
        str, typer.Option("--precision", help="auto (bf16/fp16 autocast on CUDA, else fp32), fp32, bf16, fp16.")
    ] = "auto",
    json_output: Annotated[
        bool, typer.Option("--json", help="Print docqa_training.json's content at the end.")
    ] = False,
) -> None:
    """Fine-tune an extractive reader on SQuAD; defaults are the model card recipe of deepset/minilm-uncased-squad2
    (4 epochs, batch 12 x grad-acc 4, lr 4e-5, warm-up 0.2, max_seq_len 384, stride 128, seed 42)."""
    from docqa.training import TrainingConfig, train_reader

    with handle_errors({base: "--base PATH"}):
        config = TrainingConfig(
            base=base, train=str(train_file), out=str(out), dev=None if dev is None else str(dev), epochs=epochs,
            max_steps=max_steps, batch_size=batch_size, grad_acc=grad_acc, learning_rate=learning_rate,
            warmup=warmup, max_seq_len=max_seq_len, doc_stride=doc_stride, max_query_length=max_query_length,
            seed=seed, save_steps=save_steps, device=device, precision=precision,
        )  # fmt: skip
        result = train_reader(config, resume=resume, overwrite=overwrite, progress=sys.stderr.isatty(), log=_note)
    if json_output:
        print_json(result.metadata)
        return
    threshold = result.advised_no_answer_threshold
    advice = "" if threshold is None else f"; use it with no_answer_threshold={threshold:.4f}"
    typer.echo(f"model saved to {result.out} (ExtractiveReader(model={str(result.out)!r}){advice})")


def _note(message: str) -> None:
    error_console.print(f"[dim]{escape(message)}[/]", soft_wrap=True)
