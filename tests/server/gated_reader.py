"""Models whose loading and calls wait for gate files: tests hold the server in "loading" or keep a model call
running, deterministically (loaded by the server with ``--allow-module gated_reader``).

Each can also leave marker files: ``warmed`` once loaded, ``entered`` when a model call starts (and waits at its
gate), so that a test knows which stage a request has reached. Their ``run_batch`` pass every argument through,
under the base method's signature (``functools.wraps``: the pipeline reads it), so they follow it as it changes.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import numpy as np

from docqa.embedders import SentenceTransformersTextEmbedder
from docqa.rankers import CrossEncoderRanker
from docqa.readers.extractive_reader import ExtractiveReader
from docqa.schema import Answer, Document


def wait_for(gate: str | None) -> None:
    while gate is not None and not Path(gate).exists():
        time.sleep(0.02)


def mark(marker: str | None) -> None:
    if marker is not None:
        Path(marker).touch()


class GatedReader(ExtractiveReader):
    def __init__(self, model: str, load_gate: str | None = None, read_gate: str | None = None,
                 warmed: str | None = None, entered: str | None = None) -> None:  # fmt: skip
        super().__init__(model=model)
        self.load_gate, self.read_gate, self.warmed, self.entered = load_gate, read_gate, warmed, entered

    def warm_up(self) -> None:
        wait_for(self.load_gate)
        super().warm_up()
        mark(self.warmed)

    @functools.wraps(ExtractiveReader.run_batch)
    def run_batch(self, *args: Any, **kwargs: Any) -> dict[str, list[list[Answer]]]:
        mark(self.entered)
        wait_for(self.read_gate)
        return super().run_batch(*args, **kwargs)


class GatedTextEmbedder(SentenceTransformersTextEmbedder):
    def __init__(self, model: str, gate: str | None = None, warmed: str | None = None,
                 entered: str | None = None) -> None:  # fmt: skip
        super().__init__(model=model)
        self.gate, self.warmed, self.entered = gate, warmed, entered

    def warm_up(self) -> None:
        super().warm_up()
        mark(self.warmed)

    def run_batch(self, text: list[str]) -> dict[str, list[np.ndarray]]:
        mark(self.entered)
        wait_for(self.gate)
        return super().run_batch(text)


class GatedRanker(CrossEncoderRanker):
    def __init__(self, model: str, top_k: int = 10, gate: str | None = None, warmed: str | None = None,
                 entered: str | None = None) -> None:  # fmt: skip
        super().__init__(model=model, top_k=top_k)
        self.gate, self.warmed, self.entered = gate, warmed, entered

    def warm_up(self) -> None:
        super().warm_up()
        mark(self.warmed)

    @functools.wraps(CrossEncoderRanker.run_batch)
    def run_batch(self, *args: Any, **kwargs: Any) -> dict[str, list[list[Document]]]:
        mark(self.entered)
        wait_for(self.gate)
        return super().run_batch(*args, **kwargs)
