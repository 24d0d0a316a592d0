"""``docqa index``: convert files, split them into passages and add them to a saved store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from docqa.cli._common import console, fail, handle_errors, load_store, warn
from docqa.document_stores.base import DuplicatePolicy
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.embedders import DEFAULT_EMBEDDING_MODEL


def index(
    paths: list[Path] = typer.Argument(..., help="Files or folders (.txt .md .html .jsonl .json .pdf)."),
    store: Path = typer.Option(..., "--store", "-s", help="Store directory (created if missing)."),
    split_by: str = typer.Option("word", help="Passage unit: word, sentence or passage."),
    split_length: int = typer.Option(120, help="Passage length in units of --split-by."),
    split_overlap: int = typer.Option(20, help="Overlap between consecutive passages, in the same units."),
    embed: bool = typer.Option(False, "--embed", help="Also embed passages for dense and hybrid search."),
    embedding_model: str | None = typer.Option(
        None,
        help="Sentence-transformers model id or local path (with --embed); default: the store's model, else "
        f"{DEFAULT_EMBEDDING_MODEL}.",
    ),
) -> None:
    """Index files into a store directory: convert, split into passages, write, save atomically."""
    from docqa.converters import convert_paths
    from docqa.preprocessors import DocumentSplitter

    with handle_errors():
        splitter = DocumentSplitter(split_by=split_by, split_length=split_length, split_overlap=split_overlap)
        document_store = load_store(store) if store.exists() else InMemoryDocumentStore()
        converted = convert_paths(paths, progress=True)
        for skipped in converted.skipped:
            warn(f"skipped {skipped.path}: {skipped.reason}")
        if not converted.documents:
            fail("no documents to index: every input was skipped")
        passages = splitter.run(documents=converted.documents)["documents"]
        if embed:
            model = _embedding_model(document_store, embedding_model, store)
            passages = _embed(passages, model)
            document_store.embedding_model = model
        written = document_store.write_documents(passages, policy=DuplicatePolicy.SKIP)
        document_store.save(store)
    _print_summary(converted.files, len(passages), written, len(converted.skipped), store)


def _embedding_model(document_store: InMemoryDocumentStore, requested: str | None, store: Path) -> str:
    """The model to embed with: the one the store's vectors came from; mixing two models is refused."""
    recorded = document_store.embedding_model
    if requested is not None and recorded is not None and requested != recorded:
        fail(
            f"the store {store} holds embeddings of {recorded!r}: index with --embedding-model {recorded} "
            "or into a new store"
        )
    return requested or recorded or DEFAULT_EMBEDDING_MODEL


def _embed(passages: list, model: str) -> list:
    from docqa.embedders import SentenceTransformersDocumentEmbedder

    embedder = SentenceTransformersDocumentEmbedder(model=model)
    embedder.warm_up()
    return embedder.run(documents=passages)["documents"]


def _print_summary(files: int, passages: int, written: int, skipped: int, store: Path) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("files indexed", str(files))
    table.add_row("passages", f"{passages} ({written} new, {passages - written} already in the store)")
    table.add_row("files skipped", str(skipped))
    table.add_row("store", str(store))
    console.print(table)
