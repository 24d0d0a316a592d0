"""``docqa eval squad``: score a reader on a SQuAD 2.0 file with the official metrics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from docqa.cli._common import (
    DTYPE_HELP,
    STORE_HELP,
    console,
    fail,
    handle_errors,
    open_store,
    print_json,
    show_progress,
)
from docqa.readers.extractive_reader import DEFAULT_READER_MODEL

if TYPE_CHECKING:
    from docqa.evaluation.squad_eval import EvalResult

eval_app = typer.Typer(help="Evaluate docqa components on benchmark data.", no_args_is_help=True)


@eval_app.callback()
def _eval_group() -> None:
    """Evaluate docqa components on benchmark data."""
    # A callback keeps `eval` a command group (`docqa eval squad ...`) even while it has a single command.


_METRIC_ROWS = [
    ("exact", "exact match (%)"),
    ("f1", "F1 (%)"),
    ("total", "questions"),
    ("HasAns_exact", "answerable: exact (%)"),
    ("HasAns_f1", "answerable: F1 (%)"),
    ("HasAns_total", "answerable: questions"),
    ("NoAns_exact", "unanswerable: exact (%)"),
    ("NoAns_f1", "unanswerable: F1 (%)"),
    ("NoAns_total", "unanswerable: questions"),
]


@eval_app.command("squad")
def squad(
    file: Annotated[Path, typer.Argument(help="SQuAD 2.0 (or 1.1) JSON file, e.g. dev-v2.0.json.")],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Question-answering model: hub id or local directory.")
    ] = DEFAULT_READER_MODEL,
    open_domain: Annotated[
        bool,
        typer.Option(
            "--open-domain",
            help="Retrieve passages with BM25 instead of reading each question's gold paragraph: from --store, "
            "else from the file's articles split as docqa index splits files (120 words, overlap 20).",
        ),
    ] = False,
    store: Annotated[
        str | None,
        typer.Option("--store", "-s", help="Store to retrieve from (implies --open-domain). " + STORE_HELP),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            "--output",
            help="Folder for predictions.json, na_probs.json and metrics.json (--output: its former name).",
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Folder for the report plots (needs matplotlib).")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Evaluate only the first N questions.")] = None,
    no_answer_threshold: Annotated[
        float,
        typer.Option(
            "--no-answer-threshold", help="The reader predicts no answer when best span - null score is below this."
        ),
    ] = 0.0,
    retriever_top_k: Annotated[
        int, typer.Option("--retriever-top-k", min=1, help="Paragraphs retrieved per question in open-domain mode.")
    ] = 10,
    group_by: Annotated[
        str,
        typer.Option("--group-by", help="text: one answer per answer text (the default); span: one per place."),
    ] = "text",
    retriever_weight: Annotated[
        float | None,
        typer.Option(
            "--retriever-weight",
            min=0.0,
            help="Open-domain: fuse BM25 scores into the answers' (answer score + W x (passage score - best)); "
            "default: 0.5 as docqa ask --store does (0: off).",
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            help="Reader batch size in windows (default: 32 on the CPU, a token budget on a GPU).",
        ),
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:1, mps...")] = "auto",
    backend: Annotated[
        str, typer.Option("--backend", help="torch, or onnx (fp32 ONNX Runtime on CPU; exported once, cached).")
    ] = "torch",
    dtype: Annotated[str, typer.Option("--dtype", help=DTYPE_HELP)] = "auto",
    json_output: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Run a reader over a SQuAD 2.0 (or 1.1) file and print the official metrics and throughput; every
    threshold it prints or writes is in --no-answer-threshold units."""
    from docqa.evaluation.squad_eval import evaluate_reader
    from docqa.pipelines.extractive_qa import BM25_RETRIEVER_WEIGHT
    from docqa.readers import ExtractiveReader

    for option, folder in (("--out", output), ("--report", report)):
        if folder is not None and folder.exists() and not folder.is_dir():
            fail(f"{option} must be a directory: {folder} is a file")
    with handle_errors({model: "--model PATH"}):
        document_store = open_store(store) if store is not None else None  # a directory or a PostgreSQL DSN
        if report is not None:
            from docqa.evaluation.report import write_report  # fails early if matplotlib is missing
        reader = ExtractiveReader(
            model=model,
            no_answer_threshold=no_answer_threshold,
            batch_size=batch_size,
            device=device,
            backend=backend,
            dtype=dtype,
            group_by=group_by,
            retriever_weight=BM25_RETRIEVER_WEIGHT if retriever_weight is None else retriever_weight,
        )
        result = evaluate_reader(
            reader,
            file,
            open_domain=open_domain or document_store is not None,
            store=document_store,
            retriever_top_k=retriever_top_k,
            limit=limit,
            progress=show_progress(),
            output_dir=output,
        )
        if report is not None:
            write_report(report, result)
    if json_output:
        print_json(result.to_dict())
    else:
        print_result(result)
        for folder, what in ((output, "predictions"), (report, "report")):
            if folder is not None:
                console.print(f"[dim]{what} written to {folder}[/]")


def print_result(result: EvalResult) -> None:
    """The official metrics and throughput as a table."""
    metrics = result.metrics.to_dict()
    mode = "open-domain (BM25)" if result.open_domain else "gold paragraph"
    version = "SQuAD 2.0" if result.squad_version == "v2.0" else f"SQuAD 1.1 ({result.version_reason})"
    table = Table(title=f"{version} — {mode}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    if result.squad_version != "v2.0":
        from docqa.evaluation.squad_metrics import squad_v1_metrics

        v1 = squad_v1_metrics(result.gold, result.span_predictions)  # the official v1.1 script's numbers
        table.add_row("SQuAD 1.1 exact match (%), always answering", _format(v1.exact_match))
        table.add_row("SQuAD 1.1 F1 (%), always answering", _format(v1.f1))
    for key, label in _METRIC_ROWS:
        if key in metrics:
            table.add_row(label, _format(metrics[key]))
    always = result.always_answering.to_dict()
    for key, label in (("exact", "exact"), ("f1", "F1"), ("HasAns_f1", "answerable: F1")):
        if key in always and result.squad_version == "v2.0":
            table.add_row(f"always answering: {label} (%)", _format(always[key]))
    table.add_row("--no-answer-threshold of this run", repr(result.no_answer_threshold))
    # Thresholds everywhere in the reader's units (answer when best span - null score >= threshold); the
    # official best_*_thresh (its na_prob units, and only ever answering fewer questions) stay in --json.
    for metric, label in (("f1", "F1"), ("exact", "exact")):
        best, threshold = result.best_threshold(metric)
        table.add_row(f"best {label} (%), at --no-answer-threshold {threshold!r}", _format(best))
    table.add_row("passages / s (reader)", _format(result.passages_per_second, 2))
    table.add_row("questions / s (end to end)", _format(result.questions_per_second, 2))
    console.print(table)


def _format(value: float | int | None, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"
