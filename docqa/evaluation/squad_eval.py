"""Run a reader over a SQuAD 2.0 file and score it with the official metrics.

Two modes:

* reader-only (default): each question is read against its own gold paragraph;
* open-domain: each question first retrieves ``retriever_top_k`` passages with BM25 and the reader reads those:
  from the ``store`` given, else from the file's articles as ``docqa index`` would index them as text files (each
  article's paragraphs joined by a blank line, split into passages of 120 words sharing 20 with their
  neighbours), so an answer may be found in two overlapping passages, as in use.

Every threshold docqa reports or writes is in the reader's ``no_answer_threshold`` units (answer when best
span - null score is at least it): ``metrics.json`` gives the official script's best thresholds converted
(``best_f1_no_answer_threshold``...). Outputs follow the official formats: ``predictions.json`` maps each
question id to the predicted text (``""`` when the reader predicts no answer) and ``na_probs.json`` maps it to a
**no-answer score** (the official format's own quantity, not a threshold): ``null_score - best_span_score``,
i.e. minus the reader's ``meta["no_answer_margin"]``. Higher means more likely unanswerable, and the reader
predicts no answer exactly when this score exceeds ``-no_answer_threshold``; so the official
``--na-prob-thresh`` for the reader's decisions is ``-no_answer_threshold``. A question with nothing to read (no
retrieved text) gets the largest float as its score: no threshold makes it answerable.

Throughput: *passages* are the (question, document) pairs given to the reader (one per question in
reader-only mode, up to ``retriever_top_k`` in open-domain mode); passages per second counts reader time only
(tokenization and model), questions per second the whole run (retrieval included, model loading excluded).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from docqa.errors import ComponentError, DocqaError
from docqa.evaluation.squad_dataset import SquadDataset, SquadQuestion
from docqa.evaluation.squad_metrics import (
    SquadV1Metrics,
    SquadV2Metrics,
    ThresholdSweep,
    squad_v1_metrics,
    squad_v2_metrics,
    threshold_sweep,
)
from docqa.files import atomic_write_text
from docqa.schema import Answer, Document

#: How a question gets the documents the reader reads.
_Retrieve = Callable[[SquadQuestion], list[Document]]

#: The no-answer score of a question with no text to read: above every real score.
UNANSWERABLE_SCORE = sys.float_info.max


class Reader(Protocol):
    no_answer_threshold: float

    def warm_up(self) -> None: ...

    def run_batch(
        self, query: list[str], documents: list[list[Document]], top_k: int | None = None
    ) -> dict[str, list[list[Answer]]]: ...


@dataclass
class EvalResult:
    """Everything one evaluation run produced: official metrics, predictions, no-answer scores, timings."""

    metrics: SquadV2Metrics
    v1_metrics: SquadV1Metrics | None
    always_answering: SquadV2Metrics
    predictions: dict[str, str]
    na_probs: dict[str, float]
    span_predictions: dict[str, str]
    gold: dict[str, tuple[str, ...]]
    na_prob_thresh: float
    open_domain: bool
    num_passages: int
    reader_seconds: float
    total_seconds: float
    config: dict[str, Any] = field(default_factory=dict)
    squad_version: str = "v2.0"
    version_reason: str = ""

    @property
    def num_questions(self) -> int:
        return len(self.predictions)

    @property
    def passages_per_second(self) -> float | None:
        return self.num_passages / self.reader_seconds if self.reader_seconds > 0 else None

    @property
    def questions_per_second(self) -> float | None:
        return self.num_questions / self.total_seconds if self.total_seconds > 0 else None

    @property
    def no_answer_threshold(self) -> float:
        """The reader's ``no_answer_threshold`` of this run (answer when best span - null score >= it)."""
        return 0.0 - self.na_prob_thresh

    @property
    def margins(self) -> dict[str, float]:
        """Each question's best span - null score (the reader's ``no_answer_margin``); questions with nothing
        to read are left out."""
        return {qid: 0.0 - na_prob for qid, na_prob in self.na_probs.items() if na_prob < UNANSWERABLE_SCORE}

    def sweep(self) -> ThresholdSweep:
        """Exact/F1 at every no-answer threshold from each question's best span (see ``threshold_sweep``), in
        the official script's ``na_prob`` units; :meth:`best_threshold` gives the reader's setting."""
        return threshold_sweep(self.gold, self.span_predictions, self.na_probs)

    def best_threshold(self, metric: str = "f1") -> tuple[float, float]:
        """``(best exact or F1 in %, the no_answer_threshold that gives it)``, over every threshold.

        Evaluating again with ``ExtractiveReader(no_answer_threshold=t)`` (``--no-answer-threshold t``) gives
        that score: ``t`` is the shortest decimal among the thresholds that answer exactly the same questions.
        """
        sweep = self.sweep()
        best, na_threshold = sweep.best(metric)
        index = int(np.searchsorted(sweep.thresholds, na_threshold))
        above = sweep.thresholds[index + 1] if index + 1 < len(sweep.thresholds) else math.inf
        # answered: na_prob <= na_threshold < above, i.e. margin >= t for any t in (-above, -na_threshold]
        high = math.inf if index == 0 else 0.0 - float(na_threshold)
        return best, _shortest_decimal(0.0 - float(above), high)

    def to_dict(self) -> dict[str, Any]:
        best_f1, f1_threshold = self.best_threshold("f1")
        best_exact, exact_threshold = self.best_threshold("exact")
        return {
            "squad_version": self.squad_version,
            "version_reason": self.version_reason,
            "metrics": official_in_reader_units(self.metrics.to_dict()),
            "always_answering": self.always_answering.to_dict(),
            "squad_v1": self.v1_metrics.to_dict() if self.v1_metrics is not None else None,
            "no_answer_threshold": self.no_answer_threshold,
            "best": {
                "f1": best_f1,
                "f1_no_answer_threshold": f1_threshold,
                "exact": best_exact,
                "exact_no_answer_threshold": exact_threshold,
            },
            "open_domain": self.open_domain,
            "questions": self.num_questions,
            "passages": self.num_passages,
            "reader_seconds": self.reader_seconds,
            "total_seconds": self.total_seconds,
            "passages_per_second": self.passages_per_second,
            "questions_per_second": self.questions_per_second,
            "config": self.config,
        }

    def save(self, directory: str | Path) -> list[Path]:
        """Write ``predictions.json``, ``na_probs.json`` (official formats) and ``metrics.json``."""
        out = Path(directory)
        if out.exists() and not out.is_dir():
            raise DocqaError(f"the output folder {out} is a file: give a directory")
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "predictions.json": self.predictions,
            "na_probs.json": self.na_probs,
            "metrics.json": self.to_dict(),
        }
        written = []
        for name, content in files.items():
            path = out / name
            atomic_write_text(path, json.dumps(content, ensure_ascii=False, indent=1))
            written.append(path)
        return written


