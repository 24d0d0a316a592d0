"""``docqa index``: convert files, split them into passages and add them to a saved store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from docqa.cli._common import (
    STORE_HELP,
    allow_module_option,
    console,
    fail,
    handle_errors,
    open_store,
    print_json,
    save_store,
    show_progress,
    warn,
)
from docqa.core.component import init_parameters
from docqa.document_stores.base import DuplicatePolicy
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.document_stores.wal import check_writer
from docqa.embedders import DEFAULT_EMBEDDING_MODEL
from docqa.preprocessors.document_splitter import INDEX_SPLIT


def index(
    paths: list[Path] = typer.Argument(
        ...,
        help="Files or folders (.txt .md .html .pdf; .jsonl: one {content, meta} per line; .json: a SQuAD file or "
        "an array of {content, meta}).",
    ),
    store: str | None = typer.Option(
        None, "--store", "-s", help=STORE_HELP + " A directory is created if missing; required unless --pipeline."
    ),
    split_by: str = typer.Option(INDEX_SPLIT["split_by"], help="Passage unit: word, sentence or passage."),
    split_length: int = typer.Option(INDEX_SPLIT["split_length"], help="Passage length in units of --split-by."),
    split_overlap: int = typer.Option(
        INDEX_SPLIT["split_overlap"], help="Overlap between consecutive passages, in the same units."
    ),
    embed: bool = typer.Option(False, "--embed", help="Also embed passages for dense and hybrid search."),
    embedding_model: str | None = typer.Option(
        None,
        help="Sentence-transformers model id or local path (with --embed); default: the store's model, else "
        f"{DEFAULT_EMBEDDING_MODEL}.",
    ),
    recreate: bool = typer.Option(False, "--recreate", help="Start the store afresh instead of adding to it."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ray: bool = typer.Option(
        False, "--ray", help="Convert, split and embed on Ray Data actors (RAY_ADDRESS, else a local Ray)."
    ),
    ray_actors: int = typer.Option(2, "--ray-actors", min=1, help="With --ray: actors (each loads the model once)."),
    pipeline: Path | None = typer.Option(
        None,
        "--pipeline",
        help="Index with this pipeline file instead (converter -> splitter -> [embedder ->] writer, e.g. "
        "examples/indexing.yaml): PATHS go to its 'sources' input; the file names the store.",
    ),
    allow_module: list[str] = allow_module_option(),
) -> None:
    """Index files into a store directory: convert, split into passages, write, save atomically.

    Into a store indexed with --embed, new passages are embedded with the store's recorded model.
    """
    if pipeline is not None:
        from docqa.cli.run import run_indexing_pipeline

        if store is not None:
            fail("--store and --pipeline exclude each other: the pipeline file names its store")
        run_indexing_pipeline(pipeline, paths, allow_module, json_output)
        return
    if store is None:
        fail("--store DIR is required (or --pipeline FILE.yaml)")
    from docqa.converters import convert_paths
    from docqa.preprocessors import DocumentSplitter

    model_options: dict[str, str] = {}  # the embedding model, once chosen
    with handle_errors(model_options):
        splitter = DocumentSplitter(split_by=split_by, split_length=split_length, split_overlap=split_overlap)
        document_store = open_store(store, create=True, recreate=recreate)
        _check_no_other_writer(document_store, store)
        settings = init_parameters(splitter)
        _warn_if_split_differs(document_store, settings, store)
        if ray:
            _index_on_ray(paths, document_store, store, settings, embedding_model, embed, ray_actors, json_output)
            return
        converted = convert_paths(paths, progress=show_progress())
        for skipped in converted.skipped:
            warn(f"skipped {skipped.path}: {skipped.reason}")
        if not converted.documents:
            _fail_nothing_to_index(paths, converted.skipped)
        passages = splitter.run(documents=converted.documents)["documents"]
        model = _embedding_model(document_store, embedding_model, store, embed)
        model_options.update({model: "--embedding-model PATH"} if model is not None else {})
        if model is not None:
            passages = _embed(passages, model, asked=embed, store=store)
            document_store.embedding_model = model
        document_store.split_settings = settings
        written = document_store.write_documents(passages, policy=DuplicatePolicy.SKIP)
        save_store(document_store, store)
    counts = {"files": converted.files, "passages": len(passages), "new_passages": written}
    _report(counts, converted.skipped, store, model, document_store, json_output)


def _fail_nothing_to_index(paths: list[Path], skipped: list[Any]) -> None:
    """Exit saying why nothing was indexed: no file at all under ``paths``, or every file skipped (listed above)."""
    if not skipped:
        where = ", ".join(str(path) for path in paths)
        fail(f"no files found under {where} (hidden files and folders are left out)")
    fail("no documents to index: every input was skipped")


def _check_no_other_writer(document_store: Any, store: str) -> None:
    """A store that a running ``docqa serve`` writes takes no other writer: say so before converting and
    embedding, not at the save after them."""
    if isinstance(document_store, InMemoryDocumentStore) and Path(store).is_dir():
        check_writer(Path(store))


def _index_on_ray(
    paths: list[Path],
    document_store: Any,
    store: str,
    settings: dict[str, Any],
    embedding_model: str | None,
    embed: bool,
    actors: int,
    json_output: bool,
) -> None:
    """``docqa index --ray``: the same passages and embeddings as the local run, made by Ray actors."""
    from docqa.distributed import ray_index

    model = _embedding_model(document_store, embedding_model, store, embed)
    if model is not None:
        document_store.embedding_model = model
    document_store.split_settings = settings
    result = ray_index(paths, document_store, split_settings=settings, embedding_model=model, actors=actors)
    for skipped in result.skipped:
        warn(f"skipped {skipped.path}: {skipped.reason}")
    if result.passages == 0:
        _fail_nothing_to_index(paths, result.skipped)
    save_store(document_store, store)
    counts = {"files": result.files, "passages": result.passages, "new_passages": result.written}
    _report(counts, result.skipped, store, model, document_store, json_output)


def _report(
    counts: dict[str, int], skipped: list[Any], store: str, model: str | None, document_store: Any, json_output: bool
) -> None:
    """The summary of one ``docqa index`` run (local or on Ray), as JSON or as a table."""
    summary = {
        **counts,
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in skipped],
        "store": str(store),
        "embedding_model": model,
        "documents_in_store": document_store.count_documents(),
    }
    if json_output:
        print_json(summary)
    else:
        _print_summary(summary)


def _warn_if_split_differs(document_store: InMemoryDocumentStore, settings: dict[str, Any], store: str) -> None:
    recorded = document_store.split_settings
    if recorded is not None and recorded != settings:
        changed = ", ".join(f"{k} {recorded.get(k)} -> {v}" for k, v in settings.items() if recorded.get(k) != v)
        warn(
            f"the store {store} was split with other settings ({changed}): passages of both will overlap; "
            "pass --recreate to re-index from scratch"
        )


def _embedding_model(
    document_store: InMemoryDocumentStore, requested: str | None, store: str, embed: bool
) -> str | None:
    """The model to embed with (None: no embeddings): the one the store's vectors came from, also without
    --embed, since a passage without a vector is never found by dense search; mixing two models is refused."""
    recorded = document_store.embedding_model
    if requested is not None and recorded is not None and requested != recorded:
        fail(
            f"the store {store} holds embeddings of {recorded!r}: index with --embedding-model {recorded} "
            "or into a new store"
        )
    if not embed and recorded is None:
        if document_store.embedding_dim is not None:
            fail(f"the store {store} holds embeddings of an unrecorded model: index with --embed --embedding-model")
        return None
    return requested or recorded or DEFAULT_EMBEDDING_MODEL


def _embed(passages: list[Any], model: str, *, asked: bool, store: str) -> list[Any]:
    from docqa.embedders import SentenceTransformersDocumentEmbedder
    from docqa.errors import ModelLoadError

    embedder = SentenceTransformersDocumentEmbedder(model=model, progress_bar=show_progress())
    try:
        embedder.warm_up()
    except ModelLoadError as error:
        if asked:
            raise
        reason = error.naming("--embedding-model PATH")
        fail(f"the store {store} holds embeddings of {model!r}, which new passages need too, but: {reason}")
    documents: list[Any] = embedder.run(documents=passages)["documents"]
    return documents


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    passages, written = summary["passages"], summary["new_passages"]
    table.add_row("files indexed", str(summary["files"]))
    table.add_row("passages", f"{passages} ({written} new, {passages - written} already in the store)")
    table.add_row("files skipped", str(len(summary["skipped"])))
    if summary["embedding_model"] is not None:
        table.add_row("embedded with", summary["embedding_model"])
    table.add_row("store", summary["store"])
    console.print(table)
