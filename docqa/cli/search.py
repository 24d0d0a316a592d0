"""``docqa search``: retrieve passages from a saved store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from docqa.cli._common import console, handle_errors, load_store, parse_filters, print_json
from docqa.schema import Document


def search(
    query: str = typer.Argument(..., help="What to look for."),
    store: Path = typer.Option(..., "--store", "-s", help="Store directory made by `docqa index`."),
    top_k: int = typer.Option(5, "--top-k", "-k", min=1, help="How many passages to return."),
    filters: str | None = typer.Option(None, help='Metadata filter as JSON, e.g. \'{"field": "meta.file_name", '
                                       '"operator": "==", "value": "Normans.txt"}\'.'),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Search a store with BM25 and print the best passages."""
    from docqa.retrievers import BM25Retriever

    document_store = load_store(store)
    with handle_errors():
        retriever = BM25Retriever(document_store, top_k=top_k)
        documents = retriever.run(query=query, filters=parse_filters(filters))["documents"]
    if json_output:
        print_json([document.to_dict() for document in documents])
    else:
        print_documents(documents)


def print_documents(documents: list[Document], width: int = 240) -> None:
    """A table of ranked passages: score, where they come from, and the start of their text."""
    if not documents:
        console.print("[dim]no matching passages[/]")
        return
    table = Table(show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("source")
    table.add_column("passage")
    for rank, document in enumerate(documents, start=1):
        text = " ".join(document.content.split())
        snippet = text if len(text) <= width else text[: width - 1] + "…"
        score = f"{document.score:.3f}" if document.score is not None else ""
        table.add_row(str(rank), score, _source_name(document), snippet)
    console.print(table)


def _source_name(document: Document) -> str:
    name = document.meta.get("file_name") or document.meta.get("title") or document.source_id[:12]
    span = document.source_span
    return f"{name}\n[dim]chars {span.start}-{span.end}[/]"
