"""A saved store on disk: the manifest, its segments and deletions, atomic saves, and stores of older docqa.

Layout of a store directory (format 2)::

    manifest.json          which snapshot is current: its data folder, its segments, the store's settings
    seg-<uuid>/            a segment, written once (see docqa.document_stores.segment_files), shared by snapshots
    data-<uuid>/           the snapshot's own files: the deleted rows of each segment (deleted-<segment>.npy)
    wal-data-<uuid>.jsonl  the write-ahead log of that snapshot (see docqa.document_stores.wal)
    writer.lock            held by the process serving the store, if any

A save writes the in-memory segments as one new segment, merges runs of segments when worth it (the size-tiered
policy of :mod:`docqa.document_stores.state`, or a segment with more than half of its rows deleted), writes the
new deletions into a fresh data folder, fsyncs all of it, and only then replaces ``manifest.json`` atomically.
A crash at any moment leaves the previous snapshot whole; folders that no manifest names any more (the previous
snapshot's, or a killed save's) are removed by the next save. Opening maps the files of the segments the
manifest names and reads nothing else: O(1) in the size of the store.

Format 1 (docqa before segments: one ``data-*`` folder holding ``documents.jsonl``, ``vocab.json`` and the BM25
arrays) is read whole into one in-memory segment, with a warning; any save writes format 2.
"""

from __future__ import annotations

import json
import shutil
import uuid
import warnings
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from docqa.document_stores.durable import fsync_directory, sync, write_atomically
from docqa.document_stores.filters import DocumentColumns
from docqa.document_stores.postings import from_csr
from docqa.document_stores.segment import DiskDocuments, MemoryDocuments, Segment
from docqa.document_stores.segment_files import (
    SEGMENT_PREFIX,
    NewTerms,
    Source,
    merge_in_memory,
    open_segment,
    write_segment,
)
from docqa.document_stores.state import StoreState, tail_merge_start
from docqa.document_stores.string_table import StringTable, map_file
from docqa.document_stores.wal import WAL_PREFIX
from docqa.errors import DocqaError, DocumentStoreError

FORMAT = "docqa.InMemoryDocumentStore"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
DATA_PREFIX = "data-"
_REWRITE_DEAD = 0.5  # a save rewrites a saved segment once more than this fraction of its rows are deleted


@dataclass(frozen=True)
class Settings:
    """What a manifest records besides the data: the analyzer and the store's attributes."""

    analyzer: dict[str, Any]
    embedding_model: str | None
    split_settings: dict[str, Any] | None


@dataclass(frozen=True)
class Opened:
    state: StoreState
    settings: Settings
    snapshot: str


# ----------------------------------------------------------------------------------------------------- opening
def open_saved(directory: Path) -> Opened:
    """Open the store saved in ``directory`` (call under its shared lock): segments mapped, deletions applied."""
    manifest = read_manifest(directory)
    settings = Settings(manifest["analyzer"], manifest.get("embedding_model"), manifest.get("split_settings"))
    if manifest["format_version"] == 1:
        return Opened(_read_format_1(directory, manifest), settings, manifest["data_dir"])
    data = directory / manifest["data_dir"]
    _check_files(directory, data, manifest["files"])
    segments, live = [], []
    for entry in manifest["segments"]:
        folder = directory / entry["name"]
        _check_files(directory, folder, entry["files"])
        segment = open_segment(folder, entry, f"document store '{directory}': {entry['name']}")
        segments.append(segment)
        live.append(_live_rows(directory, data, entry, segment.n_rows))
    state = StoreState.of(segments, live)
    if state.n_live != manifest["num_documents"]:
        raise DocumentStoreError(
            f"cannot load document store '{directory}': the segments hold {state.n_live} live documents, "
            f"{MANIFEST} says {manifest['num_documents']}"
        )
    return Opened(state, settings, manifest["data_dir"])


