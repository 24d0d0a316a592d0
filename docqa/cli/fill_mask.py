"""``docqa fill-mask``: predict the masked word(s) of a text with a masked language model."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from docqa.cli._common import console, handle_errors, print_json
from docqa.fill_mask.fill_mask import DEFAULT_FILL_MASK_MODEL


def fill_mask(
    texts: Annotated[list[str], typer.Argument(help="Text(s) with [MASK] (or <mask>) where the word to predict goes.")],
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="Masked language model: hub id or local directory."),
    ] = DEFAULT_FILL_MASK_MODEL,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="Candidates per mask.")] = 5,
    targets: Annotated[
        list[str] | None,
        typer.Option("--target", "-t", help="Only score this candidate word; repeatable."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = "auto",
    json_output: Annotated[
        bool, typer.Option("--json", help="Print transformers' fill-mask output as JSON (one list per text).")
    ] = False,
) -> None:
    """Fill in the mask token of each text: the most probable tokens, with their probabilities."""
    from docqa.fill_mask import FillMask

    with handle_errors():
        component = FillMask(model=model, top_k=top_k, targets=targets or None, device=device)
        per_text = component.predict(texts)
    if json_output:
        results: list[Any] = [[[p.to_dict() for p in mask] for mask in found] for found in per_text]
        flattened = [found[0] if len(found) == 1 else found for found in results]
        print_json(flattened[0] if len(flattened) == 1 else flattened)
        return
    for text, found in zip(texts, per_text, strict=True):
        for number, candidates in enumerate(found, start=1):
            title = escape(text) if len(found) == 1 else f"{escape(text)} (mask {number} of {len(found)})"
            table = Table(title=title, title_justify="left")
            for column in ("#", "token", "score", "sequence"):
                table.add_column(column, justify="right" if column in ("#", "score") else "left")
            for rank, prediction in enumerate(candidates, start=1):
                table.add_row(
                    str(rank), escape(prediction.token_str), f"{prediction.score:.4f}", escape(prediction.sequence)
                )
            console.print(table)
