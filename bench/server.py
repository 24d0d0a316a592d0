"""`docqa serve` throughput and latency against the same pipeline called in-process, in one run.

/score with a model-card-sized request (one question, one short context) and /query (BM25 over the sample
articles, 3 passages, + reader), at 1, 4 and 16 concurrent clients (threads with keep-alive httpx clients on
this machine), with micro-batching on (the defaults: --max-batch 16, --max-wait-ms 5) and off (--max-batch 1),
against calling the same pipeline in-process in a sequential loop. The reader is the MiniLM-L12-H384
architecture of deepset/minilm-uncased-squad2 with random weights (speed only) and the bert-base-uncased
tokenizer. Prints a markdown table with ratios against the in-process loop, and the two goals (1 client: p50
within 15% of in-process; 16 clients on /score with batching: at least 2x the in-process requests/s). One
command from the repository root, about 3-4 minutes on an idle 2-core machine::

    .venv/bin/python bench/server.py
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
QUERY = "Who ruled the duchy of Normandy?"
QUERY_BODY = {"query": QUERY, "top_k": 1}


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
        "/query": lambda: qa.run(QUERY, top_k_reader=1),
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
    parser.add_argument("--requests", type=int, default=96, help="requests per measurement (split over clients)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="the batching server's --max-wait-ms")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="docqa-bench-server-"))
    model, store = build_reader(folder / "reader"), build_store(folder / "store")
    baseline = in_process(store, model, options.requests)
    print(f"measured in-process: {baseline}", file=sys.stderr, flush=True)
    rows = [("in-process loop", path, 1, figures) for path, figures in baseline.items()]
    batching = ("--max-batch", "16", "--max-wait-ms", str(options.max_wait_ms))
    for label, args in (("server, batching on", batching), ("server, batching off", ("--max-batch", "1"))):
        process, url = start(store, model, *args)
        try:
            for path, body in (("/score", SCORE_BODY), ("/query", QUERY_BODY)):
                for clients in options.clients:
                    figures = load(url, path, body, clients, options.requests)
                    rows.append((label, path, clients, figures))
                    print(f"measured {label} {path} x{clients}: {figures}", file=sys.stderr, flush=True)
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(table(rows, baseline))
    print(goals(rows, baseline))


def table(rows: list[tuple[str, str, int, dict[str, float]]], baseline: dict[str, dict[str, float]]) -> str:
    lines = [
        "| endpoint | how | clients | req/s | p50 ms | p99 ms | req/s / in-process | p50 / in-process |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, path, clients, figures in sorted(rows, key=lambda row: (row[1] != "/score", row[0], row[2])):
        rps, p50, p99, peer = figures["rps"], figures["p50_ms"], figures["p99_ms"], baseline[path]
        lines.append(
            f"| {path} | {label} | {clients} | {rps:.1f} | {p50:.1f} | {p99:.1f} | "
            f"{rps / peer['rps']:.2f}x | {p50 / peer['p50_ms']:.2f}x |"
        )
    return "\n".join(lines)


def goals(rows: list[tuple[str, str, int, dict[str, float]]], baseline: dict[str, dict[str, float]]) -> str:
    found = {(label, path, clients): figures for label, path, clients, figures in rows}
    lines = []
    for path in ("/score", "/query"):
        one = found.get(("server, batching on", path, 1))
        if one is not None:
            ratio = one["p50_ms"] / baseline[path]["p50_ms"]
            lines.append(f"- {path}, 1 client, batching on: p50 {ratio:.2f}x in-process (goal <= 1.15)")
        many = found.get(("server, batching on", path, 16))
        if many is not None:
            ratio = many["rps"] / baseline[path]["rps"]
            goal = " (goal >= 2)" if path == "/score" else ""
            lines.append(f"- {path}, 16 clients, batching on: {ratio:.2f}x the in-process loop's req/s{goal}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
