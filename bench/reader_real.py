"""Reader speed and accuracy on real weights: docqa's ExtractiveReader variants and two peers, same questions.

The model is the small real reader ``../shared/models/minilm-l6-squad2-half12`` (BERT, 6 layers, 384 hidden);
the workload is the 4 articles it was not trained on (the last 4 of ``squad2-dev-half``: 1,629 questions,
each with its own paragraph), scored with the official SQuAD 2.0 metrics. Every system runs in its own
subprocess, one after the other, with the same thread count: docqa's variants with this repository's
environment; transformers 4.57's question-answering pipeline and Haystack 2.31's ExtractiveReader in a
virtual environment of their own (``.bench/haystack-venv``, created on first use: neither fits docqa's
transformers 5). Timed: answering all questions, after loading the model and a two-question warm-up.

A second table covers long documents: every ``--long-every``-th question gets a document of
``--long-paragraphs`` consecutive paragraphs of its article (its own among them), several 384-token
windows each, stride 128.

Columns: questions/s; official F1 and EM (no-answer decided at threshold 0, each system's own way); HasAns
F1 when always answering (the best span, whatever the no-answer score); NoAns accuracy; how often the top
answer (a text or "no answer") and the best span equal docqa fp32's; the subprocess's peak RSS; speed
relative to the faster peer. Run from the repository root::

    python bench/reader_real.py                 # both tables (about 14 minutes on 2 idle cores)
    python bench/reader_real.py --limit 100 --long-every 40   # a quick check
    python bench/reader_real.py --systems docqa-onnx-int8,haystack --no-long
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BENCH_DIR = REPO / ".bench"
PEER_VENV = BENCH_DIR / "haystack-venv"
PEER_PINS = ["haystack-ai==2.31.0", "transformers==4.57.6", "torch==2.13.0", "accelerate==1.15.0"]
SHARED = REPO / ".." / "shared"
SQUAD_DEV = SHARED / "data" / "squad2-dev-half" / "dev-v2.0-half.json"
MODEL = SHARED / "models" / "minilm-l6-squad2-half12"
HELD_OUT_ARTICLES = 4
GEOMETRY = {"max_seq_len": 384, "doc_stride": 128, "max_query_length": 64, "max_answer_length": 30}

#: docqa's variants: ExtractiveReader keyword arguments.
DOCQA_SYSTEMS: dict[str, dict[str, Any]] = {
    "docqa-torch": {"backend": "torch", "dtype": "float32"},
    "docqa-torch-bf16": {"backend": "torch", "dtype": "bfloat16"},
    "docqa-onnx-plain": {"backend": "onnx", "onnx_optimize": False},
    "docqa-onnx": {"backend": "onnx"},
    "docqa-torch-int8": {"backend": "torch", "quantize": True},
    "docqa-onnx-int8": {"backend": "onnx", "quantize": True},
}
LABELS = {
    "docqa-torch": 'docqa torch fp32 (`run_batch`, `dtype="float32"`)',
    "docqa-torch-bf16": 'docqa torch bf16 (`dtype="auto"` on a CPU with native bf16)',
    "docqa-onnx-plain": 'docqa `backend="onnx", onnx_optimize=False` (plain graph)',
    "docqa-onnx": 'docqa `backend="onnx"` (fused-attention graph)',
    "docqa-torch-int8": "docqa `quantize=True` (torch int8 dynamic)",
    "docqa-onnx-int8": 'docqa `backend="onnx", quantize=True` (ONNX Runtime int8)',
    "transformers": "transformers 4.57 QA pipeline",
    "haystack": "Haystack 2.31 `ExtractiveReader`",
}
PEERS = ("transformers", "haystack")
REFERENCE = "docqa-torch"
LONG_SYSTEMS = ("docqa-torch", "docqa-torch-bf16", "docqa-onnx", "docqa-onnx-int8", *PEERS)

#: Both peers read the job written by ``run_system`` and write the same result layout as ``docqa_side``.
PEER_COMMON = r"""
import json, sys, time, torch
job = json.load(open(sys.argv[1]))
torch.set_num_threads(job["threads"])
def peak_rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
def finish(seconds, predictions):
    gpu = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    result = {"seconds": seconds, "peak_rss_mib": peak_rss_mib(), "peak_gpu_mib": gpu, "predictions": predictions}
    json.dump(result, open(sys.argv[2], "w"))
