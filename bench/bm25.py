"""BM25 benchmark: docqa's InMemoryDocumentStore vs rank-bm25 (BM25Okapi) vs bm25s.

Synthetic corpus: ``--docs`` passages (default 100,000) of about 100 words drawn from a Zipf-distributed
vocabulary, fixed seed; queries of 2-6 words from the same distribution. Every library tokenizes the same way:
lowercase, regex ``(?u)\\b\\w+\\b``, no stopwords, no stemming (docqa's default Analyzer; rank-bm25 gets the
Analyzer's tokens; bm25s its own ``tokenize`` with that pattern).

Each library runs in its own subprocess, so that peak memory (VmHWM growth over the RSS after the corpus was
generated) is its own. Build time = tokenization + indexing (docqa: one in-memory segment; it keeps no score
matrix, so nothing is built lazily). Query throughput = single queries, top 10, tokenization included. rank-bm25
is timed on fewer queries (``--rank-bm25-queries``) because each of its queries scans every document in Python.
docqa's top 10 is checked against rank-bm25's (ids and scores, ties broken by insertion order) on those queries.

    python bench/bm25.py                # full size (about a minute on 2 cores)
    python bench/bm25.py --docs 5000    # quick
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

TOKEN_PATTERN = r"(?u)\b\w+\b"
ROOT = Path(__file__).resolve().parents[1]


def make_corpus(n_docs: int, seed: int = 0, vocab_size: int = 50_000) -> tuple[list[str], list[str]]:
    """``n_docs`` passages of ~100 Zipf-distributed words, and 1,000 queries of 2-6 words."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < vocab_size:
        word = "".join(rng.choice(letters, size=int(rng.integers(2, 10))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    vocab = np.array(words)
    weights = 1.0 / np.arange(1, vocab_size + 1) ** 1.07
    weights /= weights.sum()
    lengths = rng.integers(80, 121, size=n_docs)
    drawn = vocab[rng.choice(vocab_size, size=int(lengths.sum()), p=weights)]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    texts = [" ".join(drawn[bounds[i] : bounds[i + 1]]).capitalize() + "." for i in range(n_docs)]
    query_words = vocab[rng.choice(vocab_size, size=6 * 1000, p=weights)]
    query_lengths = rng.integers(2, 7, size=1000)
    queries = [" ".join(query_words[6 * i : 6 * i + n]) + "?" for i, n in enumerate(query_lengths)]
    return texts, queries


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    with contextlib.suppress(OSError):  # resets VmHWM to the current RSS (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")


# ------------------------------------------------------------------------------------------ libraries
def _docqa(texts: list[str]) -> tuple[Any, Any]:
    sys.path.insert(0, str(ROOT))
    from docqa.document_stores import InMemoryDocumentStore
    from docqa.schema import Document

    documents = [Document(text, id=str(i)) for i, text in enumerate(texts)]
    gc.collect()

    def build() -> Any:
        store = InMemoryDocumentStore()
        store.write_documents(documents)
        return store

    def query(store: Any, text: str) -> tuple[list[int], list[float]]:
        found = store.bm25_retrieval(text, top_k=10)
        return [int(doc.id) for doc in found], [float(doc.score) for doc in found]

    return build, query


def _rank_bm25(texts: list[str]) -> tuple[Any, Any]:
    sys.path.insert(0, str(ROOT))
    from rank_bm25 import BM25Okapi

    from docqa.text import Analyzer

    analyzer = Analyzer()

    def build() -> Any:
        return analyzer, BM25Okapi([analyzer(text) for text in texts])

    def query(index: Any, text: str) -> tuple[list[int], list[float]]:
        tokenize, bm25 = index
        scores = bm25.get_scores(tokenize(text))
        best = np.lexsort((np.arange(len(scores)), -scores))[:10]
        return best.tolist(), scores[best].tolist()

    return build, query


def _bm25s(texts: list[str]) -> tuple[Any, Any]:
    import bm25s

    def tokenize(batch: list[str]) -> Any:
        return bm25s.tokenize(batch, lower=True, token_pattern=TOKEN_PATTERN, stopwords=None, show_progress=False)

    def build() -> Any:
        retriever = bm25s.BM25()
        retriever.index(tokenize(texts), show_progress=False)
        return retriever

    def query(retriever: Any, text: str) -> tuple[list[int], list[float]]:
        tokens = bm25s.tokenize(
            [text], lower=True, token_pattern=TOKEN_PATTERN, stopwords=None, return_ids=False, show_progress=False
        )
        ids, scores = retriever.retrieve(tokens, k=10, show_progress=False, n_threads=1)
        return ids[0].tolist(), scores[0].tolist()

    return build, query


LIBRARIES = {"docqa": _docqa, "rank-bm25": _rank_bm25, "bm25s": _bm25s}


def worker(library: str, n_docs: int, n_queries: int) -> dict[str, Any]:
    texts, queries = make_corpus(n_docs)
    queries = queries[:n_queries]
    build, query = LIBRARIES[library](texts)
    gc.collect()
    _reset_peak()
    baseline = _rss_kib("VmRSS")
    start = time.perf_counter()
    index = build()
    build_s = time.perf_counter() - start
    peak_mib = (_rss_kib("VmHWM") - baseline) / 1024
    retained_mib = (_rss_kib("VmRSS") - baseline) / 1024
    results = []
    start = time.perf_counter()
    for text in queries:
        results.append(query(index, text))
    query_s = time.perf_counter() - start
    return {
        "library": library,
        "build_s": build_s,
        "qps": len(queries) / query_s,
        "queries": len(queries),
        "peak_mib": peak_mib,
        "retained_mib": retained_mib,
        "results": results,
    }


def run_worker(library: str, n_docs: int, n_queries: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", library, "--docs", str(n_docs), "--queries", str(n_queries)]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def check_agreement(docqa: dict[str, Any], oracle: dict[str, Any]) -> tuple[int, int]:
    """How many of the oracle's queries docqa's top 10 matches exactly (ids, and scores to 1e-6)."""
    agree = 0
    for (ids, scores), (oracle_ids, oracle_scores) in zip(docqa["results"], oracle["results"], strict=False):
        positive = [(i, s) for i, s in zip(oracle_ids, oracle_scores, strict=True) if s > 0]
        if ids == [i for i, _ in positive] and np.allclose(scores, [s for _, s in positive], rtol=0, atol=1e-6):
            agree += 1
    return agree, len(oracle["results"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--rank-bm25-queries", type=int, default=20)
    parser.add_argument("--worker", choices=sorted(LIBRARIES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.docs, args.queries)))
        return
    print(f"corpus: {args.docs:,} passages of 80-120 Zipf words; single-query top-10 retrieval")
    rows = {
        "docqa": run_worker("docqa", args.docs, args.queries),
        "bm25s": run_worker("bm25s", args.docs, args.queries),
        "rank-bm25": run_worker("rank-bm25", args.docs, args.rank_bm25_queries),
    }
    print(f"{'library':<10} {'build s':>9} {'queries':>8} {'QPS':>10} {'peak MiB':>9} {'kept MiB':>9}")
    for name, row in rows.items():
        print(
            f"{name:<10} {row['build_s']:>9.2f} {row['queries']:>8} {row['qps']:>10.1f} "
            f"{row['peak_mib']:>9.0f} {row['retained_mib']:>9.0f}"
        )
    docqa, rank, fast = rows["docqa"], rows["rank-bm25"], rows["bm25s"]
    print(f"docqa QPS / rank-bm25 QPS = {docqa['qps'] / rank['qps']:.0f}x   (goal >= 100x)")
    print(f"docqa QPS / bm25s QPS     = {docqa['qps'] / fast['qps']:.2f}x   (goal >= 1x)")
    print(f"docqa build / bm25s build = {docqa['build_s'] / fast['build_s']:.2f}x   (goal <= 2x)")
    agree, total = check_agreement(docqa, rank)
    print(f"docqa top-10 == rank-bm25 top-10 (ids and scores to 1e-6) on {agree}/{total} queries")
    if agree != total:
        sys.exit(1)


if __name__ == "__main__":
    main()
