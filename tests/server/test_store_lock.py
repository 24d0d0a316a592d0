"""A served store has one writer: while `docqa serve` runs, `docqa index` into the same folder and a second
`docqa serve` fail with one line naming the store and the server, and nothing the server acknowledged is lost.
Real processes throughout; once the server stops (or is killed), the lock is gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import Server, free_port, store_copy

from docqa.document_stores.in_memory import InMemoryDocumentStore


def docqa(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from docqa.cli import main; main()", *args]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "400"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)


def _snapshot(store: Path) -> str:
    return str(json.loads((store / "manifest.json").read_text())["data_dir"])


def _ids(store: Path) -> set[str]:
    return {doc.id for doc in InMemoryDocumentStore.load(store).filter_documents()}


def test_other_writers_are_refused_while_the_server_holds_the_store(
    serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path
) -> None:
    store = store_copy(qa_store, tmp_path / "store")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "new.txt").write_text("The Rhine flows through Basel and Cologne.\n")
    server: Server = serve("--store", str(store), "--model", str(tiny_bert_qa_dir), "--checkpoint-seconds", "3600")
    client = server.client()
    body = {"documents": [{"content": "Acknowledged before the others tried.", "id": "served-1"}]}
    assert client.post("/documents", json=body).json()["written"] == 1
    snapshot, on_disk = _snapshot(store), _ids(store)  # the write is in the log, replayed by every load

    indexed = docqa("index", str(tmp_path / "notes"), "--store", str(store))
    assert indexed.returncode == 1, indexed.stdout + indexed.stderr
    lines = indexed.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in indexed.stderr, indexed.stderr
    assert str(store) in lines[0] and f"docqa serve (pid {server.process.pid})" in lines[0], lines[0]
    assert _snapshot(store) == snapshot and _ids(store) == on_disk and "served-1" in on_disk
    (tmp_path / "empty").mkdir()  # refused before converting: not "no documents to index", found only later
    early = docqa("index", str(tmp_path / "empty"), "--store", str(store))
    assert early.returncode == 1 and f"docqa serve (pid {server.process.pid})" in early.stderr, early.stderr

    second = docqa("serve", "--store", str(store), "--model", str(tiny_bert_qa_dir), "--port", str(free_port()))
    assert second.returncode == 1 and "docqa serve (pid" in second.stderr and str(store) in second.stderr

    still = client.post("/documents", json={"documents": [{"content": "Still writable.", "id": "served-2"}]})
    assert still.json()["written"] == 1  # the server is unaffected
    assert client.get("/documents/count").json()["count"] == len(on_disk) + 1
    server.stop()  # a clean stop folds the log in and releases the lock

    again = docqa("index", str(tmp_path / "notes"), "--store", str(store))
    assert again.returncode == 0, again.stderr
    assert {"served-1", "served-2"} <= _ids(store) and len(_ids(store)) > len(on_disk) + 1


def test_a_killed_server_leaves_no_lock(serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    store = store_copy(qa_store, tmp_path / "store")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "new.txt").write_text("The Elbe flows through Dresden and Hamburg.\n")
    server: Server = serve("--store", str(store), "--model", str(tiny_bert_qa_dir))
    body = {"documents": [{"content": "Written just before kill -9.", "id": "killed-1"}]}
    assert server.client().post("/documents", json=body).json()["written"] == 1
    server.kill()
    indexed = docqa("index", str(tmp_path / "notes"), "--store", str(store))
    assert indexed.returncode == 0, indexed.stderr
    ids = _ids(store)
    assert "killed-1" in ids and any(doc_id not in _ids(qa_store) | {"killed-1"} for doc_id in ids)