questions, contexts, g = job["questions"], job["contexts"], job["geometry"]
"""

TRANSFORMERS_SIDE = (
    PEER_COMMON
    + r"""
from transformers import pipeline
qa = pipeline("question-answering", model=job["model"], tokenizer=job["model"], device=job.get("device", -1))
options = dict(top_k=2, handle_impossible_answer=True, max_seq_len=g["max_seq_len"], doc_stride=g["doc_stride"],
               max_question_len=g["max_query_length"], max_answer_len=g["max_answer_length"],
               batch_size=job["peer_batch_size"])
qa(question=questions[:2], context=contexts[:2], **options)
start = time.perf_counter()
outputs = qa(question=questions, context=contexts, **options)
seconds = time.perf_counter() - start
predictions = []
for answers in outputs:
    answers = answers if isinstance(answers, list) else [answers]
    spans = [a for a in answers if a["answer"] or a["end"] > 0]
    span = spans[0]["answer"] if spans else ""
    predictions.append({"text": answers[0]["answer"], "span": span})
finish(seconds, predictions)
"""
)

HAYSTACK_SIDE = (
    PEER_COMMON
    + r"""
from haystack import Document
from haystack.components.readers import ExtractiveReader
from haystack.utils import ComponentDevice
reader = ExtractiveReader(model=job["model"], top_k=1, max_seq_length=g["max_seq_len"], stride=g["doc_stride"],
                          no_answer=True, max_batch_size=job["peer_batch_size"], device=ComponentDevice.from_str("cpu"))
reader.warm_up()
def answer(question, context):
    answers = reader.run(query=question, documents=[Document(content=context)])["answers"]
    span = next((a.data for a in answers if a.data is not None), "")
    return {"text": answers[0].data or "", "span": span}
for question, context in zip(questions[:2], contexts[:2]):
    answer(question, context)
start = time.perf_counter()
predictions = [answer(question, context) for question, context in zip(questions, contexts)]
finish(time.perf_counter() - start, predictions)
"""
)


def docqa_side(system: str, job_path: Path, result_path: Path) -> None:
    """Run one docqa variant on the job's questions (this is the subprocess of ``run_system``)."""
    import torch

    from docqa.evaluation.squad_eval import prediction_from_answers
    from docqa.readers import ExtractiveReader
    from docqa.schema import Document

    job = json.loads(job_path.read_text(encoding="utf-8"))
    torch.set_num_threads(job["threads"])
    reader = ExtractiveReader(
        model=job["model"], device="cpu", batch_size=job["batch_size"], **job["geometry"], **DOCQA_SYSTEMS[system]
    )
    questions, documents = job["questions"], [[Document(text)] for text in job["contexts"]]
    began = time.perf_counter()
    reader.run_batch(questions[:2], documents[:2], top_k=2)  # loads (and on first use exports) the model
    warm_up = time.perf_counter() - began
    step = job["questions_per_call"]
    start = time.perf_counter()
    predictions = []
    for first in range(0, len(questions), step):
        answers = reader.run_batch(questions[first : first + step], documents[first : first + step], top_k=2)
        predictions += [prediction_from_answers(found) for found in answers["answers"]]
    seconds = time.perf_counter() - start
    result = {
        "seconds": seconds,
        "warm_up_seconds": warm_up,
        "peak_rss_mib": _peak_rss_mib(),
        "predictions": [{"text": p.text, "span": p.span_text} for p in predictions],
    }
    result_path.write_text(json.dumps(result), encoding="utf-8")


