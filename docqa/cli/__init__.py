"""The ``docqa`` command line: index files, search them, ask questions, evaluate, run pipelines."""

from __future__ import annotations

import typer

from docqa.cli._common import global_options
from docqa.cli.ask import ask
from docqa.cli.batch import batch
from docqa.cli.compact import compact
from docqa.cli.eval import eval_app
from docqa.cli.fill_mask import fill_mask
from docqa.cli.index import index
from docqa.cli.run import run
from docqa.cli.search import search
from docqa.cli.serve import serve
from docqa.cli.train import train

app = typer.Typer(
    name="docqa",
    help="Extractive question answering over your documents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.callback()(global_options)
app.command()(index)
app.command()(search)
app.command()(serve)
app.command()(ask)
app.command()(run)
app.command()(batch)
app.command()(compact)
app.command(name="fill-mask")(fill_mask)
app.command()(train)
app.add_typer(eval_app, name="eval")


def main() -> None:
    app()