def _check_files(directory: Path, folder: Path, files: dict[str, int]) -> None:
    for name, size in files.items():
        file = folder / name
        if not file.is_file():
            raise DocumentStoreError(f"cannot load document store '{directory}': {folder.name}/{name} is missing")
        if file.stat().st_size != size:
            raise DocumentStoreError(
                f"cannot load document store '{directory}': {folder.name}/{name} is corrupt "
                f"(size does not match the manifest: {file.stat().st_size} bytes, expected {size})"
            )


def _live_rows(directory: Path, data: Path, entry: dict[str, Any], n_rows: int) -> np.ndarray:
    live = np.ones(n_rows, dtype=bool)
    if entry.get("deleted") is None:
        return live
    name = f"{data.name}/{entry['deleted']}"
    deleted = loading(directory, name, lambda: np.load(data / entry["deleted"], allow_pickle=False))
    if deleted.ndim != 1 or (len(deleted) and (deleted.min() < 0 or deleted.max() >= n_rows)):
        raise DocumentStoreError(f"cannot load document store '{directory}': {name} is corrupt (rows out of range)")
    live[deleted] = False
    return live


def read_manifest(directory: Path) -> dict[str, Any]:
    """The validated manifest of ``directory`` (format 1 or 2); DocumentStoreError naming what is wrong."""
    manifest = loading(directory, MANIFEST, lambda: json.loads((directory / MANIFEST).read_text("utf-8")))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DocumentStoreError(f"cannot load document store '{directory}': {MANIFEST} is not a docqa store manifest")
    version = manifest.get("format_version")
    if version not in (1, FORMAT_VERSION):
        raise DocumentStoreError(
            f"cannot load document store '{directory}': {MANIFEST} has format_version {version!r}, "
            f"this docqa reads 1 and {FORMAT_VERSION}"
        )
    if not _valid_manifest(manifest):
        raise DocumentStoreError(
            f"cannot load document store '{directory}': {MANIFEST} is missing or has invalid fields"
        )
    return manifest


def _valid_manifest(manifest: dict[str, Any]) -> bool:
    data_dir = manifest.get("data_dir")
    valid = (
        _plain_name(data_dir, DATA_PREFIX)
        and isinstance(manifest.get("files"), dict)
        and isinstance(manifest.get("num_documents"), int)
        and isinstance(manifest.get("analyzer"), dict)
        and (manifest.get("embedding_dim") is None or isinstance(manifest.get("embedding_dim"), int))
        and (manifest.get("embedding_model") is None or isinstance(manifest.get("embedding_model"), str))
        and (manifest.get("split_settings") is None or isinstance(manifest.get("split_settings"), dict))
    )
    if manifest.get("format_version") == 1 or not valid:
        return valid
    segments = manifest.get("segments")
    return isinstance(segments, list) and all(_valid_entry(entry) for entry in segments)


def _valid_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and _plain_name(entry.get("name"), SEGMENT_PREFIX)
        and all(isinstance(entry.get(key), int) for key in ("rows", "term_base", "vocabulary"))
        and isinstance(entry.get("files"), dict)
        and (entry.get("deleted") is None or _plain_name(entry.get("deleted"), "deleted-"))
        and (entry.get("embedding_dim") is None or isinstance(entry.get("embedding_dim"), int))
    )


def _plain_name(name: Any, prefix: str) -> bool:
    return isinstance(name, str) and name.startswith(prefix) and "/" not in name and "\\" not in name


def loading(directory: Path, name: str, read: Any) -> Any:
    """Run ``read()``, turning any failure into a DocumentStoreError naming the store and the file."""
    try:
        return read()
    except DocumentStoreError:
        raise
    except (OSError, ValueError, TypeError, KeyError, DocqaError) as error:
        raise DocumentStoreError(f"cannot load document store '{directory}': {name} is corrupt ({error})") from None


# ------------------------------------------------------------------------------------------------------ saving
@dataclass(frozen=True)
class Saved:
    state: StoreState
    snapshot: str