def _peak_rss_mib() -> float:
    # VmHWM, not ru_maxrss: ru_maxrss survives fork+exec, so it would report the parent's peak
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ensure_peer_venv(venv: Path = PEER_VENV, pins: Sequence[str] = PEER_PINS) -> Path:
    """The python of the peers' virtual environment ``venv``, created with ``pins`` on first use."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], check=True)
    return python


def run_system(system: str, job: dict[str, Any]) -> dict[str, Any]:
    """Run ``system`` in a fresh subprocess on ``job``; its result dict (seconds, peak RSS, predictions)."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HAYSTACK_TELEMETRY_ENABLED": "False",
        "TOKENIZERS_PARALLELISM": "false",
    }
    with tempfile.TemporaryDirectory() as tmp:
        job_path, result_path = Path(tmp, "job.json"), Path(tmp, "result.json")
        job_path.write_text(json.dumps(job), encoding="utf-8")
        if system in DOCQA_SYSTEMS:
            command = [sys.executable, __file__, "--side", system, str(job_path), str(result_path)]
        else:
            script = Path(tmp, "side.py")
            script.write_text(TRANSFORMERS_SIDE if system == "transformers" else HAYSTACK_SIDE, encoding="utf-8")
            command = [str(ensure_peer_venv()), str(script), str(job_path), str(result_path)]
        subprocess.run(command, check=True, env=env)
        return json.loads(result_path.read_text(encoding="utf-8"))


def held_out_cases(limit: int | None) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """The held-out articles' questions in file order (``limit``: the first ones), and the articles'
    paragraphs (for the long documents). Each case: qid, question, answers, article, paragraph."""
    articles = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))["data"][-HELD_OUT_ARTICLES:]
    cases = [
        {
            "qid": qa["id"],
            "question": qa["question"],
            "answers": [a["text"] for a in qa["answers"]],
            "article": a,
            "paragraph": p,
        }
        for a, article in enumerate(articles)
        for p, paragraph in enumerate(article["paragraphs"])
        for qa in paragraph["qas"]
    ]
    paragraphs = [[paragraph["context"] for paragraph in article["paragraphs"]] for article in articles]
    return cases[:limit], paragraphs


def long_context(case: dict[str, Any], paragraphs: list[list[str]], count: int) -> str:
    """``count`` consecutive paragraphs of the case's article, its own in the middle (cyclically)."""
    article = paragraphs[case["article"]]
    first = case["paragraph"] - count // 2
    return "\n\n".join(article[(first + offset) % len(article)] for offset in range(count))


def score(cases: Sequence[dict[str, Any]], result: dict[str, Any], reference: dict[str, Any] | None) -> dict[str, Any]:
    """The table row of one system's result: speed, official metrics, agreement with the reference."""
    from docqa.evaluation.squad_metrics import squad_v2_metrics

    gold = {case["qid"]: tuple(case["answers"]) for case in cases}
    predictions = result["predictions"]
    texts = {case["qid"]: p["text"] for case, p in zip(cases, predictions, strict=True)}
    spans = {case["qid"]: p["span"] for case, p in zip(cases, predictions, strict=True)}
    official = squad_v2_metrics(gold, texts)
    always = squad_v2_metrics(gold, spans)
    row = {
        "qps": len(cases) / result["seconds"],
        "f1": official.f1,
        "em": official.exact,
        "has_f1_always": always.has_answer.f1 if always.has_answer else float("nan"),
        "no_ans_acc": official.no_answer.exact if official.no_answer else float("nan"),
        "rss": result["peak_rss_mib"],
        "same_top": float("nan"),
        "same_span": float("nan"),
    }
    if reference is not None:
        pairs = list(zip(predictions, reference["predictions"], strict=True))
        row["same_top"] = 100.0 * sum(_norm(a["text"]) == _norm(b["text"]) for a, b in pairs) / len(pairs)
        row["same_span"] = 100.0 * sum(_norm(a["span"]) == _norm(b["span"]) for a, b in pairs) / len(pairs)
    return row


def _norm(text: str) -> str:
    return " ".join(text.split())


