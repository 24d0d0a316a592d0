"""/ready while models load, the bounded queue (503 + Retry-After) and a disconnecting client freeing its slot.

The reader is :class:`gated_reader.GatedReader` (loaded with ``--allow-module``): its loading and its model calls
wait for files the test creates, so "still loading" and "a model call is running" are states, not races.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from conftest import Server, store_copy

HERE = Path(__file__).resolve().parent
QUERY = {"query": "Where does John live?", "top_k": 1}


def gated_pipeline(folder: Path, store: Path, model: Path, load_gate: Path | None, read_gate: Path | None) -> Path:
    gates = "".join(f", {name}: {path}" for name, path in (("load_gate", load_gate), ("read_gate", read_gate)) if path)
    text = f"""
document_stores:
  store: {{type: InMemoryDocumentStore, init_parameters: {{path: {store}}}}}
components:
  retriever: {{type: BM25Retriever, init_parameters: {{document_store: store, top_k: 2}}}}
  reader: {{type: gated_reader.GatedReader, init_parameters: {{model: {model}{gates}}}}}
connections:
  - {{sender: retriever.documents, receiver: reader.documents}}
"""
    path = folder / "gated.yaml"
    path.write_text(text)
    return path


def start_gated(
    serve: Callable[..., Server], tmp_path: Path, qa_store: Path, model: Path, *args: str, **gates: Path
) -> Server:
    store = store_copy(qa_store, tmp_path / "store")
    pipeline = gated_pipeline(tmp_path, store, model, gates.get("load_gate"), gates.get("read_gate"))
    return serve("--pipeline", str(pipeline), "--allow-module", "gated_reader", *args,
                 env={"PYTHONPATH": str(HERE)}, wait_ready=False)  # fmt: skip


def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def metric(client: httpx.Client, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_ready_is_503_while_the_reader_loads_then_200(
    serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "load-gate"
    server = start_gated(serve, tmp_path, qa_store, tiny_bert_qa_dir, load_gate=gate)
    client = server.client()
    assert client.get("/health").json() == {"status": "ok"}
    until(lambda: client.get("/ready").json()["loading"] == ["reader"])
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json()["ready"] is False
    waiting = client.post("/query", json=QUERY)
    assert waiting.status_code == 503 and "still loading" in waiting.json()["detail"]
    assert waiting.headers["retry-after"] == "1"
    assert client.get("/documents/count").json()["count"] == 3  # the store is there already
    gate.touch()
    server.wait("/ready")
    assert client.get("/ready").json() == {"ready": True, "loading": [], "errors": {}}
    assert client.post("/query", json=QUERY).status_code == 200


def _raw_query(server: Server) -> socket.socket:
    """Send a /query on a bare socket and leave the response unread (the client can then vanish)."""
    body = b'{"query": "Where does John live?", "top_k": 1}'
    host, port = server.url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    head = (
        f"POST /query HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    connection.sendall(head.encode() + body)
    return connection


def test_full_queue_is_503_and_a_disconnect_frees_its_slot(
    serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "read-gate"
    args = ("--max-queue", "2", "--max-batch", "1", "--max-wait-ms", "0")
    server = start_gated(serve, tmp_path, qa_store, tiny_bert_qa_dir, *args, read_gate=gate)
    server.wait("/ready")
    client = server.client()
    depth: Callable[[], float] = lambda: metric(client, "docqa_queue_depth", model="reader")  # noqa: E731
    answers: dict[str, Any] = {}

    def ask(name: str) -> None:
        answers[name] = httpx.post(server.url + "/query", json=QUERY, timeout=120)

    first = threading.Thread(target=ask, args=("first",))
    first.start()
    until(lambda: depth() == 1)  # running, held by the gate
    leaving = _raw_query(server)
    until(lambda: depth() == 2)  # queued behind it
    refused = client.post("/query", json=QUERY)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert "queue is full" in refused.json()["detail"]
    leaving.close()  # the queued client goes away
    until(lambda: depth() == 1)
    last = threading.Thread(target=ask, args=("last",))
    last.start()
    until(lambda: depth() == 2)
    gate.touch()
    first.join(timeout=120)
    last.join(timeout=120)
    assert answers["first"].status_code == 200 and answers["last"].status_code == 200
    assert answers["first"].json()["answers"] == answers["last"].json()["answers"]
    assert metric(client, "docqa_batch_size_count", model="reader") == 2  # the abandoned request never ran
    assert depth() == 0


def _answer_of(connection: socket.socket) -> int:
    """The status of the answer waiting on a bare-socket request."""
    connection.settimeout(120)
    with connection.makefile("rb") as stream:
        return int(stream.readline().split()[1])


def test_the_default_queue_answers_503_once_full(serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    """With the defaults (--max-queue 64), 64 requests wait for the held model and the next is refused: each
    waits on the event loop, not in one of the 40 threads of the thread pool that used to cap them at 40."""
    gate = tmp_path / "read-gate"
    server = start_gated(serve, tmp_path, qa_store, tiny_bert_qa_dir, read_gate=gate)
    server.wait("/ready")
    client = server.client()
    waiting = [_raw_query(server) for _ in range(64)]
    try:
        until(lambda: metric(client, "docqa_queue_depth", model="reader") == 64, timeout=120)
        refused = client.post("/query", json=QUERY)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert "the reader queue is full (64 requests)" in refused.json()["detail"]
        gate.touch()
        assert [_answer_of(connection) for connection in waiting] == [200] * 64
    finally:
        for connection in waiting:
            connection.close()


def test_a_model_that_cannot_load_is_named_by_ready_health_and_query(serve, qa_store: Path, tmp_path: Path) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    server = serve("--store", str(store_copy(qa_store, tmp_path / "store")), "--model", str(empty), wait_ready=False)
    client = server.client()
    until(lambda: client.get("/ready").json()["loading"] == [])
    ready = client.get("/ready")
    error = ready.json()["errors"]["reader"]
    assert ready.status_code == 503 and str(empty) in error and "\n" not in error
    assert ready.json()["detail"] == f"the reader failed to load: {error}"
    assert client.get("/health").json() == {"status": "degraded", "errors": {"reader": error}}
    query = client.post("/query", json=QUERY)
    assert query.status_code == 503 and query.json()["detail"] == f"the reader failed to load: {error}"
    assert "retry-after" not in query.headers  # retrying will not help
    assert client.get("/documents/count").json()["count"] == 3  # what did load still works


def test_a_model_path_that_does_not_exist_stops_serve_at_start(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such-model"
    command = [sys.executable, "-c", "from docqa.cli import main; main()", "serve", "--model", str(missing)]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "400"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: --model {missing}: no model directory there (give a directory holding config.json and the weights)"
    ]