def save_state(directory: Path, state: StoreState, settings: Settings, *, reuse: bool, compact: bool = False) -> Saved:
    """Write ``state`` as the new snapshot of ``directory`` (call under its exclusive lock) and return the state
    with its segments on disk. ``reuse``: the segments already saved there stay (else everything is rewritten,
    as one segment); ``compact``: everything is rewritten as one segment, dropping unused terms."""
    if compact or not reuse or not state.segments:
        plan = [(0, len(state.segments))] if state.segments else []
        renumber = True
    else:
        plan, renumber = merge_plan(state), False
    written: list[tuple[int, int, Segment, dict[str, Any]]] = []
    try:
        for start, stop in plan:
            entry = _write_run(directory, state, start, stop, renumber)
            label = f"document store '{directory}': {entry['name']}"
            written.append((start, stop, open_segment(directory / entry["name"], entry, label), entry))
        new_state = _replace_runs(state, written, renumber)
        entries = _entries(directory, new_state, written)
        data_name = _write_snapshot(directory, new_state, entries, settings)
    except BaseException:
        for _, _, _, entry in written:
            shutil.rmtree(directory / entry["name"], ignore_errors=True)
        raise
    remove_stale(directory, data_name, {entry["name"] for entry in entries})
    return Saved(new_state, data_name)


def merge_plan(state: StoreState) -> list[tuple[int, int]]:
    """The runs of segments a save rewrites: the in-memory tail as one segment, grown by the tiered merges it
    triggers, and any other saved segment with more than half of its rows deleted."""
    segments = state.segments
    first_memory = next((i for i, segment in enumerate(segments) if segment.name is None), len(segments))
    sizes = [int(np.count_nonzero(live)) for live in state.live[:first_memory]]
    tail: int | None = None
    if first_memory < len(segments):
        sizes.append(sum(int(np.count_nonzero(live)) for live in state.live[first_memory:]))
        tail = first_memory
    while (start := tail_merge_start(sizes)) is not None:  # sizes[i] is segment i's up to the tail entry
        sizes[start:] = [sum(sizes[start:])]
        tail = start
    runs = [(tail, len(segments))] if tail is not None else []
    for index, live in enumerate(state.live[: tail if tail is not None else len(segments)]):
        if segments[index].n_rows and np.count_nonzero(~live) > _REWRITE_DEAD * len(live):
            runs.append((index, index + 1))
    return sorted(runs)


def _write_run(directory: Path, state: StoreState, start: int, stop: int, renumber: bool) -> dict[str, Any]:
    sources = [Source(state.segments[i], state.live[i]) for i in range(start, stop)]
    term_map, terms = _new_terms(state, start, stop, renumber)
    folder = directory / f"{SEGMENT_PREFIX}{uuid.uuid4().hex}"
    try:
        return write_segment(folder, sources, terms, term_map)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _new_terms(state: StoreState, start: int, stop: int, renumber: bool) -> tuple[np.ndarray | None, NewTerms]:
    """The term renumbering of a run and the terms its segment introduces."""
    if renumber:  # the whole store as one segment: only the terms a live document holds, renumbered densely
        alive = state.df > 0
        term_map = None if alive.all() else np.where(alive, np.cumsum(alive) - 1, -1)  # None: none renumbered
        kept = np.flatnonzero(alive)
        return term_map, NewTerms(0, state.vocabulary.encoded(kept.tolist()), len(kept))
    run = state.segments[start:stop]
    encoded = chain.from_iterable(segment.terms.encoded(range(len(segment.terms))) for segment in run)
    return None, NewTerms(run[0].term_base, encoded, sum(len(segment.terms) for segment in run))


def compact_in_memory(state: StoreState, start: int, stop: int) -> Segment:
    """The live rows of segments ``start .. stop - 1`` as one in-memory segment (term ids kept)."""
    sources = [Source(state.segments[i], state.live[i]) for i in range(start, stop)]
    _, terms = _new_terms(state, start, stop, renumber=False)
    return merge_in_memory(sources, terms)


