"""``docqa search``: retrieve passages from a saved store."""

from __future__ import annotations

import typer
from rich.table import Table

from docqa.cli._common import (
    DTYPE_HELP,
    STORE_HELP,
    console,
    fail,
    handle_errors,
    open_store,
    parse_filters,
    print_json,
)
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.embedders import DEFAULT_EMBEDDING_MODEL
from docqa.schema import Document

MODES = ("bm25", "dense", "hybrid")


def search(
    query: str = typer.Argument(..., help="What to look for."),
    store: str = typer.Option(..., "--store", "-s", help=STORE_HELP),
    top_k: int = typer.Option(5, "--top-k", "-k", min=1, help="How many passages to return."),
    filters: str | None = typer.Option(
        None,
        help='Metadata filter as JSON, e.g. \'{"field": "meta.file_name", "operator": "==", "value": "Normans.txt"}\'.',
    ),
    mode: str = typer.Option(
        "bm25", "--mode", help="bm25, dense or hybrid (dense and hybrid need a store indexed with --embed)."
    ),
    embedding_model: str | None = typer.Option(
        None, help="Query embedding model; default and only accepted value: the one the store was embedded with."
    ),
    ann: bool = typer.Option(False, "--ann", help="Approximate dense search (faiss HNSW) instead of exact."),
    dtype: str = typer.Option("auto", "--dtype", help="Query embedding model's precision. " + DTYPE_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Search a store and print the best passages."""
    if mode not in MODES:
        fail(f"unknown --mode {mode!r}: use one of {', '.join(MODES)}")
    document_store = open_store(store)
    if mode != "bm25" and document_store.embedding_dim is None:
        fail(f"no document in the store {store} has an embedding (index with --embed)")
    recorded = document_store.embedding_model
    if mode != "bm25" and embedding_model is not None and recorded is not None and embedding_model != recorded:
        fail(f"the store {store} was embedded with {recorded!r}, not {embedding_model!r}: drop --embedding-model")
    model = embedding_model or recorded
    with handle_errors({model or DEFAULT_EMBEDDING_MODEL: "--embedding-model PATH"}):
        documents = retrieve(document_store, query, mode, top_k, parse_filters(filters), model, ann, dtype)
    if json_output:
        print_json([document.to_dict() for document in documents])
    else:
        print_documents(documents)


def retrieve(
    store: InMemoryDocumentStore,
    query: str,
    mode: str,
    top_k: int,
    filters: dict | None,
    embedding_model: str | None = None,
    ann: bool = False,
    dtype: str = "auto",
) -> list[Document]:
    """The ``top_k`` passages for ``query`` by BM25, dense or hybrid (RRF) retrieval.

    ``embedding_model`` (default :data:`DEFAULT_EMBEDDING_MODEL`) must be the model the store was embedded with;
    ``dtype``: its precision.
    """
    from docqa.pipelines.hybrid import build_hybrid_pipeline, hybrid_inputs

    embedding_model = embedding_model or DEFAULT_EMBEDDING_MODEL
    if mode == "bm25":
        from docqa.retrievers.bm25_retriever import BM25Retriever

        return BM25Retriever(store, top_k=top_k).run(query=query, filters=filters)["documents"]
    if mode == "dense":
        from docqa.embedders import SentenceTransformersTextEmbedder
        from docqa.retrievers.embedding_retriever import EmbeddingRetriever

        embedder = SentenceTransformersTextEmbedder(model=embedding_model, dtype=dtype)
        embedding = embedder.run(text=query)["embedding"]
        return EmbeddingRetriever(store, top_k=top_k, ann=ann).run(embedding, filters=filters)["documents"]
    pipeline = build_hybrid_pipeline(store, embedding_model=embedding_model, top_k=top_k, ann=ann, dtype=dtype)
    data: dict = hybrid_inputs(query)
    if filters is not None:
        data["bm25_retriever"] = {"filters": filters}
        data["embedding_retriever"] = {"filters": filters}
    return pipeline.run(data)["joiner"]["documents"]


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
