"""Saves and loads of one store from several real processes, and a save killed with SIGKILL half-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docqa.document_stores import InMemoryDocumentStore
from docqa.document_stores.in_memory import MANIFEST
from docqa.schema import Document

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")

# A child process: save store state number STATE to DIR ROUNDS times, or load DIR ROUNDS times and print what it saw.
_CHILD = r"""
import sys
from docqa.document_stores import InMemoryDocumentStore
from docqa.schema import Document

role, directory, state, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def state_documents(state):
    return [Document(f"state {state} passage {i} " + "word " * 50, meta={"state": state}) for i in range(40 + state)]

if role == "save":
    store = InMemoryDocumentStore()
    store.write_documents(state_documents(state))
    for _ in range(rounds):
        store.save(directory)
else:
    for _ in range(rounds):
        store = InMemoryDocumentStore.load(directory)
        states = {doc.meta["state"] for doc in store.filter_documents()}
        assert len(states) == 1, states
        [seen] = states
        assert store.count_documents() == 40 + seen
        print(seen, flush=True)
"""

# A child that saves and stops for good once its new folders are written, before the manifest points to them.
_STALLED_SAVE = r"""
import sys, time
from pathlib import Path
import docqa.document_stores.persistence as persistence
from docqa.document_stores import InMemoryDocumentStore
from docqa.schema import Document

directory, ready = Path(sys.argv[1]), Path(sys.argv[2])
before = {item.name for item in directory.iterdir()}

def stall(target, payload):
    new = sorted(item.name for item in directory.iterdir() if item.is_dir() and item.name not in before)
    ready.write_text(" ".join(new))
    time.sleep(600)

persistence.write_atomically = stall
store = InMemoryDocumentStore()
store.write_documents([Document("the new copy that never lands")])
store.save(directory)
"""

_COUNT = (
    "import sys; from docqa.document_stores import InMemoryDocumentStore as S; "
    "print(S.load(sys.argv[1]).count_documents())"
)


def _state_documents(state: int) -> list[Document]:
    return [Document(f"state {state} passage {i} " + "word " * 50, meta={"state": state}) for i in range(40 + state)]


def _spawn(script: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    for _ in range(1200):
        if path.exists():
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def _data_folders(directory: Path) -> set[str]:
    return {item.name for item in directory.iterdir() if item.name.startswith(("data-", "seg-"))}


def test_concurrent_saves_and_loads_from_processes_never_lose_the_store(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    first = InMemoryDocumentStore()
    first.write_documents(_state_documents(0))
    first.save(directory)
    savers = [_spawn(_CHILD, "save", directory, state, 15) for state in (1, 2, 3)]
    loaders = [_spawn(_CHILD, "load", directory, 0, 25) for _ in range(2)]
    seen: set[int] = set()
    for process in savers + loaders:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        seen.update(int(line) for line in out.split())
    assert seen <= {0, 1, 2, 3}
    assert len(seen) >= 1
    final = InMemoryDocumentStore.load(directory)
    [state] = {doc.meta["state"] for doc in final.filter_documents()}
    assert state in (1, 2, 3)  # the last save of one of the savers, whole
    assert sorted(doc.content for doc in final.filter_documents()) == sorted(d.content for d in _state_documents(state))
    manifest = json.loads((directory / MANIFEST).read_text())
    assert _data_folders(directory) == {manifest["data_dir"]} | {entry["name"] for entry in manifest["segments"]}


def test_a_save_killed_half_way_leaves_the_previous_copy_and_its_orphan_is_removed_next_time(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    previous = InMemoryDocumentStore()
    previous.write_documents([Document("the previous copy")])
    previous.save(directory)
    ready = tmp_path / "ready"
    saver = _spawn(_STALLED_SAVE, directory, ready)
    try:
        _wait_for(ready, saver)
        orphans = set(ready.read_text().split())
        # While the stalled save holds the lock, a load in another process waits for it.
        loader = _spawn(_COUNT, directory)
        time.sleep(1.0)
        assert loader.poll() is None
        os.kill(saver.pid, signal.SIGKILL)
    finally:
        saver.kill()
        saver.wait()
    assert saver.returncode == -signal.SIGKILL
    out, err = loader.communicate(timeout=60)
    assert (loader.returncode, out.strip()) == (0, "1"), err  # it loaded the previous copy
    assert len(orphans) == 2 and orphans <= _data_folders(directory)  # its new segment and data folder
    loaded = InMemoryDocumentStore.load(directory)
    assert [doc.content for doc in loaded.filter_documents()] == ["the previous copy"]
    loaded.write_documents([Document("added after the crash")])
    loaded.save()
    assert not orphans & _data_folders(directory)
    assert len(_data_folders(directory)) == 3  # the data folder and two segments: the first save's and the new
    again = InMemoryDocumentStore.load(directory)
    assert sorted(doc.content for doc in again.filter_documents()) == ["added after the crash", "the previous copy"]


# A child that appends batches to a saved store, saving after each, and says which batches are saved.
_APPENDER = r"""
import sys
from docqa.document_stores import InMemoryDocumentStore
from docqa.schema import Document

store = InMemoryDocumentStore.load(sys.argv[1])
for number in range(int(sys.argv[2]), 10_000):
    texts = [f"batch {number} passage {i} " + "word " * 30 for i in range(25)]
    store.write_documents([Document(text, id=f"append-{number}-{i}") for i, text in enumerate(texts)])
    store.save()
    print(number, flush=True)  # acknowledged: the save returned
"""


def test_sigkill_during_appends_loses_no_acknowledged_batch_and_never_half_of_one(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    base = InMemoryDocumentStore()
    base.write_documents(_state_documents(0))
    base.save(directory)
    acknowledged: list[int] = []
    start = 0
    for kill_after in (3, 5, 8):  # kill at different moments of different appends
        appender = _spawn(_APPENDER, directory, start)
        assert appender.stdout is not None
        for _ in range(kill_after):
            line = appender.stdout.readline()
            assert line, appender.communicate()
            acknowledged.append(int(line))
        time.sleep(0.003 * kill_after)  # somewhere inside the next append or save
        os.kill(appender.pid, signal.SIGKILL)
        appender.communicate()
        assert appender.returncode == -signal.SIGKILL
        loaded = InMemoryDocumentStore.load(directory)
        batches: dict[int, int] = {}
        for doc in loaded.filter_documents():
            if doc.id.startswith("append-"):
                number = int(doc.id.split("-")[1])
                batches[number] = batches.get(number, 0) + 1
        assert set(acknowledged) <= set(batches)  # every acknowledged append is there
        assert set(batches.values()) == {25}  # and no append is there in part
        assert loaded.count_documents() == len(_state_documents(0)) + 25 * len(batches)
        start = max(batches) + 1
    survivor = InMemoryDocumentStore.load(directory)
    survivor.write_documents([Document("after the crashes", id="after")])
    survivor.save()  # removes what the killed saves left behind
    manifest = json.loads((directory / MANIFEST).read_text())
    assert _data_folders(directory) == {manifest["data_dir"]} | {entry["name"] for entry in manifest["segments"]}
    assert not list(directory.glob(".manifest.json.*"))
