"""8 concurrent clients x 50 mixed requests (queries, scores, writes, deletes): all answered, and the final count
equal to what the acknowledged writes and deletes say."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import httpx
from conftest import JOHN, Server, store_copy

CLIENTS, REQUESTS = 8, 50


def client_session(
    server: Server, number: int, tally: dict[str, int], lock: threading.Lock, failures: list[str]
) -> None:
    rng = random.Random(number)
    mine: list[str] = []
    written = deleted = 0
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for step in range(REQUESTS):
            kind = rng.choice(["query", "score", "write", "delete"])
            if kind == "query":
                response = client.post("/query", json={"query": "Where does John live?", "top_k": 1})
                ok = response.status_code == 200 and len(response.json()["answers"]) >= 1
            elif kind == "score":
                response = client.post("/score", json={"inputs": {"question": "Where do I live?", "context": JOHN}})
                ok = response.status_code == 200 and response.json()["answer"] in JOHN  # one pair: one object
            elif kind == "write" or not mine:
                doc_id = f"c{number}-{step}"
                body = {"documents": [{"content": f"Client {number} wrote passage {step} about rivers.", "id": doc_id}]}
                response = client.post("/documents", json={**body, "policy": "fail"})
                ok = response.status_code == 200 and response.json()["written"] == 1
                if ok:
                    mine.append(doc_id)
                    written += 1
            else:
                response = client.request("DELETE", "/documents", json={"ids": [mine.pop(rng.randrange(len(mine)))]})
                ok = response.status_code == 200 and response.json()["deleted"] == 1
                deleted += response.json()["deleted"] if response.status_code == 200 else 0
            if not ok:
                failures.append(f"client {number} step {step} {kind}: {response.status_code} {response.text[:200]}")
    with lock:
        tally["written"] += written
        tally["deleted"] += deleted


def test_concurrent_mixed_clients(serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    store = store_copy(qa_store, tmp_path / "store")
    server = serve("--store", str(store), "--model", str(tiny_bert_qa_dir), "--retriever-top-k", "3")
    client = server.client()
    before = client.get("/documents/count").json()["count"]
    tally, lock, failures = {"written": 0, "deleted": 0}, threading.Lock(), []
    threads = [threading.Thread(target=client_session, args=(server, n, tally, lock, failures)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not failures, failures[:5]
    assert tally["written"] > 0 and tally["deleted"] > 0
    expected = before + tally["written"] - tally["deleted"]
    assert client.get("/documents/count").json()["count"] == expected
    stored = client.post("/documents/search", json={"filters": None}).json()["documents"]
    assert len(stored) == expected and len({doc["id"] for doc in stored}) == expected
    everything = client.request("DELETE", "/documents", json={"all": True})  # said explicitly, never by accident
    assert everything.json() == {"deleted": expected} and client.get("/documents/count").json()["count"] == 0
