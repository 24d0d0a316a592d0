"""Reader throughput on CPU: docqa's ExtractiveReader side by side with Haystack 2.31's, same model and data.

The model has MiniLM-L12-H384's architecture (that of deepset/minilm-uncased-squad2) with random weights,
saved with the bert-base-uncased tokenizer under .bench/. Haystack runs in its own virtual environment
(.bench/haystack-venv, created on first use with haystack-ai==2.31.0, transformers==4.57.6, torch==2.13.0) as
a subprocess reading the same model directory, passages and questions.

Passages are SQuAD 2.0 dev paragraphs concatenated until a passage fills one 384-token window together with
the question. Run from the repository root::

    python bench/reader.py                       # defaults: ~5 minutes on 2 cores
    python bench/reader.py --passages 16 --questions 2 --memory-words 1000   # quick check
    python bench/reader.py --backend onnx --memory-docs 0   # adds docqa on ONNX Runtime (fp32) to the table
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docqa.readers import ExtractiveReader  # noqa: E402  (the repository is not installed: path set above)
from docqa.readers.windows import pad_batch, tokenize_windows  # noqa: E402
from docqa.schema import Document  # noqa: E402

BENCH_DIR = REPO / ".bench"
HAYSTACK_VENV = BENCH_DIR / "haystack-venv"
HAYSTACK_PINS = ["haystack-ai==2.31.0", "transformers==4.57.6", "torch==2.13.0", "accelerate==1.15.0"]
SQUAD_DEV = REPO / ".." / "shared" / "data" / "squad2-dev-half" / "dev-v2.0-half.json"
BERT_TOKENIZER = REPO / ".." / "shared" / "models" / "bert-base-uncased-tokenizer"

HAYSTACK_SIDE = r"""
import json, sys, time, torch
from haystack import Document
from haystack.components.readers import ExtractiveReader
from haystack.utils import ComponentDevice
job = json.load(open(sys.argv[1]))
torch.set_num_threads(job["threads"])
reader = ExtractiveReader(model=job["model"], top_k=1, max_seq_length=384, stride=128, no_answer=False,
                          max_batch_size=job["batch_size"], device=ComponentDevice.from_str("cpu"))
reader.warm_up()
docs = [Document(content=text) for text in job["passages"]]
reader.run(query=job["questions"][0], documents=docs[:2])
elapsed = float("inf")
for _ in range(job["repeats"]):  # best of several rounds: the machine is shared, the minimum is the signal
    start = time.perf_counter()
    tops = []
    for question in job["questions"]:
        answers = [a for a in reader.run(query=question, documents=docs)["answers"] if a.data is not None]
        tops.append(answers[0].data if answers else None)
    elapsed = min(elapsed, time.perf_counter() - start)
