"""A reader whose loading and reading wait for gate files: lets tests hold the server in "loading" or keep a
model call running, deterministically (loaded by the server with ``--allow-module gated_reader``)."""

from __future__ import annotations

import time
from pathlib import Path

from docqa.readers.extractive_reader import ExtractiveReader
from docqa.schema import Answer, Document


def wait_for(gate: str | None) -> None:
    while gate is not None and not Path(gate).exists():
        time.sleep(0.02)


class GatedReader(ExtractiveReader):
    def __init__(self, model: str, load_gate: str | None = None, read_gate: str | None = None) -> None:
        super().__init__(model=model)
        self.load_gate = load_gate
        self.read_gate = read_gate

    def warm_up(self) -> None:
        wait_for(self.load_gate)
        super().warm_up()

    def run_batch(
        self,
        query: list[str],
        documents: list[list[Document]],
        top_k: int | None = None,
        no_answer_threshold: float | None = None,
    ) -> dict[str, list[list[Answer]]]:
        wait_for(self.read_gate)
        return super().run_batch(query, documents, top_k, no_answer_threshold)
