"""docqa's Haystack ExtractiveReader against Haystack's TransformersExtractiveReader: same weights, questions, threads.

The model is the small real reader ``../shared/models/minilm-l6-squad2-half12``; the workload the 1,629 questions of
the 4 articles it was not trained on (articles 13-16 of ``squad2-dev-half``), each with its own paragraph, scored
with the official SQuAD 2.0 metrics. Systems, all on the CPU with the same thread count and window geometry
(384 tokens, stride 128):

* ``docqa-reader``: docqa's own ``ExtractiveReader.run``, one question per call (the reference);
* ``component``: ``docqa.integrations.haystack.ExtractiveReader.run``, one question per call, as a Haystack
  ``Pipeline`` calls it;
* ``component-fp32``: the same with ``dtype="float32"`` (docqa's readers above run at their default
  ``dtype="auto"``: bfloat16 on a CPU with native bfloat16 units, float32 elsewhere; the header says which);
* ``component-batch``: its ``run_batch``, ``--questions-per-call`` questions per call;
* ``component-onnx``: ``run`` with ``backend="onnx"`` (docqa's ONNX Runtime path, fp32);
* ``peer``: ``TransformersExtractiveReader`` (transformers-haystack 2.0.0 on haystack-ai 3.4.1, transformers 5,
  torch 2.13: ``.bench/haystack3-venv``, created on first use), one question per call (its ``run`` takes one).

Each system is a worker subprocess that loads its model once (and answers two questions to warm up), then answers
the chunks of ``--chunk`` questions it is sent; the chunks go to the systems in turn, the first system rotating from
chunk to chunk, so that the machine's drift hits every system alike. Timed: answering, in every chunk.

Columns: questions/s and its ratio to the peer's; official F1 and EM (no-answer decided at threshold 0, each system
its own way); HasAns F1 when always answering (the best span, whatever the no-answer says); NoAns accuracy; how
often the top answer and the best span equal docqa's reader's; how often the whole answer list (texts, scores,
offsets) is identical to docqa's reader's; the worker's peak RSS. Run from the repository root::

    python bench/haystack_reader.py                      # all systems, 1,629 questions (about 10 minutes)
    python bench/haystack_reader.py --limit 200 --systems component,peer   # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from reader_real import (  # noqa: E402
    BENCH_DIR,
    GEOMETRY,
    MODEL,
    _percent,
    _systems,
    ensure_peer_venv,
    held_out_cases,
    score,
)

PEER_VENV = BENCH_DIR / "haystack3-venv"
PEER_PINS = [
    "haystack-ai==3.4.1",
    "transformers-haystack==2.0.0",
    "transformers==5.25.0",
    "torch==2.13.0",
    "accelerate==1.16.0",
]
REFERENCE = "docqa-reader"
PEER = "peer"
TOP_K = 2
LABELS = {
    "docqa-reader": "docqa `ExtractiveReader.run` (reference)",
    "component": "docqa Haystack `ExtractiveReader.run`",
    "component-fp32": 'docqa Haystack `ExtractiveReader(dtype="float32").run`',
    "component-batch": "docqa Haystack `ExtractiveReader.run_batch`",
    "component-onnx": 'docqa Haystack `ExtractiveReader(backend="onnx").run`',
    "peer": "`TransformersExtractiveReader.run` (transformers-haystack 2.0.0)",
}
DONE = "@@haystack-reader-bench-done"

#: How both sides report a Haystack answer: text (None: no answer), score, document offsets.
PACKED = r"""
def packed(answers):
    spans = [(a.document_offset.start, a.document_offset.end) if a.document_offset else (None, None) for a in answers]
    return [[a.data, a.score, *span] for a, span in zip(answers, spans)]
"""

#: Every worker: read the job, warm up, then answer the chunks named on stdin (``[first, last, result file]``).
WORKER_LOOP = r"""
import json, sys, time
job = json.load(open(sys.argv[1]))
torch.set_num_threads(job["threads"])
questions, contexts = job["questions"], job["contexts"]
reader = build(job)
answer_chunk(reader, questions[:2], contexts[:2])
def peak_rss_mib():
    return next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
def prediction(answers):
    best_span = next((a for a in answers if a[0] is not None), None)
    return {"text": answers[0][0] or "", "span": best_span[0] if best_span else "", "answers": answers}
