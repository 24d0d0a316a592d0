"""`docqa serve` throughput and latency against the same pipeline called in-process, in one run.

/score with a model-card-sized request (one question, one short context) and /query (BM25 over the sample
articles + reader), at 1, 4 and 16 concurrent clients, with micro-batching on (defaults: max batch 16, 5 ms)
and off (--max-batch 1); the reader is the MiniLM-L12-H384 architecture of deepset/minilm-uncased-squad2 with
random weights (speed only). Run by hand (figures depend on the machine: note how loaded it was)::

    .venv/bin/python bench/server.py --requests 48
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKENIZER = ROOT.parent / "shared" / "models" / "bert-base-uncased-tokenizer"
CONTEXT = "My name is Wolfgang and I live in Berlin. I work as an engineer at a company that builds bridges."
SCORE_BODY = {"inputs": {"question": "Where do I live?", "context": CONTEXT}}
QUERY_BODY = {"query": "Who ruled the duchy of Normandy?", "top_k": 1}


def build_reader(folder: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    config = BertConfig(hidden_size=384, num_hidden_layers=12, num_attention_heads=12, intermediate_size=1536)
    BertForQuestionAnswering(config).eval().save_pretrained(folder)
    AutoTokenizer.from_pretrained(TOKENIZER).save_pretrained(folder)
    return folder


def build_store(folder: Path) -> Path:
    from docqa import DocumentSplitter, InMemoryDocumentStore, convert_paths

    store = InMemoryDocumentStore(path=str(folder))
    documents = convert_paths([ROOT / "data" / "articles"]).documents
    store.write_documents(DocumentSplitter(split_length=120, split_overlap=20).run(documents=documents)["documents"])
    store.save()
    return folder


def start(store: Path, model: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", "from docqa.cli import main; main()", "serve", "--store", str(store)]
    command += ["--model", str(model), "--port", str(port), "--retriever-top-k", "3", "--log-level", "warning", *args]
    process = subprocess.Popen(command, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(url + "/ready", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not become ready")


def load(url: str, path: str, body: dict[str, Any], clients: int, total: int) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = max(1, total // clients)

    def run() -> None:
        with httpx.Client(base_url=url, timeout=300) as client:
            client.post(path, json=body).raise_for_status()  # warm the connection
            for _ in range(per_client):
                started = time.perf_counter()
                client.post(path, json=body).raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summary(latencies, time.perf_counter() - began)


def summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"rps": len(ordered) / elapsed, "p50_ms": 1000 * statistics.median(ordered), "p99_ms": 1000 * p99}


def in_process(store: Path, model: Path, total: int) -> dict[str, dict[str, float]]:
    from docqa import InMemoryDocumentStore
    from docqa.formats import answer_score_request, parse_score_request
    from docqa.pipelines import ExtractiveQAPipeline

    qa = ExtractiveQAPipeline.bm25(InMemoryDocumentStore.load(store), model=str(model), retriever_top_k=3)
    reader = qa.pipeline.get_component(qa.reader)
    reader.warm_up()
    request = parse_score_request(SCORE_BODY)
    calls: dict[str, Callable[[], Any]] = {
        "/score": lambda: answer_score_request(request, reader=reader),
        "/query": lambda: qa.run(QUERY_BODY["query"], top_k_reader=1),
    }
    results = {}
    for path, call in calls.items():
        call()
        latencies = []
        began = time.perf_counter()
        for _ in range(total):
            started = time.perf_counter()
            call()
            latencies.append(time.perf_counter() - started)
        results[path] = summary(latencies, time.perf_counter() - began)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=48, help="requests per measurement (split over clients)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="docqa-bench-server-"))
    model, store = build_reader(folder / "reader"), build_store(folder / "store")
    print(f"{'what':22} {'endpoint':8} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}", flush=True)
    for path, figures in in_process(store, model, options.requests).items():
        report("in-process loop", path, 1, figures)
    for label, args in (("server, batching on", ()), ("server, batching off", ("--max-batch", "1"))):
        process, url = start(store, model, *args)
        try:
            for path, body in (("/score", SCORE_BODY), ("/query", QUERY_BODY)):
                for clients in options.clients:
                    report(label, path, clients, load(url, path, body, clients, options.requests))
        finally:
            process.terminate()
            process.wait(timeout=30)


def report(label: str, path: str, clients: int, figures: dict[str, float]) -> None:
    rps, p50, p99 = figures["rps"], figures["p50_ms"], figures["p99_ms"]
    print(f"{label:22} {path:8} {clients:>7} {rps:>8.2f} {p50:>8.1f} {p99:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
