"""``docqa serve``: the REST API (FastAPI + uvicorn), loopback by default; OpenAPI at ``/docs``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from docqa.cli._common import DTYPE_HELP, allow_module_option, check_dtype_option, fail, handle_errors
from docqa.hub import looks_like_path


def serve(
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            "-s",
            help="Store directory (created if missing), or a PostgreSQL DSN (postgresql://... or env:VARIABLE, "
            "e.g. env:DOCQA_PG_DSN): written to directly, with no log or checkpoint.",
        ),
    ] = None,
    pipeline: Annotated[
        Path | None, typer.Option("--pipeline", "-p", help="Pipeline YAML (its store and reader) instead of --store.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Question-answering model: hub id or path.")
    ] = None,
    fill_mask_model: Annotated[str | None, typer.Option(help="Fill-mask model for /score: hub id or path.")] = None,
    dtype: Annotated[
        str | None, typer.Option("--dtype", help=DTYPE_HELP + " Default: auto, or the pipeline's.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="DOCQA_API_KEY", show_envvar=True, help="Require 'Authorization: Bearer KEY' for writes."),
    ] = None,
    api_key_for_reads: Annotated[bool, typer.Option(help="Require the API key for reads too.")] = False,
    cors_origin: Annotated[
        list[str] | None, typer.Option("--cors-origin", help="Allow this browser origin (CORS).")
    ] = None,
    read_only: Annotated[bool, typer.Option(help="Refuse every write (403).")] = False,
    retriever_top_k: Annotated[int, typer.Option(min=1, help="Passages the reader reads per query.")] = 10,
    max_batch: Annotated[
        int | None,
        typer.Option(
            min=1, help="Most items per model batch (1: no micro-batching; default: 16 on the CPU, 128 on a GPU)."
        ),
    ] = None,
    max_wait_ms: Annotated[float, typer.Option(min=0, help="Longest wait to gather a batch, in ms.")] = 5.0,
    max_queue: Annotated[int, typer.Option(min=1, help="Outstanding requests per model before 503.")] = 64,
    max_body_bytes: Annotated[int, typer.Option(min=1, help="Largest request body (413 beyond).")] = 10 * 1024 * 1024,
    max_items: Annotated[int, typer.Option(min=1, help="Queries, pairs or texts per request.")] = 64,
    max_documents: Annotated[int, typer.Option(min=1, help="Documents per write or search.")] = 1000,
    max_query_chars: Annotated[int, typer.Option(min=1, help="Longest query or question.")] = 1000,
    max_context_chars: Annotated[int, typer.Option(min=1, help="Longest context, text or document.")] = 100_000,
    max_top_k: Annotated[int, typer.Option(min=1, help="Largest top_k a request may ask for.")] = 100,
    checkpoint_seconds: Annotated[float, typer.Option(min=0, help="Save the store this long after a change.")] = 300.0,
    checkpoint_bytes: Annotated[int, typer.Option(min=1, help="... or once its write-ahead log is this big.")] = 64
    * 1024
    * 1024,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    allow_module: list[str] = allow_module_option(),
) -> None:
    """Serve /query, /score and the document endpoints over HTTP; models load in the background (see /ready)."""
    import uvicorn

    from docqa.server import Batching, Limits, ServerConfig, create_app

    if store is not None and pipeline is not None:
        fail("give --store DIR|DSN or --pipeline FILE.yaml, not both (a pipeline names its own store)")
    if store is None and pipeline is None and model is None and fill_mask_model is None:
        fail("nothing to serve: give --store DIR|DSN, --pipeline FILE.yaml, --model M or --fill-mask-model M")
    if pipeline is not None and not pipeline.is_file():
        fail(f"no pipeline file at {pipeline}")
    check_dtype_option(dtype)
    for option, value in (("--model", model), ("--fill-mask-model", fill_mask_model)):
        if value is not None and looks_like_path(value) and not Path(value).expanduser().is_dir():
            fail(f"{option} {value}: no model directory there (give a directory holding config.json and the weights)")
    if api_key is not None and not api_key.strip():
        fail("the API key is empty (--api-key or DOCQA_API_KEY)")
    if store is not None:
        _check_store(store, read_only)
    config = ServerConfig(
        store=store,
        pipeline=str(pipeline) if pipeline is not None else None,
        model=model,
        fill_mask_model=fill_mask_model,
        dtype=dtype,
        retriever_top_k=retriever_top_k,
        allowed_modules=tuple(allow_module),
        api_key=api_key,
        api_key_for_reads=api_key_for_reads,
        read_only=read_only,
        cors_origins=tuple(cors_origin or ()),
        checkpoint_seconds=checkpoint_seconds,
        checkpoint_bytes=checkpoint_bytes,
        limits=Limits(max_body_bytes, max_items, max_documents, max_query_chars, max_context_chars, max_top_k),
        batching=Batching(max_batch, max_wait_ms, max_queue),
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    uvicorn.run(create_app(config), host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10)


def _check_store(store: str, read_only: bool) -> None:
    """Say now, in one line, what would only show in /ready later: a DSN naming an unset variable, another
    ``docqa serve`` writing the store directory."""
    from docqa.document_stores.postgres import is_postgres_spec, resolve_dsn

    with handle_errors():
        if is_postgres_spec(store):
            resolve_dsn(store)
        elif not read_only and Path(store).is_dir():
            from docqa.document_stores.wal import check_writer

            check_writer(Path(store))