print(DONE, flush=True)
for line in sys.stdin:
    first, last, out = json.loads(line)
    start = time.perf_counter()
    answered = answer_chunk(reader, questions[first:last], contexts[first:last])
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "predictions": [prediction(a) for a in answered], "peak_rss_mib": peak_rss_mib()}
    json.dump(result, open(out, "w"))
    print(DONE, flush=True)
"""

#: docqa's side: ``build`` and ``answer_chunk`` of each docqa system (``job["system"]``).
DOCQA_SIDE = r"""
import torch
from haystack import Document
from docqa.integrations.haystack import ExtractiveReader
from docqa.readers import ExtractiveReader as DocqaReader
from docqa.schema import Document as DocqaDocument
SETTINGS = {"docqa-reader": {}, "component": {}, "component-fp32": {"dtype": "float32"}, "component-batch": {},
            "component-onnx": {"backend": "onnx"}}
def build(job):
    kind = DocqaReader if job["system"] == "docqa-reader" else ExtractiveReader
    options = dict(model=job["model"], device="cpu", top_k=job["top_k"], batch_size=job["batch_size"])
    reader = kind(**options, **job["geometry"], **SETTINGS[job["system"]])
    reader.warm_up()
    return reader
def packed_docqa(answers):
    spans = [(a.document_span.start, a.document_span.end) if a.document_span else (None, None) for a in answers]
    return [[a.text, a.probability, *span] for a, span in zip(answers, spans)]
def answer_chunk(reader, questions, contexts):
    if job["system"] == "docqa-reader":
        return [packed_docqa(reader.run(q, [DocqaDocument(c)])["answers"]) for q, c in zip(questions, contexts)]
    if job["system"] != "component-batch":
        return [packed(reader.run(q, [Document(content=c)])["answers"]) for q, c in zip(questions, contexts)]
    step, found = job["questions_per_call"], []
    for i in range(0, len(questions), step):
        groups = [[Document(content=c)] for c in contexts[i : i + step]]
        found += [packed(a) for a in reader.run_batch(questions[i : i + step], groups)["answers"]]
    return found
"""

#: The peer's side, in its own virtual environment.
PEER_SIDE = r"""
import torch
from haystack import Document
from haystack.utils import ComponentDevice
from haystack_integrations.components.readers.transformers import TransformersExtractiveReader
def build(job):
    g = job["geometry"]
    reader = TransformersExtractiveReader(model=job["model"], device=ComponentDevice.from_str("cpu"),
                                          top_k=job["top_k"], max_seq_length=g["max_seq_len"], stride=g["doc_stride"],
                                          no_answer=True)
    reader.warm_up()
    return reader
def answer_chunk(reader, questions, contexts):
    return [packed(reader.run(query=q, documents=[Document(content=c)])["answers"])
            for q, c in zip(questions, contexts)]
