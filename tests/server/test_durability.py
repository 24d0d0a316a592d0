"""A write acknowledged with 2xx is on disk: kill -9 right after the responses, restart, nothing is lost (with
and without a checkpoint having folded part of the log into the snapshot). While a checkpoint writes the
snapshot, queries are answered and writes wait."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
from conftest import Server, store_copy


def _write(client: httpx.Client, ids: list[str]) -> None:
    for doc_id in ids:
        body = {"documents": [{"content": f"Durable passage {doc_id}.", "meta": {"n": doc_id}, "id": doc_id}]}
        assert client.post("/documents", json=body).json()["written"] == 1


def _ids(client: httpx.Client) -> set[str]:
    return {doc["id"] for doc in client.post("/documents/search", json={}).json()["documents"]}


def _data_dir(store: Path) -> str:
    return str(json.loads((store / "manifest.json").read_text())["data_dir"])


def test_kill_9_after_acknowledged_writes_loses_nothing(
    serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path
) -> None:
    store = store_copy(qa_store, tmp_path / "store")
    args = ("--store", str(store), "--model", str(tiny_bert_qa_dir), "--checkpoint-bytes", "1")
    first: Server = serve(*args)
    client = first.client()
    original = _ids(client)
    snapshot = _data_dir(store)
    _write(client, [f"early-{i}" for i in range(5)])
    deadline = time.monotonic() + 60
    while _data_dir(store) == snapshot:  # the size-triggered checkpoint folds the log into a new snapshot
        assert time.monotonic() < deadline, "no checkpoint happened"
        time.sleep(0.1)
    _write(client, [f"late-{i}" for i in range(10)])
    deleted = client.request("DELETE", "/documents", json={"ids": ["early-0", "late-3"]}).json()["deleted"]
    assert deleted == 2
    expected = _ids(client)
    first.kill()  # SIGKILL: no shutdown hook runs
    assert expected == original | {f"early-{i}" for i in range(1, 5)} | {f"late-{i}" for i in range(10) if i != 3}
    second = serve(*args)
    assert _ids(second.client()) == expected
    found = second.client().post("/query", json={"query": "Durable passage late-7", "include_documents": True})
    assert "late-7" in {doc["id"] for doc in found.json()["documents"]}  # replayed rows are indexed


def test_periodic_checkpoint_folds_the_log(serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    store = store_copy(qa_store, tmp_path / "store")
    server: Server = serve("--store", str(store), "--model", str(tiny_bert_qa_dir), "--checkpoint-seconds", "1")
    snapshot = _data_dir(store)
    _write(server.client(), ["timed-0", "timed-1"])
    deadline = time.monotonic() + 60
    old_log = store / f"wal-{snapshot}.jsonl"
    # a second after the first unsaved change, the log is folded in: a new snapshot, then the old log removed
    while _data_dir(store) == snapshot or old_log.exists():
        assert time.monotonic() < deadline, "no checkpoint happened, or its old log stayed"
        time.sleep(0.1)
    folded = store / f"wal-{_data_dir(store)}.jsonl"
    assert not folded.exists() or folded.stat().st_size == 0
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["num_documents"] == len(_ids(server.client()))


def test_queries_go_on_while_a_checkpoint_saves(serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    store, gate, saving = store_copy(qa_store, tmp_path / "store"), tmp_path / "save-gate", tmp_path / "saving"
    pipeline = tmp_path / "gated-store.yaml"
    pipeline.write_text(f"""
document_stores:
  store:
    type: gated_store.GatedDocumentStore
    init_parameters: {{path: {store}, save_gate: {gate}, saving_marker: {saving}}}
components:
  retriever: {{type: BM25Retriever, init_parameters: {{document_store: store, top_k: 2}}}}
  reader: {{type: ExtractiveReader, init_parameters: {{model: {tiny_bert_qa_dir}}}}}
connections:
  - {{sender: retriever.documents, receiver: reader.documents}}
""")  # fmt: skip
    args = ("--pipeline", str(pipeline), "--allow-module", "gated_store", "--checkpoint-seconds", "1")
    server: Server = serve(*args, env={"PYTHONPATH": str(Path(__file__).resolve().parent)})
    client = server.client()
    _write(client, ["before-0"])
    deadline = time.monotonic() + 60
    while not saving.exists():  # a second after the write, the checkpoint starts its save and waits at the gate
        assert time.monotonic() < deadline, "no checkpoint started"
        time.sleep(0.05)
    count = client.get("/documents/count").json()["count"]
    answered = client.post("/query", json={"query": "Durable passage before-0", "include_documents": True}, timeout=30)
    assert answered.status_code == 200 and "before-0" in {doc["id"] for doc in answered.json()["documents"]}
    writer = threading.Thread(target=_write, args=(server.client(), ["during-0"]))
    writer.start()
    writer.join(timeout=1.0)
    assert writer.is_alive(), "a write went through while the checkpoint was saving"
    assert client.get("/documents/count").json()["count"] == count
    gate.touch()
    writer.join(timeout=60)
    assert not writer.is_alive() and client.get("/documents/count").json()["count"] == count + 1
    server.stop()
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["num_documents"] == count + 1  # the clean stop folded the waiting write in too


def test_written_documents_are_embedded_with_the_stores_model(
    serve, qa_store: Path, tiny_bert_qa_dir: Path, minilm_model: str, tmp_path: Path
) -> None:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from docqa.document_stores.in_memory import InMemoryDocumentStore

    store_dir = tmp_path / "dense"
    dense = InMemoryDocumentStore(path=str(store_dir))
    dense.embedding_model = minilm_model
    dense.save()
    server: Server = serve("--store", str(store_dir), "--model", str(tiny_bert_qa_dir))
    text = "Glaciers carve deep valleys in the Alps."
    body = {"documents": [{"content": text, "id": "g1"}]}
    assert server.client().post("/documents", json=body).json()["written"] == 1
    stored = InMemoryDocumentStore.load(store_dir).get_documents_by_id(["g1"])[0]  # replayed from the log
    expected = SentenceTransformer(minilm_model, device="cpu").encode([text], normalize_embeddings=True)[0]
    assert stored.embedding is not None
    assert np.allclose(stored.embedding, expected, atol=1e-4)
