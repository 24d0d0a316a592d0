"""Shared pieces of the CLI commands: output consoles, one-line errors, store loading."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from docqa.errors import DocqaError, FilterError, ModelLoadError

if TYPE_CHECKING:
    from docqa.document_stores.in_memory import InMemoryDocumentStore

console = Console(highlight=False)
error_console = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as one red line on stderr and exit with ``code``; no traceback."""
    error_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    error_console.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)


def show_progress() -> bool:
    """Progress bars only when a person watches stderr, never in logs or pipes."""
    return sys.stderr.isatty()


def _print_version(value: bool) -> None:
    if value:
        from docqa import __version__

        typer.echo(f"docqa {__version__}")
        raise typer.Exit()


def global_options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print docqa's version and exit."
    ),
) -> None:
    """Extractive question answering over your documents."""


def allow_module_option() -> Any:
    """The ``--allow-module NAME`` option (repeatable) of every command that loads a pipeline file.

    Use as a parameter default: ``allow_module: list[str] = allow_module_option()``; pass the list on as
    ``allowed_modules`` to ``Pipeline.load``.
    """
    return typer.Option(
        [],
        "--allow-module",
        metavar="MODULE",
        help="Let the pipeline file name classes of this module by dotted path (my_pkg.components.MyRanker); "
        "repeatable. Only modules you trust: loading imports them.",
    )


@contextmanager
def handle_errors(model_options: Mapping[str, str] | None = None) -> Iterator[None]:
    """Turn docqa's and the OS's errors into a one-line message and exit code 1, and Python warnings raised
    meanwhile into one ``warning:`` line each (no source line).

    ``model_options`` maps the models the command loads to how its options take a local copy (``{"/m":
    "--base PATH"}``; read when the error happens, so a command may fill it in as it learns its models): a model
    that cannot be loaded is then reported with the command's own option."""
    try:
        with warnings.catch_warnings():  # restores warnings.showwarning on exit
            warnings.showwarning = _warning_line
            yield
    except ModelLoadError as error:
        fail(model_error(error, model_options or {}))
    except DocqaError as error:
        fail(str(error))
    except OSError as error:
        where = f" ({error.filename})" if getattr(error, "filename", None) else ""
        fail(f"{error.strerror or error}{where}")
    except KeyboardInterrupt:
        fail("interrupted", code=130)


def model_error(error: ModelLoadError, model_options: Mapping[str, str]) -> str:
    """``error``'s message, naming the option that takes its model when ``model_options`` knows it."""
    how = model_options.get(error.model) if error.model is not None else None
    return error.naming(how) if how is not None else str(error)


def pipeline_model_options(pipeline: Any) -> dict[str, str]:
    """How ``docqa run`` / ``ask --pipeline`` take a local copy of each model a pipeline names: ``--model PATH``
    for an ExtractiveReader's, ``--set NAME.model=PATH`` for any other component's."""
    options: dict[str, str] = {}
    for name, component in pipeline.components.items():
        model = getattr(component, "model", None)
        if isinstance(model, str):
            is_reader = type(component).__name__ == "ExtractiveReader"
            options.setdefault(model, "--model PATH" if is_reader else f"--set {name}.model=PATH")
    return options


def _warning_line(message: Warning | str, *_: Any, **__: Any) -> None:
    warn(" ".join(str(message).split()))


def load_store(path: Path) -> InMemoryDocumentStore:
    """Load a saved store, or exit with one line saying why it can't be (a warning, e.g. that the store is of an
    older format, is one ``warning:`` line)."""
    from docqa.document_stores.in_memory import InMemoryDocumentStore

    if not path.exists():
        fail(f"no document store at {path}: create one with `docqa index PATH... --store {path}`")
    with handle_errors():
        return InMemoryDocumentStore.load(path)
    raise AssertionError("unreachable")  # handle_errors exits on an error


DTYPE_HELP = (
    "Model precision: auto (bfloat16 on a GPU that runs it natively, else float32), float32, bfloat16 or float16; "
    "a precision the device cannot run natively is an error."
)


def check_dtype_option(dtype: str | None) -> None:
    """Fail in one line when ``--dtype`` names no precision (for commands that load their models later)."""
    from docqa.hub import DTYPES

    if dtype is not None and dtype not in DTYPES:
        fail(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")


STORE_HELP = "Store directory, or a PostgreSQL DSN (postgresql://... or env:VARIABLE, e.g. env:DOCQA_PG_DSN)."


def open_store(spec: str | Path, *, create: bool = False, recreate: bool = False) -> Any:
    """The store a ``--store`` value names: a PostgreSQL DSN (``postgresql://...``, ``env:VAR``) or a directory.

    ``create``: a directory that does not exist yet gives an empty in-memory store (save it with
    :func:`save_store`); ``recreate``: start afresh (an empty store; a PostgreSQL table is emptied). Exits with
    one line when the store cannot be opened.
    """
    from docqa.document_stores.postgres import is_postgres_spec

    text = str(spec)
    if is_postgres_spec(text):
        return _open_postgres(text, recreate)
    from docqa.document_stores.in_memory import InMemoryDocumentStore

    path = Path(text)
    if recreate or (create and not path.exists()):
        return InMemoryDocumentStore()
    return load_store(path)


def _open_postgres(dsn: str, recreate: bool) -> Any:
    from docqa.document_stores.opening import open_document_store

    try:
        store: Any = open_document_store(dsn)  # a PostgresDocumentStore: the spec is a DSN
        if recreate:
            store.clear()
    except DocqaError as error:
        fail(str(error))
    return store


def save_store(store: Any, spec: str | Path) -> None:
    """Persist ``store`` where ``spec`` says: an in-memory store is saved there; others write through already."""
    from docqa.document_stores.in_memory import InMemoryDocumentStore

    if isinstance(store, InMemoryDocumentStore):
        store.save(Path(spec))


def parse_filters(text: str | None) -> dict[str, Any] | None:
    """Parse a ``--filters`` JSON object; the store validates its structure."""
    if text is None:
        return None
    try:
        filters = json.loads(text)
    except json.JSONDecodeError as error:
        raise FilterError(f"--filters is not valid JSON: {error.msg} at column {error.colno}") from None
    if not isinstance(filters, dict):
        raise FilterError(
            '--filters must be a JSON object such as \'{"field": "meta.year", "operator": ">=", "value": 2020}\''
        )
    return filters


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON on stdout, unstyled, so it can be piped."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    from docqa.schema import Answer

    if isinstance(value, Answer):
        from docqa.answers import answer_json

        return answer_json(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__} to JSON")
