"""How the reader ranks answers, measured: today's ranking, merged spans, answers grouped by text, and fusion.

The shared reader (../shared/models/minilm-l6-squad2-half12, trained on articles 1-12 of the dev half) reads the
held-out articles 13-16 (1,629 questions) twice, as ``docqa eval squad`` does:

* open-domain (``--open-domain``): BM25 over the four articles split into passages as ``docqa index`` splits files
  (120 words, consecutive passages sharing 20), the 10 best passages per question;
* gold paragraph: each question's own paragraph (no regression allowed there).

Each question's span candidates are recorded once and ranked by every variant (ranking is a pure function of
them, so the rows differ only by ranking):

* today: the best single candidate, each (passage, span) alone, the ranking before merging;
* merged spans (``group_by="span"``): the same characters of a source are one answer, probabilities summed;
* grouped text (``group_by="text"``): answers with equal SQuAD-normalized text are one answer;
* fusion: ``score + w * (BM25 score - best BM25 score)``, with ``w`` chosen on articles 13-14 (the best
  always-answering HasAns F1 over a grid) and reported on 15-16 beside the other rows on 15-16;
* docqa's defaults (``docqa ask --store``, ``ExtractiveQAPipeline.bm25``): grouped text and
  ``w = BM25_RETRIEVER_WEIGHT``, on all of 13-16.

Metrics are the official SQuAD 2.0 ones: "always" answers every question with its best answer (the goal: HasAns F1
always answering), "at 0" is the reader's decision at ``no_answer_threshold=0``, "best F1" over every threshold.
Quality figures do not depend on the machine's load. About 11 minutes on a 2-core machine (most of it the
open-domain reading). Run from the repository root::

    python bench/answer_ranking.py
    python bench/answer_ranking.py --cache .bench/ranking.pkl   # keep the candidates: later runs only rank
    python bench/answer_ranking.py --paragraphs 2     # smoke test: the first 2 paragraphs of each article
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from train_squad import PEER, SQUAD_DEV, TRAIN_ARTICLES  # noqa: E402  (path set above)

import docqa.readers.extractive_reader as extractive_reader  # noqa: E402
from docqa.evaluation import SquadDataset, evaluate_reader, squad_v2_metrics, threshold_sweep  # noqa: E402
from docqa.evaluation.squad_eval import prediction_from_answers  # noqa: E402
from docqa.pipelines import BM25_RETRIEVER_WEIGHT  # noqa: E402
from docqa.readers import ExtractiveReader  # noqa: E402
from docqa.readers.answer_ranking import QuestionCandidates, rank_answers  # noqa: E402
from docqa.schema import Answer, Document  # noqa: E402

WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)


@dataclass
class Recorded:
    """One question as the reader saw it: its documents and span candidates."""

    qid: str
    query: str
    documents: Sequence[Document]
    candidates: QuestionCandidates


@contextmanager
def recording(into: list[tuple[str, Sequence[Document], QuestionCandidates]]) -> Iterator[None]:
    """Record every ``(query, documents, candidates)`` the reader ranks (in question order), ranking as usual."""
    original = extractive_reader.rank_answers

    def record(query: str, documents: Sequence[Document], candidates: QuestionCandidates, *args: Any, **kw: Any):
        into.append((query, documents, candidates))
        return original(query, documents, candidates, *args, **kw)

    extractive_reader.rank_answers = record  # type: ignore[assignment]
    try:
        yield
    finally:
        extractive_reader.rank_answers = original  # type: ignore[assignment]


def read(eval_file: Path, dataset: SquadDataset, open_domain: bool) -> list[Recorded]:
    seen: list[tuple[str, Sequence[Document], QuestionCandidates]] = []
    reader = ExtractiveReader(model=str(PEER))
    started = time.perf_counter()
    with recording(seen):
        evaluate_reader(reader, eval_file, open_domain=open_domain, retriever_top_k=10, progress=sys.stderr.isatty())
    mode = "open-domain" if open_domain else "gold paragraph"
    print(f"[{mode}: read in {time.perf_counter() - started:.0f} s]", file=sys.stderr)
    questions = list(dataset.questions())
    assert len(seen) == len(questions)
    return [Recorded(q.qid, query, docs, found) for q, (query, docs, found) in zip(questions, seen, strict=True)]


Ranking = Callable[[Recorded], list[Answer]]


def today(item: Recorded) -> list[Answer]:
    """The ranking before this change, for the decision it makes: the best single (passage, span) candidate,
    and the no-answer with the margin of that candidate."""
    doc, start, end, score = item.candidates.unique_spans()
    null = item.candidates.null_score
    if not len(score):
        return [Answer(item.query, None, 0.0, 1.0, meta={"no_answer_margin": None})]
    document = item.documents[int(doc[0])]
    best = Answer(item.query, document.content[int(start[0]) : int(end[0])], float(score[0]), 0.0, document)
    no_answer = Answer(item.query, None, null, 0.0, meta={"no_answer_margin": float(score[0]) - null})
    return [best, no_answer] if score[0] - null >= 0 else [no_answer, best]


def ranked(group_by: str, weight: float = 0.0) -> Ranking:
    def rank(item: Recorded) -> list[Answer]:
        return rank_answers(
            item.query, item.documents, item.candidates, 1, True, 0.0, group_by=group_by, retriever_weight=weight
        )

    return rank


def scores(items: list[Recorded], ranking: Ranking, gold: dict[str, tuple[str, ...]]) -> dict[str, float]:
    """EM / F1 / HasAns F1 always answering, F1 at threshold 0 and the best F1, over ``items``."""
    predictions = {item.qid: prediction_from_answers(ranking(item)) for item in items}
    subset = {item.qid: gold[item.qid] for item in items}
    always = squad_v2_metrics(subset, {q: p.span_text for q, p in predictions.items()}).to_dict()
    na_probs = {q: p.na_prob for q, p in predictions.items()}
    at_zero = squad_v2_metrics(subset, {q: p.text for q, p in predictions.items()}, na_probs, 0.0).to_dict()
    best_f1, _ = threshold_sweep(subset, {q: p.span_text for q, p in predictions.items()}, na_probs).best("f1")
    return {
        "EM": always["exact"], "F1": always["f1"], "HasAns EM": always.get("HasAns_exact", 0.0),
        "HasAns F1": always.get("HasAns_f1", 0.0), "F1 at 0": at_zero["f1"], "best F1": best_f1,
    }  # fmt: skip


COLUMNS = ("EM", "F1", "HasAns EM", "HasAns F1", "F1 at 0", "best F1")


def table(title: str, rows: list[tuple[str, dict[str, float]]], questions: int) -> None:
    print(f"\n{title} ({questions} questions)\n")
    print("| ranking | always: EM | F1 | answerable EM | answerable F1 | F1 at threshold 0 | best F1 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, row in rows:
        print(f"| {name} | " + " | ".join(f"{row[column]:.2f}" for column in COLUMNS) + " |")


def held_out(folder: Path, paragraphs: int | None) -> Path:
    """Articles 13-16 of the dev half (each cut to its first ``paragraphs``) as a SQuAD file in ``folder``."""
    data = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))
    articles = [{**a, "paragraphs": a["paragraphs"][:paragraphs]} for a in data["data"][TRAIN_ARTICLES:]]
    path = folder / "articles-13-16.json"
    path.write_text(json.dumps({"version": data["version"], "data": articles}), encoding="utf-8")
    return path


def by_articles(items: list[Recorded], dataset: SquadDataset, articles: set[int]) -> list[Recorded]:
    keep = {q.qid for p in dataset.paragraphs if p.article in articles for q in p.questions}
    return [item for item in items if item.qid in keep]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paragraphs", type=int, default=None, help="Keep each article's first N (smoke test).")
    parser.add_argument("--cache", type=Path, default=None, help="Pickle of the candidates: written, then reused.")
    args = parser.parse_args()
    dataset, open_items, gold_items = recorded(args.paragraphs, args.cache)
    gold = dataset.gold_answers()
    variants: list[tuple[str, Ranking]] = [
        ("before (each passage's span alone)", today),
        ('merged places (group_by="span")', ranked("span")),
        ('grouped text (group_by="text")', ranked("text")),
    ]
    defaults = (
        f'docqa\'s defaults (group_by="text", w={BM25_RETRIEVER_WEIGHT:g})',
        ranked("text", BM25_RETRIEVER_WEIGHT),
    )
    print(f"reader {PEER.name}, articles 13-16 of the dev half, BM25 top 10 of 120-word passages (overlap 20)")
    rows = [(name, scores(open_items, ranking, gold)) for name, ranking in [*variants, defaults]]
    table("Open-domain, articles 13-16", rows, len(open_items))
    table("Gold paragraph, articles 13-16", [(n, scores(gold_items, r, gold)) for n, r in variants], len(gold_items))
    fusion(open_items, dataset, gold, variants)


def recorded(paragraphs: int | None, cache: Path | None) -> tuple[SquadDataset, list[Recorded], list[Recorded]]:
    """The held-out file and its questions' candidates, open-domain and gold paragraph (read, or from ``cache``)."""
    if cache is not None and cache.is_file():
        with cache.open("rb") as handle:
            found: tuple[SquadDataset, list[Recorded], list[Recorded]] = pickle.load(handle)  # a file this script wrote
        return found
    with tempfile.TemporaryDirectory(prefix="docqa-ranking-") as folder:
        eval_file = held_out(Path(folder), paragraphs)
        dataset = SquadDataset.load(eval_file)
        found = dataset, read(eval_file, dataset, open_domain=True), read(eval_file, dataset, open_domain=False)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.open("wb") as handle:
            pickle.dump(found, handle)
    return found


