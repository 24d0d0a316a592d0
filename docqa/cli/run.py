"""``docqa run``: run a pipeline file with inputs from the command line and print its outputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.markup import escape

from docqa.cli._common import (
    allow_module_option,
    console,
    fail,
    handle_errors,
    pipeline_model_options,
    print_json,
)
from docqa.core.pipeline import Pipeline
from docqa.core.types import is_compatible
from docqa.errors import PipelineError
from docqa.schema import Answer, Document


def run(
    pipeline_file: Path = typer.Argument(..., help="Pipeline YAML file, e.g. examples/bm25_qa.yaml."),
    input: list[str] = typer.Option(
        [],
        "--input",
        "-i",
        help="name=value for every component with that input, or component.name=value for one; repeatable. "
        "Values of non-text inputs are read as YAML/JSON (top_k=3, filters='{...}').",
    ),
    include: list[str] = typer.Option(
        [], "--include", help="Also print every output of this component (e.g. the retriever's documents)."
    ),
    set_: list[str] = typer.Option(
        [],
        "--set",
        help="component.parameter=value: replace an init parameter of the file, e.g. reader.model=/models/x.",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="The reader's model (every ExtractiveReader of the file): hub id or local directory. Other "
        "components' models: --set NAME.model=PATH.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print all outputs as JSON."),
    draw: bool = typer.Option(
        False,
        "--draw",
        help="Print the pipeline as a Mermaid flowchart instead of running it (opens no store, loads no model).",
    ),
    allow_module: list[str] = allow_module_option(),
) -> None:
    """Run a pipeline file: answers are shown ranked, documents as a table, anything else as JSON."""
    model_options: dict[str, str] = {}  # filled in once the pipeline names its models
    with handle_errors(model_options):
        overrides = parse_overrides(set_)
        if draw:
            drawn = Pipeline.load(pipeline_file, allowed_modules=allow_module, overrides=overrides, open_stores=False)
            sys.stdout.write(drawn.to_mermaid())
            return
        if model is not None:
            overrides = _with_reader_model(pipeline_file, allow_module, overrides, model)
        pipeline = Pipeline.load(pipeline_file, allowed_modules=allow_module, overrides=overrides)
        model_options.update(pipeline_model_options(pipeline))
        data = parse_inputs(pipeline, input)
        result = pipeline.run(data, include_outputs_from=set(include))
    if json_output:
        print_json(result)
        return
    for component, outputs in result.items():
        for name, value in outputs.items():
            console.print(f"[bold cyan]{escape(component)}.{escape(name)}[/]")
            print_value(value)


def parse_inputs(pipeline: Pipeline, items: list[str]) -> dict[str, Any]:
    """``["query=Who?", "reader.top_k=3"]`` -> ``{"query": "Who?", "reader": {"top_k": 3}}``.

    A value stays text when every input it goes to accepts ``str``; otherwise it is parsed as YAML.
    """
    free = pipeline.inputs()
    data: dict[str, Any] = {}
    for item in items:
        name, equals, raw = item.partition("=")
        if not equals or not name:
            raise PipelineError(f"--input {item!r} must look like name=value or component.name=value")
        component, dot, socket = name.rpartition(".")
        if dot:
            pipeline.get_component(component)
            targets = [s for c, sockets in free.items() for n, s in sockets.items() if c == component and n == socket]
        else:
            targets = [s for sockets in free.values() for n, s in sockets.items() if n == name]
        value = raw if targets and all(is_compatible(str, s.type) for s in targets) else _parse(name, raw)
        if dot:
            data.setdefault(component, {})[socket] = value
        else:
            data[name] = value
    return data


def _with_reader_model(
    pipeline_file: Path, allow_module: list[str], overrides: dict[str, dict[str, Any]], model: str
) -> dict[str, dict[str, Any]]:
    """``overrides`` setting ``model`` on every ExtractiveReader of the file (found without opening its stores)."""
    from docqa.readers.extractive_reader import ExtractiveReader

    drawn = Pipeline.load(pipeline_file, allowed_modules=allow_module, overrides=overrides, open_stores=False)
    readers = [name for name, component in drawn.components.items() if isinstance(component, ExtractiveReader)]
    if not readers:
        raise PipelineError(f"--model sets the reader's model, and {pipeline_file} has no ExtractiveReader")
    return {**overrides, **{name: {**overrides.get(name, {}), "model": model} for name in readers}}


def parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["reader.model=/m", "reader.top_k=3"]`` -> ``{"reader": {"model": "/m", "top_k": 3}}``."""
    overrides: dict[str, dict[str, Any]] = {}
    for item in items:
        name, equals, raw = item.partition("=")
        component, dot, parameter = name.partition(".")
        if not (equals and dot and component and parameter):
            raise PipelineError(f"--set {item!r} must look like component.parameter=value")
        overrides.setdefault(component, {})[parameter] = _parse(name, raw)
    return overrides


def _parse(name: str, raw: str) -> Any:
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise PipelineError(f"--input {name}: cannot read {raw!r} as a value: {error}") from None


def print_value(value: Any) -> None:
    """Answers as ranked panels (as ``docqa ask`` shows them), documents as a table, the rest as JSON."""
    if isinstance(value, list) and value and all(isinstance(v, Answer) for v in value):
        from docqa.cli._display import print_answers

        print_answers(value[0].query, value)
    elif isinstance(value, list) and value and all(isinstance(v, Document) for v in value):
        from docqa.cli.search import print_documents

        print_documents(value)
    else:
        print_json(value)


def run_indexing_pipeline(pipeline_file: Path, paths: list[Path], allow_module: list[str], json_output: bool) -> None:
    """``docqa index PATHS --pipeline FILE``: feed the paths to the pipeline's ``sources`` input, run it once.

    The pipeline's stores are opened as its file says (an indexing file says ``create: true``); a
    :class:`~docqa.writers.DocumentWriter` saves a store that has a path.
    """
    with handle_errors():
        pipeline = Pipeline.load(pipeline_file, allowed_modules=allow_module)
        takers = [name for name, sockets in pipeline.inputs().items() if "sources" in sockets]
        if not takers:
            fail(f"{pipeline_file}: the pipeline has no unconnected 'sources' input (start it with a converter)")
        result = pipeline.run({"sources": [str(path) for path in paths]})
    written = sum(value for outputs in result.values() for key, value in outputs.items() if key == "documents_written")
    if json_output:
        print_json({"pipeline": str(pipeline_file), "documents_written": written, "outputs": result})
        return
    console.print(f"documents written  {written}")
    for name, store in pipeline.document_stores.items():
        console.print(f"store {escape(name)}  {escape(str(getattr(store, 'path', None) or '(in memory)'))}")