"""


class Worker:
    """One system's subprocess: started with the job, then sent chunks one at a time."""

    def __init__(self, system: str, job: dict[str, Any], folder: Path) -> None:
        self.system = system
        script = folder / f"{system}.py"
        side = PEER_SIDE if system == PEER else DOCQA_SIDE
        script.write_text(f"DONE = {DONE!r}\n{PACKED}\n{side}\n{WORKER_LOOP}", encoding="utf-8")
        job_path = folder / f"{system}.json"
        job_path.write_text(json.dumps({**job, "system": system}), encoding="utf-8")
        python = ensure_peer_venv(PEER_VENV, PEER_PINS) if system == PEER else Path(sys.executable)
        environment = {"HF_HUB_OFFLINE": "1", "HAYSTACK_TELEMETRY_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false"}
        self.process = subprocess.Popen(
            [str(python), str(script), str(job_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **environment},
        )
        self.folder = folder
        self._wait()

    def _wait(self) -> None:
        stdout: TextIO = self.process.stdout  # type: ignore[assignment]
        for line in stdout:
            if line.strip() == DONE:
                return
        raise RuntimeError(f"{self.system}: the worker stopped (exit code {self.process.wait()})")

    def answer(self, first: int, last: int) -> dict[str, Any]:
        out = self.folder / f"{self.system}-{first}.json"
        stdin: TextIO = self.process.stdin  # type: ignore[assignment]
        stdin.write(json.dumps([first, last, str(out)]) + "\n")
        stdin.flush()
        self._wait()
        return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


def run_rounds(systems: Sequence[str], job: dict[str, Any], chunk: int) -> dict[str, dict[str, Any]]:
    """Each system's merged result over all chunks, the systems taking turns chunk by chunk."""
    total = len(job["questions"])
    results: dict[str, dict[str, Any]] = {s: {"seconds": 0.0, "predictions": [], "peak_rss_mib": 0.0} for s in systems}
    with tempfile.TemporaryDirectory() as tmp:
        workers = [Worker(system, job, Path(tmp)) for system in systems]
        try:
            for round_number, first in enumerate(range(0, total, chunk)):
                shift = round_number % len(workers)
                for worker in workers[shift:] + workers[:shift]:
                    part = worker.answer(first, min(first + chunk, total))
                    merged = results[worker.system]
                    merged["seconds"] += part["seconds"]
                    merged["predictions"] += part["predictions"]
                    merged["peak_rss_mib"] = max(merged["peak_rss_mib"], part["peak_rss_mib"])
                print(f"  {min(first + chunk, total)}/{total} questions", file=sys.stderr)
        finally:
            for worker in workers:
                worker.close()
    return results


def table(cases: list[dict[str, Any]], results: dict[str, dict[str, Any]]) -> str:
    reference = results.get(REFERENCE)
    peer_qps = len(cases) / results[PEER]["seconds"] if PEER in results else None
    lines = [
        "| system (same model, CPU) | questions/s | vs peer | F1 | EM | HasAns F1, always answering | NoAns acc "
        "| same top answer as docqa's reader | same best span | identical answer lists | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for system, result in results.items():
        row = score(cases, result, None if system == REFERENCE else reference)
        ratio = f"{row['qps'] / peer_qps:.2f}x" if peer_qps else "–"
        same = _identical(result, reference) if reference is not None and system != REFERENCE else "–"
        top, span = _percent(row["same_top"]), _percent(row["same_span"])  # NaN for the reference: "–"
        lines.append(
            f"| {LABELS[system]} | {row['qps']:.1f} | {ratio} | {row['f1']:.2f} | {row['em']:.2f} "
            f"| {row['has_f1_always']:.2f} | {row['no_ans_acc']:.1f} | {top} | {span} | {same} | {row['rss']:.0f} |"
        )
    return "\n".join(lines)


def _identical(result: dict[str, Any], reference: dict[str, Any]) -> str:
    pairs = list(zip(result["predictions"], reference["predictions"], strict=True))
    return f"{100.0 * sum(a['answers'] == b['answers'] for a, b in pairs) / len(pairs):.1f}%"


def parse_args() -> argparse.Namespace:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", default=",".join(LABELS), help=f"comma-separated, of {list(LABELS)}")
    parser.add_argument("--chunk", type=int, default=128, help="questions per turn of each system")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--limit", type=int, default=None, help="only the first N held-out questions")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="default: physical cores")
    parser.add_argument("--batch-size", type=int, default=32, help="docqa windows per forward pass")
    parser.add_argument("--questions-per-call", type=int, default=64, help="questions per run_batch call")
    args = parser.parse_args()
    args.systems = _systems(parser, args.systems, list(LABELS))
    return args


def auto_dtype() -> str:
    """What docqa's reader loads with ``dtype="auto"`` on this CPU (``DOCQA_DTYPE`` included)."""
    from docqa.hub import resolve_dtype

    return str(resolve_dtype("bench", "auto", "cpu", half_on_cpu=True)).removeprefix("torch.")


def main() -> None:
    args = parse_args()
    cases, paragraphs = held_out_cases(args.limit)
    job = {
        "model": str(args.model.resolve()),
        "questions": [case["question"] for case in cases],
        "contexts": [paragraphs[case["article"]][case["paragraph"]] for case in cases],
        "threads": args.threads,
        "top_k": TOP_K,
        "batch_size": args.batch_size,
        "questions_per_call": args.questions_per_call,
        "geometry": GEOMETRY,
    }
    print(
        f"model {args.model.name}, {len(cases)} held-out questions, CPU, {args.threads} threads, top_k {TOP_K}, "
        f"docqa's dtype 'auto' = {auto_dtype()} here, "
        f"max_seq_len 384 / stride 128, chunks of {args.chunk} questions in turn (figures: see the README for "
        "machine load)\n"
    )
    systems = [REFERENCE, *[s for s in args.systems if s != REFERENCE]]  # the reference always runs: agreement
    print(table(cases, run_rounds(systems, job, args.chunk)))


if __name__ == "__main__":
    main()