def fusion(
    items: list[Recorded], dataset: SquadDataset, gold: dict[str, tuple[str, ...]], variants: list[tuple[str, Ranking]]
) -> None:
    """Choose ``w`` (and the grouping it fuses with) on articles 13-14, report on 15-16."""
    choose, report = by_articles(items, dataset, {0, 1}), by_articles(items, dataset, {2, 3})
    grid = [(group_by, w, scores(choose, ranked(group_by, w), gold)) for group_by in ("span", "text") for w in WEIGHTS]
    print(f"\nFusion weight on articles 13-14 ({len(choose)} questions): HasAns F1 always answering\n")
    print("| w | " + " | ".join(f"{w:g}" for w in WEIGHTS) + " |")
    print("|---|" + "---:|" * len(WEIGHTS))
    for group_by in ("span", "text"):
        row = [f"{r['HasAns F1']:.2f}" for g, _, r in grid if g == group_by]
        print(f'| group_by="{group_by}" | ' + " | ".join(row) + " |")
    group_by, weight, _ = max(grid, key=lambda entry: (entry[2]["HasAns F1"], -entry[1]))
    rows = [(name, scores(report, ranking, gold)) for name, ranking in variants]
    name = f'fusion w={weight:g} (group_by="{group_by}", chosen on 13-14)'
    rows.append((name, scores(report, ranked(group_by, weight), gold)))
    table("Open-domain, articles 15-16 (held out from the choice of w)", rows, len(report))


if __name__ == "__main__":
    main()