def official_in_reader_units(metrics: dict[str, Any]) -> dict[str, Any]:
    """The official script's output with its two thresholds (``best_exact_thresh``, ``best_f1_thresh``: na_prob
    units, higher = refuse more) converted to ``no_answer_threshold`` units and named so
    (``best_exact_no_answer_threshold``, ``best_f1_no_answer_threshold``), in place."""
    converted = {}
    for key, value in metrics.items():
        if key in ("best_exact_thresh", "best_f1_thresh"):
            converted[key.removesuffix("_thresh") + "_no_answer_threshold"] = 0.0 - float(value)
        else:
            converted[key] = value
    return converted


def _shortest_decimal(low: float, high: float) -> float:
    """The number with the fewest decimals in ``(low, high]`` (``high`` may be infinite)."""
    for digits in range(17):
        scale = 10.0**digits
        scaled = low * scale + 1 if math.isinf(high) else high * scale
        if not math.isfinite(scaled):
            break
        candidate = math.floor(scaled) / scale
        if low < candidate <= high:
            return 0.0 + candidate  # no -0.0
    return high if math.isfinite(high) else low + max(1.0, abs(low))


@dataclass(frozen=True)
class _Prediction:
    text: str
    span_text: str
    na_prob: float


def prediction_from_answers(answers: Sequence[Answer]) -> _Prediction:
    """The reader's decision on one question: text (``""`` = no answer), best span, no-answer score."""
    no_answer = next((answer for answer in answers if answer.is_no_answer), None)
    if no_answer is None:
        raise ComponentError(
            "evaluate_reader needs the reader's no-answer score: create the reader with no_answer=True"
        )
    best_span = next((answer for answer in answers if not answer.is_no_answer), None)
    margin = no_answer.meta.get("no_answer_margin")
    na_prob = UNANSWERABLE_SCORE if margin is None else 0.0 - float(margin)  # 0.0 - x: no -0.0 in files
    span_text = best_span.text if best_span is not None and best_span.text is not None else ""
    text = "" if answers[0].is_no_answer else span_text
    return _Prediction(text, span_text, na_prob)


def _gold_paragraph_lookup(dataset: SquadDataset) -> _Retrieve:
    documents = {paragraph.index: paragraph.to_document() for paragraph in dataset.paragraphs}
    return lambda question: [documents[question.paragraph_index]]


def _bm25_lookup(dataset: SquadDataset, store: Any | None, top_k: int) -> _Retrieve:
    from docqa.retrievers.bm25_retriever import BM25Retriever

    if store is None:
        from docqa.document_stores.in_memory import InMemoryDocumentStore
        from docqa.preprocessors.document_splitter import INDEX_SPLIT, DocumentSplitter

        store = InMemoryDocumentStore()
        store.write_documents(DocumentSplitter(**INDEX_SPLIT).run(documents=dataset.articles())["documents"])
    retriever = BM25Retriever(store, top_k=top_k)
    return lambda question: list(retriever.run(query=question.question)["documents"])


