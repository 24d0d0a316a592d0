"""``docqa compact``: rewrite a saved store as one segment, or bring a store of an older docqa up to date."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from docqa.cli._common import STORE_HELP, console, fail, handle_errors, print_json


def compact(
    store: str = typer.Argument(..., help=STORE_HELP),
    upgrade: bool = typer.Option(
        False,
        "--upgrade",
        help="Convert a store saved by an older docqa (a directory store of format 1, or a PostgreSQL table "
        "without BM25 postings).",
    ),
    table: str = typer.Option("docqa_documents", "--table", help="With a PostgreSQL DSN: the docqa table."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Merge a store directory's segments into one, dropping deleted documents and unused terms.

    Appends and deletes are saved as new segments and deletion lists, merged by later saves when worth it; this
    rewrites everything now. A store that `docqa serve` holds is refused (its server checkpoints it).
    """
    from docqa.document_stores.postgres import is_postgres_spec

    started = time.perf_counter()
    with handle_errors():
        if is_postgres_spec(store):
            summary = _upgrade_postgres(store, table, upgrade)
        else:
            summary = _compact_directory(Path(store), upgrade)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    if json_output:
        print_json(summary)
    else:
        _print_summary(summary)


def _compact_directory(directory: Path, upgrade: bool) -> dict[str, Any]:
    from docqa.document_stores.in_memory import InMemoryDocumentStore
    from docqa.document_stores.persistence import MANIFEST, read_manifest
    from docqa.document_stores.wal import check_writer

    if not (directory / MANIFEST).is_file():
        fail(f"no document store at {directory}: create one with `docqa index PATH... --store {directory}`")
    check_writer(directory)
    version = read_manifest(directory)["format_version"]
    if version == 1 and not upgrade:
        fail(
            f"{directory} was saved by an older docqa (format 1): convert it with `docqa compact --upgrade {directory}`"
        )
    size_before = _size(directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the format-1 warning says to do what is being done
        opened = InMemoryDocumentStore.load(directory)
    segments_before = len(opened.segments)
    opened.save(compact=True)
    return {
        "store": str(directory),
        "documents": opened.count_documents(),
        "format": f"{version} -> {read_manifest(directory)['format_version']}",
        "segments": f"{segments_before} -> {len(opened.segments)}",
        "megabytes": f"{size_before / 1e6:.1f} -> {_size(directory) / 1e6:.1f}",
    }


def _upgrade_postgres(dsn: str, table: str, upgrade: bool) -> dict[str, Any]:
    from docqa.document_stores.postgres import redact_dsn

    if not upgrade:
        fail("a PostgreSQL table needs no compaction (VACUUM reclaims its space); --upgrade adds the BM25 postings "
             "to a table indexed by an older docqa")  # fmt: skip
    try:
        from docqa.document_stores.postgres.store import upgrade_table
    except ImportError as error:
        fail(f"a PostgreSQL store needs the postgres extra (pip install 'docqa[postgres]'): {error}")
    indexed = upgrade_table(dsn, table)
    return {"store": f"{redact_dsn(dsn)} table {table}", "documents indexed for BM25": indexed}


def _size(directory: Path) -> int:
    return sum(item.stat().st_size for item in directory.rglob("*") if item.is_file())


def _print_summary(summary: dict[str, Any]) -> None:
    grid = Table(show_header=False, box=None)
    for key, value in summary.items():
        grid.add_row(key, str(value))
    console.print(grid)
