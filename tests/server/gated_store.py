"""An in-memory store whose saves wait for a gate file: lets a test hold a server checkpoint half-way, as a long
save of a large store would (loaded by the server with ``--allow-module gated_store``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from docqa.document_stores.in_memory import InMemoryDocumentStore


class GatedDocumentStore(InMemoryDocumentStore):
    def __init__(self, path: str, save_gate: str, saving_marker: str) -> None:
        super().__init__(path=path)
        self.save_gate = save_gate
        self.saving_marker = saving_marker

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        Path(self.saving_marker).touch()
        while not Path(self.save_gate).exists():
            time.sleep(0.02)
        return super().save(path)
