"""``docqa ask``: retrieve passages (BM25 over a store, or any pipeline file) and extract answers with the reader."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from docqa.cli._common import (
    DTYPE_HELP,
    STORE_HELP,
    fail,
    handle_errors,
    model_error,
    open_store,
    parse_filters,
    pipeline_model_options,
    print_json,
    warn,
)
from docqa.cli._display import show_answers
from docqa.errors import ModelLoadError
from docqa.readers.extractive_reader import DEFAULT_READER_MODEL
from docqa.schema import Document


def ask(
    question: Annotated[str, typer.Argument(help="The question to answer; - reads it from stdin.")],
    store: Annotated[str | None, typer.Option("--store", "-s", help=STORE_HELP)] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Question-answering model: hub id or local directory (overrides a pipeline's).",
            show_default=DEFAULT_READER_MODEL,
        ),
    ] = None,
    top_k: Annotated[
        int, typer.Option("--top-k", "-k", min=1, help="How many answers to show (plus the no-answer line).")
    ] = 3,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            help="text: one answer per answer text, listing every place (the default); span: one answer per place "
            "in a file (default with --pipeline: the file's).",
        ),
    ] = None,
    retriever_weight: Annotated[
        float | None,
        typer.Option(
            "--retriever-weight",
            min=0.0,
            help="Fuse the retriever's scores into the answers' (answer score + W x (passage score - best)); "
            "default: 0.5 with --store (BM25), the reader's with --pipeline; 0: off.",
        ),
    ] = None,
    retriever_top_k: Annotated[
        int | None,
        typer.Option("--retriever-top-k", min=1, help="How many passages to read (default 10, or the pipeline's)."),
    ] = None,
    filters: Annotated[
        str | None,
        typer.Option(help='Metadata filter as JSON, e.g. \'{"field": "meta.year", "operator": ">=", "value": 2020}\''),
    ] = None,
    pipeline: Annotated[
        Path | None,
        typer.Option("--pipeline", "-p", help="Pipeline YAML (e.g. examples/bm25_qa.yaml) instead of --store."),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option("--backend", help="Reader backend: torch (default) or onnx (fp32 ONNX Runtime on CPU)."),
    ] = None,
    dtype: Annotated[
        str | None, typer.Option("--dtype", help=DTYPE_HELP + " Default: auto, or the pipeline's.")
    ] = None,
    context: Annotated[
        str | None,
        typer.Option(
            "--context",
            "-c",
            help="Read the answer in this text (or the file it names; - reads stdin): no store needed.",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of formatted answers.")] = False,
) -> None:
    """Answer a question: retrieve passages (BM25 over --store, or a --pipeline file) and extract answers.

    If the default model cannot be loaded (e.g. offline), says so in one line (on stderr) and shows the
    retrieved passages instead; the exit code is then 0, since retrieval did its part. A model given with
    --model (or named by the pipeline) that cannot be loaded is an error.
    """
    question = read_question(question) if context is None or question != "-" else question
    _check_group_by(group_by)
    reader_options = _reader_options(model, backend, dtype, retriever_weight)
    if context is not None:
        from docqa.cli._context import answer_in_context, read_context

        if store is not None or pipeline is not None:
            fail("give one of --context, --store DIR and --pipeline FILE.yaml")
        if question == "-" and context == "-":
            fail("only one of the question and --context can be read from stdin (-)")
        question, document = read_question(question), read_context(context)
        with handle_errors():
            answer_in_context(question, document, {**reader_options, "group_by": group_by}, top_k, json_output)
        return
    if (store is None) == (pipeline is None):
        fail("give either --store DIR or --pipeline FILE.yaml (or --context TEXT|FILE)")
    model_options: dict[str, str] = {}  # filled in once the pipeline names its models
    with handle_errors(model_options):
        qa = _qa_pipeline(store, pipeline, reader_options)
        model_options.update(pipeline_model_options(qa.pipeline))
        options: dict[str, Any] = {"top_k_retriever": retriever_top_k, "filters": parse_filters(filters)}
        reader = qa.pipeline.get_component(qa.reader)
        try:
            reader.warm_up()
        except ModelLoadError as error:
            if getattr(reader, "model", None) != DEFAULT_READER_MODEL:
                raise  # a model the user chose and that cannot be loaded is theirs to fix: an error
            _show_passages_instead(model_error(error, model_options), qa.retrieve(question, **options), json_output)
            return
        answers = qa.run(question, top_k_reader=top_k, group_by=group_by, **options)["answers"]
    show_answers(question, answers, json_output)


def _check_group_by(group_by: str | None) -> None:
    from docqa.readers.answer_ranking import GROUP_BY

    if group_by is not None and group_by not in GROUP_BY:
        fail(f"--group-by must be one of {', '.join(GROUP_BY)}, got {group_by!r}")


def _reader_options(
    model: str | None, backend: str | None, dtype: str | None, retriever_weight: float | None
) -> dict[str, Any]:
    """The reader's init parameters the options set (those given)."""
    given = {"model": model, "backend": backend, "dtype": dtype, "retriever_weight": retriever_weight}
    return {name: value for name, value in given.items() if value is not None}


def _qa_pipeline(store: str | None, pipeline: Path | None, reader_options: dict[str, Any]) -> Any:
    """The BM25 + reader pipeline over ``store``, or the pipeline file with ``reader_options`` applied."""
    from docqa.core.pipeline import Pipeline
    from docqa.pipelines import ExtractiveQAPipeline

    if pipeline is not None:
        overrides = {"reader": reader_options} if reader_options else None
        return ExtractiveQAPipeline.from_pipeline(Pipeline.load(pipeline, overrides=overrides))
    assert store is not None  # exactly one of --store and --pipeline, checked by the caller
    parameters = {name: value for name, value in reader_options.items() if name != "model"}
    model = reader_options.get("model", DEFAULT_READER_MODEL)
    return ExtractiveQAPipeline.bm25(open_store(store), model=model, reader_parameters=parameters)


def read_question(question: str) -> str:
    """The question itself, or the text on stdin when it is ``-``; an empty one exits at once, before anything
    is loaded."""
    if question != "-":
        if not question.strip():
            fail("the question must be a non-empty string")
        return question
    text = sys.stdin.read().strip()
    if not text:
        fail("no question on stdin (the question argument is -)")
    return text


def _show_passages_instead(message: str, documents: list[Document], json_output: bool) -> None:
    from docqa.cli.search import print_documents

    warn(f"{message}; showing the retrieved passages instead")
    if json_output:
        print_json({"answers": None, "error": message, "documents": [d.to_dict() for d in documents]})
    else:
        print_documents(documents)