json.dump({"elapsed": elapsed, "tops": tops}, open(sys.argv[2], "w"))
"""


def ensure_haystack_venv() -> Path:
    python = HAYSTACK_VENV / "bin" / "python"
    if python.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", str(HAYSTACK_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *HAYSTACK_PINS], check=True)
    return python


def build_model(hidden: int, layers: int, heads: int, intermediate: int, tokenizer: Path = BERT_TOKENIZER) -> Path:
    """A BertForQuestionAnswering with random weights and ``tokenizer`` in ``.bench/`` (built once)."""
    model_dir = BENCH_DIR / f"bert-random-h{hidden}-l{layers}"
    if (model_dir / "config.json").exists():
        return model_dir
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
    )
    BertForQuestionAnswering(config).eval().save_pretrained(model_dir)
    AutoTokenizer.from_pretrained(tokenizer).save_pretrained(model_dir)
    return model_dir


def load_data(n_passages: int, n_questions: int, tokenizer_dir: Path, workload: str) -> tuple[list[str], list[str]]:
    """``windows``: paragraphs concatenated so each passage fills one 384-token window with the question;
    ``paragraphs``: single SQuAD paragraphs as they come (varied lengths, mostly well under 384 tokens)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    articles = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))["data"]
    paragraphs = [p for article in articles for p in article["paragraphs"]]
    questions = [qa["question"] for p in paragraphs for qa in p["qas"]][::97][:n_questions]
    if workload == "paragraphs":
        step = max(1, len(paragraphs) // n_passages)
        return [p["context"] for p in paragraphs[::step][:n_passages]], questions
    budget = 384 - 3 - max(len(tokenizer(q)["input_ids"]) for q in questions)
    passages: list[str] = []
    current: list[str] = []
    for paragraph in paragraphs:
        for sentence in paragraph["context"].split(". "):
            candidate = ". ".join([*current, sentence])
            if current and len(tokenizer(candidate, add_special_tokens=False)["input_ids"]) > budget:
                passages.append(". ".join(current))
                current = []
                if len(passages) == n_passages:
                    return passages, questions
            current.append(sentence)
    return passages, questions


def run_docqa(
    model_dir: Path,
    passages: list[str],
    questions: list[str],
    batch_size: int,
    quantize: bool = False,
    haystack_like: bool = False,
    repeats: int = 1,
    backend: str = "torch",
) -> tuple[float, list[str | None]]:
    """``haystack_like``: feed the model what Haystack feeds it (no token type ids) and allow answers of any
    length, as Haystack does: then both decode the same logits and must pick the same top span."""
    reader = make_reader(model_dir, batch_size, quantize=quantize, haystack_like=haystack_like, backend=backend)
    if haystack_like:  # a bench-only switch: Haystack never passes token_type_ids
        reader._pairs.with_token_types = False  # type: ignore[union-attr]
    docs = [Document(text) for text in passages]
    reader.run(query=questions[0], documents=docs[:2])
    elapsed = float("inf")
    for _ in range(repeats):  # best of several rounds: the machine is shared, the minimum is the signal
        start = time.perf_counter()
        tops = []
        for question in questions:
            answers = reader.run(query=question, documents=docs)["answers"]
            tops.append(answers[0].text if answers else None)
        elapsed = min(elapsed, time.perf_counter() - start)
    return elapsed, tops


def make_reader(
    model_dir: Path, batch_size: int, quantize: bool = False, haystack_like: bool = False, backend: str = "torch"
) -> ExtractiveReader:
    """A warmed-up reader; for ONNX, says how long the warm-up (export, or loading the cached export) took."""
    reader = ExtractiveReader(
        model=str(model_dir),
        top_k=1,
        no_answer=False,
        batch_size=batch_size,
        device="cpu",
        quantize=quantize,
        max_answer_length=384 if haystack_like else 30,
        backend=backend,
        dtype="float32",  # the table's figures are fp32, whatever "auto" is on this processor
    )
    start = time.perf_counter()
    reader.warm_up()
    if backend == "onnx":
        how = "exported" if reader._model.exported else "loaded from cache"
        kernels = "fused attention" if reader._model.fused else "unfused graph"
        print(f"docqa onnx warm-up: {time.perf_counter() - start:.1f} s ({how}, {kernels}: {reader._model.path})")
    return reader


def max_logit_difference(model_dir: Path, passages: list[str], question: str, batch_size: int) -> float:
    """Largest |ONNX - PyTorch| start/end logit over the real (unpadded) tokens of one batch of windows."""
    readers = [make_reader(model_dir, batch_size, backend=backend) for backend in ("torch", "onnx")]
    tokenizer = readers[0]._tokenizer
    sample = passages[:batch_size]
    windows = tokenize_windows(tokenizer, [question] * len(sample), sample, 384, 128, True)[:batch_size]
    arrays = pad_batch(windows, tokenizer.pad_token_id)
    valid = arrays["attention_mask"].astype(bool)
    import torch

    with torch.inference_mode():
        output = readers[0]._model(**{name: torch.from_numpy(array) for name, array in arrays.items()})
    torch_start, torch_end = output.start_logits.numpy(), output.end_logits.numpy()
    onnx_start, onnx_end = readers[1]._model(arrays)
    return float(max(np.abs(torch_start - onnx_start)[valid].max(), np.abs(torch_end - onnx_end)[valid].max()))


def run_haystack(
    model_dir: Path, passages: list[str], questions: list[str], batch_size: int, threads: int, repeats: int
) -> tuple[float, list[str | None]]:
    python = ensure_haystack_venv()
    with tempfile.TemporaryDirectory() as tmp:
        job, result, script = Path(tmp, "job.json"), Path(tmp, "result.json"), Path(tmp, "side.py")
        job.write_text(
            json.dumps(
                {
                    "model": str(model_dir),
                    "passages": passages,
                    "questions": questions,
                    "batch_size": batch_size,
                    "repeats": repeats,
                    "threads": threads,
                }
            )
        )
        script.write_text(HAYSTACK_SIDE)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HAYSTACK_TELEMETRY_ENABLED": "False"}
        subprocess.run([str(python), str(script), str(job), str(result)], check=True, env=env)
        data = json.loads(result.read_text())
    return data["elapsed"], data["tops"]


MEMORY_SIDE = r"""
import json, sys, random
sys.path.insert(0, sys.argv[1])
from docqa.readers import ExtractiveReader
from docqa.schema import Document
import torch
torch.set_num_threads(int(sys.argv[5]))
reader = ExtractiveReader(model=sys.argv[2], top_k=3, device="cpu", dtype="float32")
reader.warm_up()
reader.run(query="warm up?", documents=[Document("a short warm up text")])
def status_kib(field):
    # VmHWM, not ru_maxrss: ru_maxrss survives fork+exec, so it would report the parent's peak
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
words = open(sys.argv[6]).read().split()
rng = random.Random(0)
docs = [Document(" ".join(rng.choices(words, k=int(sys.argv[4])))) for _ in range(int(sys.argv[3]))]
del words
before = status_kib("VmRSS")
answers = reader.run(query="What is the capital of France?", documents=docs)["answers"]
after = status_kib("VmHWM")
text_mib = sum(len(d.content) for d in docs) / 2**20
print(json.dumps({"before_mib": before / 1024, "peak_mib": after / 1024, "windows_text_mib": text_mib}))
"""


def measure_memory(model_dir: Path, n_docs: int, n_words: int, threads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        vocabulary = Path(tmp, "words.txt")
        articles = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))["data"]
        vocabulary.write_text(" ".join(p["context"] for a in articles for p in a["paragraphs"]), encoding="utf-8")
        output = subprocess.run(
            [
                sys.executable,
                "-c",
                MEMORY_SIDE,
                str(REPO),
                str(model_dir),
                str(n_docs),
                str(n_words),
                str(threads),
                str(vocabulary),
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        ).stdout
    return json.loads(output.strip().splitlines()[-1])


def agreement(a: list[str | None], b: list[str | None]) -> float:
    return 100.0 * sum(x == y for x, y in zip(a, b, strict=True)) / max(len(a), 1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=48, help="passages per question")
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument(
        "--workload",
        choices=["windows", "paragraphs"],
        default="windows",
        help="windows: passages filling a 384-token window; paragraphs: single SQuAD paragraphs",
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds per reader; the best one counts")
    parser.add_argument("--skip-haystack", action="store_true")
    parser.add_argument(
        "--haystack-like-check",
        action="store_true",
        help="also run docqa fed like haystack (no token type ids, no length limit) to compare top answers",
    )
    parser.add_argument("--quantize", action="store_true", help="also measure docqa with int8 dynamic quantization")
    parser.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default="torch",
        help="onnx: also measure docqa with backend='onnx' (fp32), compared with torch fp32 and haystack",
    )
    parser.add_argument("--memory-docs", type=int, default=100)
    parser.add_argument("--memory-words", type=int, default=5000)
    parser.add_argument(
        "--memory-model",
        choices=["tiny", "minilm"],
        default="tiny",
        help="model for the memory run: tiny (2 layers, hidden 64) keeps it fast on 2 cores",
    )
    return parser.parse_args()


def compare_with_haystack(
    args: argparse.Namespace,
    model_dir: Path,
    passages: list[str],
    questions: list[str],
    docqa_run: tuple[float, list[str | None]],
    onnx_run: tuple[float, list[str | None]] | None = None,
) -> None:
    docqa_s, docqa_tops = docqa_run
    pairs = len(passages) * len(questions)
    hay_s, hay_tops = run_haystack(model_dir, passages, questions, args.batch_size, args.threads, args.repeats)
    print(f"haystack : {pairs / hay_s:8.2f} passages/s ({hay_s:.1f} s)")
    print(f"speed-up : {hay_s / docqa_s:.2f}x")
    print(
        f"top answer agreement docqa vs haystack: {agreement(docqa_tops, hay_tops):.0f}% of {len(questions)} questions"
    )
    if onnx_run is not None:
        print(f"speed-up docqa onnx vs haystack: {hay_s / onnx_run[0]:.2f}x")
        print(f"top answer agreement docqa onnx vs haystack: {agreement(onnx_run[1], hay_tops):.0f}%")
    if args.haystack_like_check:
        _, like_tops = run_docqa(model_dir, passages, questions, args.batch_size, haystack_like=True)
        print(
            "top answer agreement docqa (no token type ids, no answer length limit, as haystack) vs "
            f"haystack: {agreement(like_tops, hay_tops):.0f}%"
        )


def report_memory(args: argparse.Namespace, model_dir: Path) -> None:
    memory_model = model_dir if args.memory_model == "minilm" else build_model(64, 2, 2, 128)
    memory = measure_memory(memory_model, args.memory_docs, args.memory_words, args.threads)
    print(
        f"docqa peak RSS, {args.memory_docs} docs x {args.memory_words} words "
        f"({args.memory_model} model): {memory['peak_mib']:.0f} MiB "
        f"(RSS after warm-up, before the run: {memory['before_mib']:.0f} MiB; "
        f"text {memory['windows_text_mib']:.1f} MiB)"
    )


def main() -> None:
    args = parse_args()
    import torch

    torch.set_num_threads(args.threads)
    BENCH_DIR.mkdir(exist_ok=True)
    model_dir = build_model(384, 12, 12, 1536)
    passages, questions = load_data(args.passages, args.questions, model_dir, args.workload)
    pairs = len(passages) * len(questions)
    print(f"model: MiniLM-L12-H384 architecture, random weights ({model_dir}); threads={args.threads}")
    print(
        f"workload: {len(questions)} questions x {len(passages)} passages = {pairs} "
        f"question-passage pairs ({args.workload}), batch size {args.batch_size}, fp32, best of {args.repeats}"
    )
    docqa_s, docqa_tops = run_docqa(model_dir, passages, questions, args.batch_size, repeats=args.repeats)
    print(f"docqa    : {pairs / docqa_s:8.2f} passages/s ({docqa_s:.1f} s)")
    onnx_run = None
    if args.backend == "onnx":
        onnx_run = run_docqa(model_dir, passages, questions, args.batch_size, repeats=args.repeats, backend="onnx")
        difference = max_logit_difference(model_dir, passages, questions[0], args.batch_size)
        print(
            f"docqa onnx: {pairs / onnx_run[0]:8.2f} passages/s ({onnx_run[0]:.1f} s), {docqa_s / onnx_run[0]:.2f}x "
            f"torch fp32; top answer agreement with torch fp32: {agreement(docqa_tops, onnx_run[1]):.0f}%; "
            f"max |logit difference| vs torch fp32: {difference:.2e}"
        )
    if not args.skip_haystack:
        compare_with_haystack(args, model_dir, passages, questions, (docqa_s, docqa_tops), onnx_run)
    if args.quantize:
        q_s, q_tops = run_docqa(model_dir, passages, questions, args.batch_size, quantize=True, repeats=args.repeats)
        print(
            f"docqa int8: {pairs / q_s:8.2f} passages/s ({q_s:.1f} s), {docqa_s / q_s:.2f}x fp32; "
            f"top answer agreement with fp32: {agreement(docqa_tops, q_tops):.0f}%"
        )
    if args.memory_docs > 0:
        report_memory(args, model_dir)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
