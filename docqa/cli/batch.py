"""``docqa batch``: answer a file or folder of questions (or fill-mask texts) into JSONL or CSV, batched,
resumable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from docqa.cli._common import (
    DTYPE_HELP,
    STORE_HELP,
    check_dtype_option,
    error_console,
    fail,
    handle_errors,
    print_json,
    warn,
)
from docqa.document_stores.postgres import is_postgres_spec

#: The exit code of a run that wrote every line but some records failed (an error line or a duplicate id).
EXIT_RECORDS_FAILED = 3


def batch(
    input_file: Annotated[
        Path,
        typer.Argument(
            help='Input: .jsonl records ({"id", "question", "context"?} or {"id", "input_string"}), a .json '
            "request body, a .csv file (columns question, context, id; input_string for fill-mask), or a folder "
            "of such files.",
            exists=True,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output: one line per record, JSON Lines (CSV if it ends in .csv).")
    ],
    task: Annotated[str, typer.Option("--task", help="qa or fill-mask.")] = "qa",
    pipeline: Annotated[
        Path | None,
        typer.Option("--pipeline", "-p", help="Pipeline YAML that retrieves passages for questions without a context."),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option("--store", "-s", help="Store to search for questions without a context. " + STORE_HELP),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Reader or fill-mask model: hub id or local directory.")
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            "--retry-errors",
            help="Keep what --out holds: skip the records answered there, run those with an error line again.",
        ),
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out.")] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Records per model call (a killed run loses at most these).")
    ] = 64,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="fill-mask: candidates per mask.")] = 5,
    dtype: Annotated[
        str | None, typer.Option("--dtype", help=DTYPE_HELP + " Default: auto, or the pipeline's.")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")] = True,
    ray: Annotated[
        bool, typer.Option("--ray", help="Read on Ray Data actors (RAY_ADDRESS, else a local Ray); same output.")
    ] = False,
    ray_actors: Annotated[
        int, typer.Option("--ray-actors", min=1, help="With --ray: actors (each loads the model once).")
    ] = 2,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
) -> None:
    """Answer every record of INPUT into --out, one line per record: bad records get {"id", "error"} and the run
    goes on; a summary (done, skipped, failed, duplicates, records/s) at the end. The exit code is 3 when records
    failed (error lines or duplicate ids), 1 when the run could not be made."""
    from docqa.batch import EngineConfig, build_engine, read_batch_input, run_batch_file

    _check_options(task, pipeline, store, out, resume, overwrite)
    check_dtype_option(dtype)
    with handle_errors({model: "--model PATH"} if model is not None else None):
        batch_input = read_batch_input(input_file, "qa" if task == "qa" else "fill-mask", exclude=out)
        _report_input(batch_input)
        config = EngineConfig("qa" if task == "qa" else "fill-mask", model, store, pipeline, top_k, dtype)
        show = progress and sys.stderr.isatty()
        if ray:
            from docqa.distributed import ray_batch

            summary = ray_batch(batch_input, out, config, resume=resume, actors=ray_actors, batch_size=batch_size,
                                progress=show)  # fmt: skip
        else:
            engine = build_engine(config, batch_input.options)
            summary = run_batch_file(batch_input, out, engine, resume=resume, chunk_size=batch_size, progress=show)
    if json_output:
        print_json(summary.to_dict())
    else:
        error_console.print(
            f"done {summary.done}, skipped {summary.skipped}, failed {summary.failed}, "
            f"duplicates {summary.duplicates}, {summary.records_per_second:.1f} records/s -> {out}"
        )
    if not summary.ok:
        raise typer.Exit(EXIT_RECORDS_FAILED)


def _report_input(batch_input: Any) -> None:
    """A warning line per file of the input folder that is not batch input and per duplicate id."""
    for skipped in batch_input.skipped:
        warn(f"skipped {skipped}: not a batch input file (.jsonl, .json, .csv)")
    for line in batch_input.duplicates:
        warn(f"{line.error['error']}: not written")


def _check_options(
    task: str, pipeline: Path | None, store: str | None, out: Path, resume: bool, overwrite: bool
) -> None:
    if task not in ("qa", "fill-mask"):
        fail(f"--task must be qa or fill-mask, got {task!r}")
    if pipeline is not None and store is not None:
        fail("give --pipeline FILE.yaml or --store DIR, not both")
    if task == "fill-mask" and (pipeline is not None or store is not None):
        fail("--pipeline and --store are for --task qa")
    if store is not None and not is_postgres_spec(store) and not Path(store).exists():
        fail(f"no document store at {store}: create one with `docqa index PATH... --store {store}`")
    if resume and overwrite:
        fail("give --resume or --overwrite, not both")
    if out.exists() and out.stat().st_size > 0 and not (resume or overwrite):
        fail(f"{out} already exists: pass --resume to skip the records already in it, or --overwrite")
