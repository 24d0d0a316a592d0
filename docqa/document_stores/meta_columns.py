"""Metadata columns of a saved segment, so that a filter reads a column instead of parsing every document.

When a segment is written, every ``meta`` field path (``meta.a``, and ``meta.a.b`` inside a dict) is factorized:
``meta_<i>.npy`` holds each row's code (-1: the row lacks the field), ``meta_<i>_uniques.json`` the distinct
values, read on the first filter that needs them. ``meta_columns.json`` lists the paths; unless it says the list
is incomplete (more than :data:`MAX_COLUMNS` paths), a path it lacks is missing on every row. Filters on
``content`` or ``id``, and on paths beyond an incomplete list, read the documents (slow on a large segment).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from docqa.document_stores.durable import sync
from docqa.document_stores.filters import MISSING, FieldColumn, factor_key, read_field
from docqa.schema import Document

INDEX_FILE = "meta_columns.json"
MAX_COLUMNS = 64


def field_paths(meta: dict[str, Any], prefix: tuple[str, ...] = ("meta",)) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, value) a filter can reach in ``meta`` (keys with a dot cannot be named by a filter)."""
    for key, value in meta.items():
        name = str(key)
        if "." in name or not name:
            continue
        yield (*prefix, name), value
        if isinstance(value, dict):
            yield from field_paths(value, (*prefix, name))


class ColumnsBuilder:
    """Factorizes the metadata of a segment's rows as they are written."""

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.complete = True
        self._columns: dict[tuple[str, ...], tuple[np.ndarray, dict[Any, int], list[Any]]] = {}

    def add(self, row: int, meta: dict[str, Any]) -> None:
        for path, value in field_paths(meta):
            column = self._columns.get(path)
            if column is None:
                if len(self._columns) >= MAX_COLUMNS:
                    self.complete = False
                    continue
                column = self._columns[path] = (np.full(self.n_rows, -1, dtype=np.int32), {}, [])
            codes, index, uniques = column
            key = factor_key(value)
            code = index.get(key)
            if code is None:
                code = index[key] = len(uniques)
                uniques.append(value)
            codes[row] = code

    def write(self, folder: Path) -> None:
        """Write the columns and their index into ``folder`` (fsynced; the caller fsyncs the folder)."""
        paths = []
        for number, (path, (codes, _, uniques)) in enumerate(self._columns.items()):
            with open(folder / f"meta_{number}.npy", "wb") as handle:
                np.save(handle, codes, allow_pickle=False)
                sync(handle)
            with open(folder / f"meta_{number}_uniques.json", "wb") as handle:
                handle.write(json.dumps(uniques, ensure_ascii=False).encode("utf-8"))
                sync(handle)
            paths.append(list(path))
        with open(folder / INDEX_FILE, "wb") as handle:
            handle.write(json.dumps({"complete": self.complete, "paths": paths}).encode("utf-8"))
            sync(handle)


class DiskColumns:
    """The columns of a segment on disk (a :class:`~docqa.document_stores.filters.ColumnSource`)."""

    def __init__(self, folder: Path, n_rows: int, documents: Any) -> None:
        index = json.loads((folder / INDEX_FILE).read_text("utf-8"))
        if not isinstance(index, dict) or not isinstance(index.get("paths"), list):
            raise ValueError(f"{INDEX_FILE} is not a column index")
        self._folder, self._n_rows, self._documents = folder, n_rows, documents
        self._complete = bool(index.get("complete"))
        self._numbers = {tuple(path): number for number, path in enumerate(index["paths"])}
        self._codes = {path: self._load_codes(number) for path, number in self._numbers.items()}
        self._columns: dict[tuple[str, ...], FieldColumn] = {}

    def _load_codes(self, number: int) -> np.ndarray:
        codes = np.asarray(np.load(self._folder / f"meta_{number}.npy", mmap_mode="r", allow_pickle=False))
        if codes.shape != (self._n_rows,):
            raise ValueError(f"meta_{number}.npy has {codes.shape} rows, the segment {self._n_rows}")
        return codes

    def __len__(self) -> int:
        return self._n_rows

    def column(self, path: tuple[str, ...]) -> FieldColumn:
        column = self._columns.get(path)
        if column is None:
            column = self._columns[path] = self._read(path)
        return column

    def _read(self, path: tuple[str, ...]) -> FieldColumn:
        number = self._numbers.get(path)
        if number is not None:
            uniques = json.loads((self._folder / f"meta_{number}_uniques.json").read_text("utf-8"))
            return FieldColumn.from_codes(np.asarray(self._codes[path]), uniques)
        if path[0] == "meta" and self._complete:
            return FieldColumn.from_codes(np.full(self._n_rows, -1, dtype=np.int32), [])
        documents: list[Document | None] = self._documents.stored(range(self._n_rows))
        return FieldColumn([read_field(document, path) if document is not None else MISSING for document in documents])