def _replace_runs(
    state: StoreState, written: list[tuple[int, int, Segment, dict[str, Any]]], renumber: bool
) -> StoreState:
    if renumber:  # term ids changed: statistics from scratch
        segments = [segment for _, _, segment, _ in written]
        return StoreState.of(segments, [np.ones(s.n_rows, dtype=bool) for s in segments], state.revision)
    for start, stop, segment, _ in sorted(written, key=lambda item: -item[0]):  # from the end: indices stay valid
        state = state.merged(start, stop, segment)
    return state


def _entries(
    directory: Path, state: StoreState, written: list[tuple[int, int, Segment, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The manifest entries of ``state``'s segments (all on disk in ``directory``)."""
    new = {entry["name"]: entry for _, _, _, entry in written}
    previous = {entry["name"]: entry for entry in _previous_entries(directory)}
    entries = []
    for segment in state.segments:
        assert segment.name is not None
        entry = dict(new.get(segment.name) or previous[segment.name])
        entry.pop("deleted", None)
        entries.append(entry)
    return entries


def _previous_entries(directory: Path) -> list[dict[str, Any]]:
    try:
        manifest = json.loads((directory / MANIFEST).read_text("utf-8"))
        return list(manifest.get("segments") or [])
    except (OSError, ValueError):
        return []


def _write_snapshot(directory: Path, state: StoreState, entries: list[dict[str, Any]], settings: Settings) -> str:
    """Write the data folder (deletions) and point the manifest at it; return the folder's name."""
    data_name = f"{DATA_PREFIX}{uuid.uuid4().hex}"
    data = directory / data_name
    data.mkdir()
    try:
        for entry, live in zip(entries, state.live, strict=True):
            dead = np.flatnonzero(~live)
            if len(dead):
                entry["deleted"] = f"deleted-{entry['name']}.npy"
                with open(data / entry["deleted"], "wb") as handle:
                    np.save(handle, dead.astype(np.int32 if len(live) < 2**31 else np.int64), allow_pickle=False)
                    sync(handle)
        fsync_directory(data)
        fsync_directory(directory)  # the new segment folders' entries
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "data_dir": data_name,
            "num_documents": state.n_live,
            "embedding_dim": embedding_dim_of(state),
            "embedding_model": settings.embedding_model,
            "split_settings": settings.split_settings,
            "analyzer": settings.analyzer,
            "segments": entries,
            "files": {item.name: item.stat().st_size for item in sorted(data.iterdir())},
        }
        write_atomically(directory / MANIFEST, json.dumps(manifest, indent=2).encode("utf-8"))
    except BaseException:
        shutil.rmtree(data, ignore_errors=True)
        raise
    return data_name


def embedding_dim_of(state: StoreState) -> int | None:
    for segment, live in zip(state.segments, state.live, strict=True):
        if segment.embeddings is not None and (segment.has_embedding & live).any():
            return segment.embedding_dim
    return None


def remove_stale(directory: Path, keep: str, segments: set[str]) -> None:
    """Remove every data folder but ``keep``, every segment folder not in ``segments``, temporary manifests and
    the logs of other snapshots; only call under the exclusive lock."""
    for stale in directory.glob(f"{DATA_PREFIX}*"):
        if stale.name != keep and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    for stale in directory.glob(f"{SEGMENT_PREFIX}*"):
        if stale.name not in segments and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    for temporary in directory.glob(f".{MANIFEST}.*.tmp"):
        temporary.unlink(missing_ok=True)
    for log in directory.glob(f"{WAL_PREFIX}{DATA_PREFIX}*.jsonl"):  # logs of older snapshots, folded in
        if log.name != f"{WAL_PREFIX}{keep}.jsonl":
            log.unlink(missing_ok=True)


def check_save_target(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise DocumentStoreError(f"cannot save document store to '{directory}': it is a file")
    if directory.is_dir() and not (directory / MANIFEST).exists() and any(directory.iterdir()):
        raise DocumentStoreError(
            f"cannot save document store to '{directory}': non-empty folder that is not a docqa store"
        )


# ------------------------------------------------------------------------------------------------ format 1
def _read_format_1(directory: Path, manifest: dict[str, Any]) -> StoreState:
    """A format-1 store read whole into one in-memory segment (no tokenizing), with a warning saying how to
    convert it."""
    folder = directory / manifest["data_dir"]
    for name, size in manifest["files"].items():
        file = folder / name
        if not file.is_file() or file.stat().st_size != size:
            problem = "is missing" if not file.is_file() else "is corrupt (size does not match the manifest)"
            raise DocumentStoreError(f"cannot load document store '{directory}': {folder.name}/{name} {problem}")
    label = f"document store '{directory}': {folder.name}"
    blob = map_file(folder / "documents.jsonl")
    ends = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == ord("\n")) + 1 if len(blob) else np.zeros(0, int)
    lines = DiskDocuments(blob, np.concatenate([[0], ends]).astype(np.int64), label)
    documents = lines.stored(range(len(ends)))
    terms = loading(directory, "vocab.json", lambda: json.loads((folder / "vocab.json").read_text("utf-8")))
    arrays = {n: loading(directory, f"bm25_{n}.npy", lambda n=n: np.load(folder / f"bm25_{n}.npy")) for n in _V1}
    postings = loading(directory, "bm25_*.npy", lambda: _format_1_postings(terms, arrays, len(documents)))
    embeddings, has_embedding = _format_1_embeddings(directory, folder, manifest, len(documents))
    if len({document.id for document in documents}) != len(documents):
        raise DocumentStoreError(f"cannot load document store '{directory}': documents.jsonl repeats an id")
    segment = Segment(
        postings=postings,
        ids=StringTable.from_strings([document.id for document in documents]),
        terms=StringTable.from_strings(terms),
        term_base=0,
        documents=MemoryDocuments(documents),
        columns=DocumentColumns(documents),
        embeddings=embeddings,
        has_embedding=has_embedding,
    )
    warnings.warn(
        f"document store '{directory}' was saved by an older docqa (format 1) and was read whole; "
        f"`docqa compact --upgrade {directory}` (or any save) converts it to format {FORMAT_VERSION}, "
        "which opens without reading it",
        UserWarning,
        stacklevel=5,
    )
    return StoreState.of([segment], [np.ones(len(documents), dtype=bool)])


_V1 = ("indptr", "indices", "tf", "doc_len")


def _format_1_postings(terms: Any, arrays: dict[str, np.ndarray], n_documents: int) -> Any:
    if not isinstance(terms, list) or not all(isinstance(term, str) for term in terms) or len(set(terms)) != len(terms):
        raise ValueError("vocab.json is not a list of distinct terms")
    indptr, indices, tf, doc_len = (arrays[name] for name in _V1)
    if len(doc_len) != n_documents or len(indptr) != n_documents + 1 or len(indices) != indptr[-1] != len(tf):
        raise ValueError("documents.jsonl and bm25 arrays disagree")
    if len(indices) and (indices.min() < 0 or indices.max() >= len(terms)):
        raise ValueError("term index out of range of the vocabulary")
    return from_csr(indptr, indices, tf, doc_len, len(terms))


def _format_1_embeddings(
    directory: Path, folder: Path, manifest: dict[str, Any], n_documents: int
) -> tuple[np.ndarray | None, np.ndarray]:
    dim = manifest.get("embedding_dim")
    if dim is None:
        return None, np.zeros(n_documents, dtype=bool)
    embeddings = loading(directory, "embeddings.npy", lambda: np.load(folder / "embeddings.npy"))
    has_embedding = loading(directory, "has_embedding.npy", lambda: np.load(folder / "has_embedding.npy"))
    if embeddings.shape != (n_documents, dim) or has_embedding.shape != (n_documents,):
        raise DocumentStoreError(f"cannot load document store '{directory}': embeddings.npy has the wrong shape")
    return embeddings.astype(np.float32), has_embedding.astype(bool)