def table(title: str, rows: dict[str, dict[str, Any]]) -> str:
    peers = [rows[p]["qps"] for p in PEERS if p in rows]
    fastest = max(peers) if peers else None
    lines = [
        f"**{title}**",
        "",
        "| system (same model) | questions/s | vs faster peer | F1 | EM | HasAns F1, always answering | NoAns acc "
        "| same top answer as docqa fp32 | same best span | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for system, row in rows.items():
        ratio = f"{row['qps'] / fastest:.2f}x" if fastest else "–"
        lines.append(
            f"| {LABELS[system]} | {row['qps']:.1f} | {ratio} | {row['f1']:.2f} | {row['em']:.2f} "
            f"| {row['has_f1_always']:.2f} | {row['no_ans_acc']:.1f} | {_percent(row['same_top'])} "
            f"| {_percent(row['same_span'])} | {row['rss']:.0f} |"
        )
    return "\n".join(lines)


def _percent(value: float) -> str:
    return "–" if value != value else f"{value:.1f}%"


def run_workload(
    title: str, cases: list[dict[str, Any]], contexts: list[str], systems: Sequence[str], args: argparse.Namespace
) -> str:
    job = {
        "model": str(args.model.resolve()),
        "questions": [case["question"] for case in cases],
        "contexts": contexts,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "peer_batch_size": args.peer_batch_size,
        "questions_per_call": args.questions_per_call,
        "geometry": GEOMETRY,
    }
    digest = hashlib.blake2b(json.dumps(job, sort_keys=True).encode(), digest_size=6).hexdigest()
    print(f"{title}: {len(cases)} questions (job {digest})", file=sys.stderr)
    ordered = [REFERENCE, *[s for s in systems if s != REFERENCE]]  # the reference first: agreement needs it
    results: dict[str, dict[str, Any]] = {}
    for system in ordered:
        began = time.perf_counter()
        results[system] = run_system(system, job)
        print(f"  {system}: {time.perf_counter() - began:.0f} s", file=sys.stderr)
    rows = {s: score(cases, results[s], None if s == REFERENCE else results[REFERENCE]) for s in ordered}
    return table(title, rows)


def parse_args() -> argparse.Namespace:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    systems = [*DOCQA_SYSTEMS, *PEERS]
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--limit", type=int, default=None, help="only the first N held-out questions")
    parser.add_argument("--systems", default=",".join(systems), help=f"comma-separated, of {systems}")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="default: physical cores")
    parser.add_argument("--batch-size", type=int, default=32, help="docqa windows per forward pass")
    parser.add_argument("--questions-per-call", type=int, default=64, help="questions per docqa run_batch call")
    parser.add_argument("--peer-batch-size", type=int, default=1, help="the peers' batch size (their default)")
    parser.add_argument("--long-every", type=int, default=12, help="long documents: every N-th question")
    parser.add_argument("--long-paragraphs", type=int, default=3, help="paragraphs per long document")
    parser.add_argument("--long-systems", default=",".join(LONG_SYSTEMS), help="systems of the long table")
    parser.add_argument("--no-long", action="store_true", help="skip the long-document table")
    args = parser.parse_args()
    args.systems = _systems(parser, args.systems, systems)
    from docqa.hub import device_dtypes

    if "bfloat16" not in device_dtypes("cpu"):  # no native bf16 here: docqa refuses it, "auto" is fp32
        args.systems = [s for s in args.systems if s != "docqa-torch-bf16"]
    args.long_systems = [s for s in _systems(parser, args.long_systems, systems) if s in args.systems]
    return args


def _systems(parser: argparse.ArgumentParser, text: str, known: list[str]) -> list[str]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown:
        parser.error(f"unknown systems {unknown}; known: {known}")
    return chosen


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--side":
        docqa_side(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    args = parse_args()
    cases, paragraphs = held_out_cases(args.limit)
    print(
        f"model {args.model.name}, {args.threads} threads, docqa batch {args.batch_size}, peers batch "
        f"{args.peer_batch_size}, max_seq_len 384 / stride 128 (figures: see the README for machine load)\n"
    )
    contexts = [paragraphs[case["article"]][case["paragraph"]] for case in cases]
    print(run_workload(f"Held-out paragraphs ({len(cases)} questions)", cases, contexts, args.systems, args))
    if not args.no_long:
        long_cases = cases[:: args.long_every]
        long_contexts = [long_context(case, paragraphs, args.long_paragraphs) for case in long_cases]
        title = f"Long documents ({len(long_cases)} questions, {args.long_paragraphs} paragraphs each)"
        print()
        print(run_workload(title, long_cases, long_contexts, args.long_systems, args))


if __name__ == "__main__":
    main()
