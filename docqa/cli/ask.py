"""``docqa ask``: retrieve passages (BM25 over a store, or any pipeline file) and extract answers with the reader."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel

from docqa.cli._common import (
    DTYPE_HELP,
    STORE_HELP,
    console,
    fail,
    handle_errors,
    open_store,
    parse_filters,
    print_json,
    warn,
)
from docqa.errors import ModelLoadError
from docqa.readers.extractive_reader import DEFAULT_READER_MODEL
from docqa.schema import Answer, Document


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
    from docqa.core.pipeline import Pipeline
    from docqa.pipelines import ExtractiveQAPipeline

    if context is not None:
        from docqa.cli._context import answer_in_context, read_context

        if store is not None or pipeline is not None:
            fail("give one of --context, --store DIR and --pipeline FILE.yaml")
        if question == "-" and context == "-":
            fail("only one of the question and --context can be read from stdin (-)")
        question, document = read_question(question), read_context(context)
        with handle_errors():
            answer_in_context(question, document, model, top_k, {"backend": backend, "dtype": dtype}, json_output)
        return
    if (store is None) == (pipeline is None):
        fail("give either --store DIR or --pipeline FILE.yaml (or --context TEXT|FILE)")
    question = read_question(question)
    with handle_errors():
        backend_option = {name: value for name, value in (("backend", backend), ("dtype", dtype)) if value is not None}
        if pipeline is not None:
            reader_options = {**({"model": model} if model is not None else {}), **backend_option}
            overrides = {"reader": reader_options} if reader_options else None
            qa = ExtractiveQAPipeline.from_pipeline(Pipeline.load(pipeline, overrides=overrides))
        else:
            assert store is not None  # exactly one of --store and --pipeline, checked above
            qa = ExtractiveQAPipeline.bm25(
                open_store(store), model=model or DEFAULT_READER_MODEL, reader_parameters=backend_option
            )
        options: dict[str, Any] = {"top_k_retriever": retriever_top_k, "filters": parse_filters(filters)}
        reader = qa.pipeline.get_component(qa.reader)
        try:
            reader.warm_up()
        except ModelLoadError as error:
            if getattr(reader, "model", None) != DEFAULT_READER_MODEL:
                raise  # a model the user chose and that cannot be loaded is theirs to fix: an error
            _show_passages_instead(str(error), qa.retrieve(question, **options), json_output)
            return
        # one more than asked: when the no-answer ranks among the top_k, top_k spans are still shown
        answers = spans_and_no_answer(qa.run(question, top_k_reader=top_k + 1, **options)["answers"], top_k)
    if json_output:
        print_json({"question": question, "answers": [answer.to_dict() for answer in answers]})
    else:
        print_answers(question, answers)


def read_question(question: str) -> str:
    """The question itself, or the text on stdin when it is ``-``."""
    if question != "-":
        return question
    text = sys.stdin.read().strip()
    if not text:
        fail("no question on stdin (the question argument is -)")
    return text


def spans_and_no_answer(answers: list[Answer], top_k: int) -> list[Answer]:
    """The ``top_k`` best spans and the no-answer entry, in the reader's order."""
    spans = [answer for answer in answers if not answer.is_no_answer][:top_k]
    return [answer for answer in answers if answer.is_no_answer or any(answer is span for span in spans)]


def _show_passages_instead(message: str, documents: list[Document], json_output: bool) -> None:
    from docqa.cli.search import print_documents

    warn(f"{message}; showing the retrieved passages instead")
    if json_output:
        print_json({"answers": None, "error": message, "documents": [d.to_dict() for d in documents]})
    else:
        print_documents(documents)


def print_answers(question: str, answers: list[Answer], context_chars: int = 160) -> None:
    """One panel per answer, numbered: the text, its probability and raw score, where it comes from, and the
    answer highlighted in its surrounding text; the no-answer entry, unnumbered, where the reader ranks it."""
    console.print(f"[bold]Q:[/] {escape(question)}")
    rank = 0
    for answer in answers:
        numbers = f"probability {answer.probability:.3f} · score {answer.score:.2f}"
        if answer.is_no_answer:
            margin = answer.meta.get("no_answer_margin")
            detail = f" · best span - null = {margin:.2f}" if margin is not None else ""
            verdict = "no answer: the reader's choice" if answer is answers[0] else "no answer"
            console.print(Panel(f"[dim]{numbers}{detail}[/]", title=verdict, title_align="left"))
            continue
        rank += 1
        body = f"{_highlighted_context(answer, context_chars)}\n[dim]{numbers} · {escape(_source(answer))}[/]"
        console.print(Panel(body, title=f"{rank}. {escape(_squashed(answer.text or ''))}", title_align="left"))


def _highlighted_context(answer: Answer, context_chars: int) -> str:
    assert answer.document is not None and answer.document_span is not None
    content = answer.document.content
    start, end = answer.document_span.start, answer.document_span.end
    left = _squashed(content[max(0, start - context_chars) : start])
    right = _squashed(content[end : end + context_chars])
    prefix = "…" if start > context_chars else ""
    suffix = "…" if end + context_chars < len(content) else ""
    answer_text = escape(_squashed(content[start:end]))
    return f"{prefix}{escape(left)}[bold black on yellow]{answer_text}[/]{escape(right)}{suffix}"


def _squashed(text: str) -> str:
    """Runs of whitespace (newlines included) as one space, keeping whether the text starts/ends with one."""
    words = " ".join(text.split())
    if not words:
        return " " if text else ""
    return (" " if text[0].isspace() else "") + words + (" " if text[-1].isspace() else "")


def _source(answer: Answer) -> str:
    assert answer.document is not None and answer.span is not None
    meta = answer.document.meta
    name = meta.get("file_name") or meta.get("title") or answer.document.source_id[:12]
    return f"{name}, chars {answer.span.start}-{answer.span.end}"