def evaluate_reader(
    reader: Reader,
    squad_path: str | Path,
    *,
    open_domain: bool = False,
    store: Any | None = None,
    retriever_top_k: int = 10,
    batch_size: int = 64,
    limit: int | None = None,
    progress: bool | None = None,
    output_dir: str | Path | None = None,
) -> EvalResult:
    """Evaluate ``reader`` on the SQuAD 2.0 file ``squad_path`` (see the module doc for modes and outputs).

    ``batch_size`` questions go to ``reader.run_batch`` at once; ``limit`` keeps the first questions of the
    file (open-domain retrieval still searches every article); ``progress``: a progress bar on stderr (``None``:
    only when stderr is a terminal); ``output_dir`` receives the result files.

    Example::

        reader = ExtractiveReader(model="/models/minilm-uncased-squad2")
        result = evaluate_reader(reader, "dev-v2.0.json", limit=200, output_dir="eval-out")
        print(result.metrics.exact, result.metrics.f1, result.metrics.best_f1_thresh)
    """
    if store is not None and not open_domain:
        raise ComponentError("evaluate_reader: a store is only searched with open_domain=True")
    for name, value in (("retriever_top_k", retriever_top_k), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ComponentError(f"evaluate_reader: {name} must be an integer >= 1, got {value!r}")
    full = SquadDataset.load(squad_path)
    dataset = full.head(limit)
    questions = list(dataset.questions())
    if not questions:
        raise ComponentError(f"{squad_path}: the SQuAD file has no questions")
    retrieve = _bm25_lookup(full, store, retriever_top_k) if open_domain else _gold_paragraph_lookup(dataset)
    reader.warm_up()
    started = time.perf_counter()
    predictions, reader_seconds, passages = _predict(reader, questions, retrieve, batch_size, progress)
    total_seconds = time.perf_counter() - started
    result = _score(dataset, predictions, reader, open_domain, passages, reader_seconds, total_seconds)
    result.config.update(
        squad_path=str(squad_path),
        limit=limit,
        retriever_top_k=retriever_top_k if open_domain else None,
        model=getattr(reader, "model", None),
        store_given=store is not None,
        group_by=getattr(reader, "group_by", None),
        retriever_weight=getattr(reader, "retriever_weight", None),
    )
    if output_dir is not None:
        result.save(output_dir)
    return result


def _predict(
    reader: Reader,
    questions: list[SquadQuestion],
    retrieve: _Retrieve,
    batch_size: int,
    progress: bool | None,
) -> tuple[dict[str, _Prediction], float, int]:
    predictions: dict[str, _Prediction] = {}
    reader_seconds = 0.0
    passages = 0
    disable = None if progress is None else not progress  # tqdm's None: only on a terminal
    with tqdm(total=len(questions), unit="q", desc="evaluating", disable=disable) as bar:
        for start in range(0, len(questions), batch_size):
            batch = questions[start : start + batch_size]
            documents = [retrieve(question) for question in batch]
            passages += sum(len(docs) for docs in documents)
            began = time.perf_counter()
            # top_k=1: the best answer and the no-answer, wherever it ranks
            answers = reader.run_batch([q.question for q in batch], documents, top_k=1)["answers"]
            reader_seconds += time.perf_counter() - began
            for question, question_answers in zip(batch, answers, strict=True):
                predictions[question.qid] = prediction_from_answers(question_answers)
            bar.update(len(batch))
    return predictions, reader_seconds, passages


def _score(
    dataset: SquadDataset,
    predictions: dict[str, _Prediction],
    reader: Reader,
    open_domain: bool,
    passages: int,
    reader_seconds: float,
    total_seconds: float,
) -> EvalResult:
    gold = dataset.gold_answers()
    texts = {qid: prediction.text for qid, prediction in predictions.items()}
    na_probs = {qid: prediction.na_prob for qid, prediction in predictions.items()}
    # The reader answers when margin >= threshold, i.e. when na_prob = -margin is not > -threshold.
    na_prob_thresh = 0.0 - float(reader.no_answer_threshold)
    has_answerable = any(gold.values())
    spans = {qid: prediction.span_text for qid, prediction in predictions.items()}
    return EvalResult(
        metrics=squad_v2_metrics(gold, texts, na_probs, na_prob_thresh=na_prob_thresh),
        v1_metrics=squad_v1_metrics(gold, texts) if has_answerable else None,
        always_answering=squad_v2_metrics(gold, spans),
        predictions=texts,
        na_probs=na_probs,
        span_predictions=spans,
        gold=gold,
        na_prob_thresh=na_prob_thresh,
        open_domain=open_domain,
        num_passages=passages,
        reader_seconds=reader_seconds,
        total_seconds=total_seconds,
        config={"no_answer_threshold": float(reader.no_answer_threshold)},
        squad_version=dataset.squad_version,
        version_reason=dataset.version_reason,
    )
