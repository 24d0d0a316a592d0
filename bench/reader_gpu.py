"""The reader at the speed of the hardware: docqa in float32 / bfloat16 / float16 against transformers 4.57's
question-answering pipeline, on whatever device is present (a CUDA GPU, else the CPU), in one command.

Prints, as markdown:

1. **The work around the model**: microseconds per question spent outside the forward passes, on the 1,629
   held-out questions (articles 13-16 of ``squad2-dev-half``, each with its paragraph), with a 1-layer, 32-wide
   reader whose forward passes cost next to nothing, one thread (``torch`` and the tokenizer); the forward
   passes are timed as they run and subtracted, and the time in the tokenizer and in answer ranking is shown.
2. **Held-out paragraphs** and **long documents** (3 consecutive paragraphs of the article per question): the
   real small reader (``../shared/models/minilm-l6-squad2-half12``) in docqa at float32, bfloat16 and float16
   (each where the device runs it natively) and in the transformers 4.57 pipeline at batch 1 and 64, every
   system in its own process: questions/s, ratio to the pipeline's best, official SQuAD 2.0 F1/EM, same top
   answer as docqa float32, microseconds per question outside the forward passes (the run's time minus the
   forward passes: on a GPU the same passes replayed alone, on the CPU timed as they ran), peak accelerator
   memory (peak RSS on the CPU).
3. **MiniLM-L12-H384** (deepset/minilm-uncased-squad2's architecture, random weights): passages/s.
4. **docqa batch** (the CLI, records/s) and **docqa serve** ``/score`` (1 and 64 clients: requests/s, p50).
5. **The goals** of the issue, each with the figure measured, or "unmeasured" where the device is not a GPU.

The pipeline runs in its own process with transformers 4.57.6 / tokenizers 0.22.1 / huggingface_hub 0.36.0
unpacked in ``.bench/gpu-kit/peer-site`` (put first on its ``PYTHONPATH``; everything else is this
environment's). Run from the repository root::

    python bench/reader_gpu.py --prepare-kit    # once, with network: .bench/gpu-kit (peer, wheels, fp16 reader)
    python bench/reader_gpu.py                  # here: a CPU run, smaller where it can (about 20 minutes, 2 cores)
    python bench/reader_gpu.py --full           # every size the GPU run uses (hours on a CPU)

On the GPU machine (no network, no ``../shared``; see ``../shared/device/README.md``): carry ``.bench/gpu-kit``
(about 55 MB) and run ``python3 bench/reader_gpu.py --kit .bench/gpu-kit``: it installs the kit's wheels
into ``/tmp/site``, turns the float16 copy of the reader back into float32, and runs everything at full size
(about 6 minutes on one H200).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

import reader_real  # noqa: E402  (bench/ is on the path: its data, peer script and scoring are reused)

KIT = REPO / ".bench" / "gpu-kit"
SHARED = REPO.parent / "shared"
BERT_TOKENIZER = SHARED / "models" / "bert-base-uncased-tokenizer"
PEER_WHEELS = ["transformers==4.57.6", "tokenizers==0.22.1", "huggingface_hub==0.36.0"]
#: What docqa (and ``docqa serve``) need beyond the GPU machine's packages (``../shared/device/README.md``).
SERVER_WHEELS = [
    "pydantic==2.14.4",
    "pydantic-core==2.50.5",
    "annotated-types==0.8.0",
    "typing-inspection==0.4.5",
    "beautifulsoup4==4.15.0",
    "soupsieve==4.1.4",
    "fastapi==0.165.0",
    "starlette==1.10.0",
    "uvicorn==0.55.0",
    "python-multipart==0.0.34",
    "annotated-doc==0.0.7",
    "opentelemetry-api==1.45.2",
]
DTYPES = ("float32", "bfloat16", "float16")
PEER_BATCHES = (1, 64)
GOALS = {
    "bf16_qps": 10_000,
    "bf16_vs_pipeline": 20.0,
    "fp32_qps": 4_000,
    "l12_bf16_pps": 8_000,
    "bf16_same_top": 99.5,
    "bf16_f1_delta": 0.2,
    "batch_rps": 6_000,
    "serve_rps_64": 1_500,
    "serve_p50_64_ms": 50.0,
    "serve_p50_1_ms": 5.0,
    "cpu_outside_us": 150.0,
}


# --- the systems, each in its own process ---------------------------------------------------------------


def docqa_side(job_path: Path, result_path: Path) -> None:
    """One docqa reader on the job's questions: timed run, the same forward passes replayed alone, memory."""
    import torch

    from docqa.evaluation.squad_eval import prediction_from_answers
    from docqa.readers import ExtractiveReader, extractive_reader, windows
    from docqa.schema import Document

    job = json.loads(job_path.read_text(encoding="utf-8"))
    torch.set_num_threads(job["threads"])
    reader = ExtractiveReader(model=job["model"], device=job["device"], dtype=job["dtype"], **job["geometry"])
    questions, documents = job["questions"], [[Document(text)] for text in job["contexts"]]
    reader.run_batch(questions[:64], documents[:64], top_k=2)  # loads the model, warms its kernels up
    timers = _Timers(torch.device(job["device"]).type == "cuda")
    timers.wrap(windows.PairTokenizer, "questions", "tokenizer")
    timers.wrap(windows, "_context_tokens", "tokenizer")
    timers.wrap(extractive_reader, "rank_answers", "ranking")
    recorded = timers.record_forward(reader._model)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    timers.sync()
    start = time.perf_counter()
    predictions = []
    step = job["questions_per_call"]
    for first in range(0, len(questions), step):
        answers = reader.run_batch(questions[first : first + step], documents[first : first + step], top_k=2)
        predictions += [prediction_from_answers(found) for found in answers["answers"]]
    timers.sync()
    seconds = time.perf_counter() - start
    # On a GPU the forward calls only queue work: the passes alone are timed by replaying them; on the CPU they
    # run as they are called, and timing them then is exact (a replay would add the machine's drift).
    forward = timers.replay(reader._model, recorded) if timers.cuda else timers.seconds.get("forward", 0.0)
    result = {
        "seconds": seconds,
        "forward_seconds": forward,
        "forward_calls_seconds": timers.seconds.get("forward", 0.0),
        "tokenizer_seconds": timers.seconds.get("tokenizer", 0.0),
        "ranking_seconds": timers.seconds.get("ranking", 0.0),
        "peak_rss_mib": reader_real._peak_rss_mib(),
        "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None,
        "dtype": str(reader.torch_dtype).removeprefix("torch."),
        "predictions": [{"text": p.text, "span": p.span_text} for p in predictions],
    }
    result_path.write_text(json.dumps(result), encoding="utf-8")


class _Timers:
    """Seconds spent in chosen functions, and the model's forward passes (recorded to be replayed alone)."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.seconds: dict[str, float] = {}

    def sync(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - began

        setattr(owner, name, timed)

    def record_forward(self, model: Any) -> list[dict[str, Any]]:
        """Time every forward call (its launch, on a GPU) and, on a GPU, keep its inputs for :meth:`replay`."""
        recorded: list[dict[str, Any]] = []
        forward = model.forward

        def timed(**inputs: Any) -> Any:
            if self.cuda:
                recorded.append(inputs)
            began = time.perf_counter()
            output = forward(**inputs)
            self.seconds["forward"] = self.seconds.get("forward", 0.0) + time.perf_counter() - began
            return output

        model.forward = timed
        return recorded

    def replay(self, model: Any, recorded: list[dict[str, Any]]) -> float:
        """The same forward passes again, alone (inputs already on the device), timed to the last result."""
        import torch

        original = type(model).forward  # the model's own forward, not the recording wrapper
        self.sync()
        began = time.perf_counter()
        with torch.inference_mode():
            for inputs in recorded:
                original(model, **inputs)
        self.sync()
        return time.perf_counter() - began


def run_docqa(job: dict[str, Any]) -> dict[str, Any]:
    return _run_side([sys.executable, __file__, "--side"], job, env={})


def run_pipeline(job: dict[str, Any], peer_site: Path) -> dict[str, Any]:
    """transformers 4.57's pipeline, with the kit's transformers first on the path of its own process."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "side.py")
        script.write_text(reader_real.TRANSFORMERS_SIDE, encoding="utf-8")
        path = os.pathsep.join([str(peer_site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        return _run_side([sys.executable, str(script)], job, env={"PYTHONPATH": path})


def _run_side(command: list[str], job: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": job["tokenizer_parallelism"], **env}
    with tempfile.TemporaryDirectory() as tmp:
        job_path, result_path = Path(tmp, "job.json"), Path(tmp, "result.json")
        job_path.write_text(json.dumps(job), encoding="utf-8")
        subprocess.run([*command, str(job_path), str(result_path)], check=True, env=environment)
        return json.loads(result_path.read_text(encoding="utf-8"))


# --- workloads -----------------------------------------------------------------------------------------------


def held_out(limit: int | None) -> tuple[list[dict[str, Any]], list[str], list[list[str]]]:
    cases, paragraphs = reader_real.held_out_cases(limit)
    return cases, [paragraphs[c["article"]][c["paragraph"]] for c in cases], paragraphs


def base_job(args: argparse.Namespace, model: Path, questions: list[str], contexts: list[str]) -> dict[str, Any]:
    return {
        "model": str(model),
        "device": args.device,
        "questions": questions,
        "contexts": contexts,
        "threads": args.threads,
        "tokenizer_parallelism": "true" if args.device != "cpu" else "false",
        "geometry": reader_real.GEOMETRY,
        "questions_per_call": args.questions_per_call,
        "peer_batch_size": 1,
    }


def native_dtypes(device: str) -> list[str]:
    from docqa.hub import device_dtypes

    return [name for name in DTYPES if name in device_dtypes(device)]


def systems_table(title: str, cases: list[dict[str, Any]], job: dict[str, Any], args: argparse.Namespace) -> dict:
    """docqa at each native precision and the pipeline at batch 1 and 64 on ``job``; the table's rows."""
    results: dict[str, dict[str, Any]] = {}
    for dtype in native_dtypes(args.device):
        results[f"docqa {dtype}"] = run_docqa({**job, "dtype": dtype})
        _progress(title, f"docqa {dtype}", results[f"docqa {dtype}"])
    for batch in PEER_BATCHES:
        pipeline_job = {**job, "peer_batch_size": batch, "device": 0 if args.device.startswith("cuda") else -1}
        results[f"pipeline batch {batch}"] = run_pipeline(pipeline_job, args.peer_site)
        _progress(title, f"pipeline batch {batch}", results[f"pipeline batch {batch}"])
    reference = results["docqa float32"]
    return {
        name: {
            **reader_real.score(cases, result, None if result is reference else reference),
            **_extra(result, len(cases)),
        }
        for name, result in results.items()
    }


def _extra(result: dict[str, Any], count: int) -> dict[str, Any]:
    outside = result.get("seconds", 0.0) - result["forward_seconds"] if "forward_seconds" in result else None
    memory = result.get("peak_gpu_mib") or result.get("peak_rss_mib")
    return {"outside_us": None if outside is None else 1e6 * outside / count, "memory": memory}


def _progress(title: str, name: str, result: dict[str, Any]) -> None:
    print(f"  {title}: {name} {result['seconds']:.1f} s", file=sys.stderr)


def table(title: str, rows: dict[str, dict[str, Any]], memory_label: str) -> str:
    best_peer = max(row["qps"] for name, row in rows.items() if name.startswith("pipeline"))
    lines = [
        f"**{title}**",
        "",
        f"| system | questions/s | vs pipeline's best | F1 | EM | same top answer as docqa fp32 | us/question outside "
        f"the forward passes | peak {memory_label} MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        same = "–" if row["same_top"] != row["same_top"] else f"{row['same_top']:.2f}%"
        outside = "–" if row["outside_us"] is None else f"{row['outside_us']:.0f}"
        lines.append(
            f"| {name} | {row['qps']:,.1f} | {row['qps'] / best_peer:.2f}x | {row['f1']:.2f} | {row['em']:.2f} "
            f"| {same} | {outside} | {row['memory']:,.0f} |"
        )
    return "\n".join(lines)


# --- the work around the model (1-layer, 32-wide reader, one thread) -----------------------------------------


def overhead(args: argparse.Namespace) -> tuple[str, float]:
    cases, contexts, _ = held_out(None)
    model = build_model(hidden=32, layers=1, heads=2, intermediate=64)
    job = {**base_job(args, model, [c["question"] for c in cases], contexts), "threads": 1}
    job["tokenizer_parallelism"] = "false"
    runs = [run_docqa({**job, "dtype": "float32"}) for _ in range(args.overhead_rounds)]
    best = min(runs, key=lambda run: run["seconds"] - run["forward_calls_seconds"])
    count = len(cases)
    outside = 1e6 * (best["seconds"] - best["forward_calls_seconds"]) / count
    lines = [
        f"**The work around the model** ({count} held-out questions, each with its paragraph; 1-layer 32-wide "
        f"reader; one thread; {args.questions_per_call} questions per `run_batch`; best of {len(runs)} runs)",
        "",
        "| per question | us |",
        "|---|---|",
        f"| wall time | {1e6 * best['seconds'] / count:.0f} |",
        f"| forward passes (timed as they ran) | {1e6 * best['forward_calls_seconds'] / count:.0f} |",
        f"| **outside the forward passes** | **{outside:.0f}** |",
        f"| of which the tokenizer (questions, and each distinct paragraph once) | "
        f"{1e6 * best['tokenizer_seconds'] / count:.0f} |",
        f"| of which answer ranking (`rank_answers`) | {1e6 * best['ranking_seconds'] / count:.0f} |",
    ]
    return "\n".join(lines), outside


def build_model(hidden: int, layers: int, heads: int, intermediate: int) -> Path:
    """``bench/reader.py``'s random BERT reader, with the (possibly relocated) bert-base-uncased tokenizer."""
    import reader as reader_bench  # imported late: on the GPU machine the kit's packages come first on the path

    return reader_bench.build_model(hidden, layers, heads, intermediate, tokenizer=BERT_TOKENIZER)


# --- docqa batch and docqa serve --------------------------------------------------------------------------------


def batch_cli(args: argparse.Namespace, cases: list[dict[str, Any]], contexts: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        records = Path(tmp, "in.jsonl")
        pairs = zip(cases, contexts, strict=True)
        lines = [json.dumps({"id": c["qid"], "question": c["question"], "context": t}) for c, t in pairs]
        records.write_text("\n".join(lines) + "\n", encoding="utf-8")
        command = [sys.executable, "-m", "docqa", "batch", str(records), "--out", str(Path(tmp, "out.jsonl"))]
        command += ["--model", str(args.model), "--json", "--no-progress", "--batch-size", str(args.batch_records)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(command, check=True, env=env, capture_output=True, text=True)
        return json.loads(done.stdout)


def serve(args: argparse.Namespace) -> dict[int, dict[str, float]]:
    import server  # bench/server.py: its server start-up, clients and latency summary

    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = server.build_store(Path(tmp, "store"))
        process, url = server.start("--store", str(store), "--model", str(args.model))
        try:
            for clients, total in ((1, args.serve_requests_1), (64, args.serve_requests_64)):
                server.load(url, "/score", server.SCORE_BODY, clients, max(clients, total // 10))  # warm
                figures[clients] = server.summary(*server.load(url, "/score", server.SCORE_BODY, clients, total))
        finally:
            process.terminate()
            process.wait(timeout=60)
    return figures


# --- goals -----------------------------------------------------------------------------------------------------


def goals(args: argparse.Namespace, found: dict[str, Any]) -> str:
    on_gpu = args.device.startswith("cuda")
    gpu = found.get("gpu_name", "no GPU")

    def line(text: str, value: float | None, goal: float, higher: bool = True, gpu_goal: bool = True) -> str:
        if gpu_goal and not on_gpu:
            return f"- {text}: unmeasured (no GPU; this run's device: {args.device})"
        if value is None:
            return f"- {text}: unmeasured"
        met = value >= goal if higher else value <= goal
        return f"- {text}: {value:,.2f} (goal {'>=' if higher else '<='} {goal:,}) {'met' if met else 'NOT met'}"

    held = found["held"]
    bf16, fp32 = held.get("docqa bfloat16"), held["docqa float32"]
    best_peer = max(row["qps"] for name, row in held.items() if name.startswith("pipeline"))
    serve_1, serve_64 = found.get("serve", {}).get(1), found.get("serve", {}).get(64)
    l12 = found.get("l12", {}).get("bfloat16")
    return "\n".join(
        [
            f"**Goals** (device: {args.device}, {gpu})",
            "",
            line("CPU: us/question outside the forward passes", found["outside_us"], GOALS["cpu_outside_us"],
                 higher=False, gpu_goal=False),
            line("bf16 questions/s, held-out paragraphs", bf16 and bf16["qps"], GOALS["bf16_qps"]),
            line("bf16 vs the pipeline's best", bf16 and bf16["qps"] / best_peer, GOALS["bf16_vs_pipeline"]),
            line("fp32 questions/s", fp32["qps"], GOALS["fp32_qps"]),
            line("MiniLM-L12-H384 bf16 passages/s", l12, GOALS["l12_bf16_pps"]),
            line("bf16 same top answer as fp32 (%)", bf16 and bf16["same_top"], GOALS["bf16_same_top"],
                 gpu_goal=False),
            line("bf16 F1 - fp32 F1 (absolute)", bf16 and abs(bf16["f1"] - fp32["f1"]), GOALS["bf16_f1_delta"],
                 higher=False, gpu_goal=False),
            line("docqa batch records/s", found.get("batch_rps"), GOALS["batch_rps"]),
            line("docqa serve /score requests/s, 64 clients", serve_64 and serve_64["rps"], GOALS["serve_rps_64"]),
            line("docqa serve /score p50 ms, 64 clients", serve_64 and serve_64["p50_ms"], GOALS["serve_p50_64_ms"],
                 higher=False),
            line("docqa serve /score p50 ms, 1 client", serve_1 and serve_1["p50_ms"], GOALS["serve_p50_1_ms"],
                 higher=False),
        ]
    )  # fmt: skip


# --- the kit for the GPU machine ---------------------------------------------------------------------------------


def prepare_kit(kit: Path) -> None:
    """Everything the GPU machine lacks, in ``kit`` (run here, with network)."""
    from safetensors.torch import load_file, save_file

    kit.mkdir(parents=True, exist_ok=True)
    download = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.12"]
    download += ["--implementation", "cp", "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64"]
    subprocess.run([*download, "-d", str(kit / "whl"), *SERVER_WHEELS], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*download, "-d", tmp, *PEER_WHEELS], check=True)
        site = Path(tmp, "peer-site")
        for wheel in Path(tmp).glob("*.whl"):
            shutil.unpack_archive(str(wheel), str(site), format="zip")
        with tarfile.open(kit / "peer-site.tar.xz", "w:xz") as archive:
            archive.add(site, arcname="peer-site")
    model = kit / "reader-fp16"
    shutil.copytree(reader_real.MODEL, model, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.safetensors"))
    weights = load_file(str(reader_real.MODEL / "model.safetensors"))
    save_file({name: tensor.half() for name, tensor in weights.items()}, str(model / "model.safetensors"))
    shutil.copytree(BERT_TOKENIZER, kit / "bert-base-uncased-tokenizer", dirs_exist_ok=True)
    with open(reader_real.SQUAD_DEV, "rb") as source, tarfile.open(kit / "squad.tar.xz", "w:xz") as archive:
        info = tarfile.TarInfo("dev-v2.0-half.json")
        info.size = reader_real.SQUAD_DEV.stat().st_size
        archive.addfile(info, source)
    size = sum(f.stat().st_size for f in kit.rglob("*") if f.is_file()) / 2**20
    where = kit.relative_to(REPO)
    print(f"kit ready in {where} ({size:.0f} MiB): carry {where} and run python3 bench/reader_gpu.py --kit {where}")


def unpack_kit(kit: Path) -> Path:
    """Install the kit on this machine (wheels into /tmp/site, the reader back to float32, data, peer); returns the
    folder that replaces ``../shared``. Re-executes this script with the wheels on its path."""
    import torch
    from safetensors.torch import load_file, save_file

    root = Path(tempfile.gettempdir(), "docqa-kit")
    site = root / "site"
    if not site.is_dir():
        wheels = sorted(str(w) for w in (kit / "whl").glob("*.whl"))
        install = [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--target", str(site)]
        subprocess.run([*install, *wheels], check=True)
    shared = root / "shared"
    model = shared / "models" / "minilm-l6-squad2-half12"
    if not (model / "model.safetensors").is_file():
        shutil.copytree(kit / "reader-fp16", model, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.safetensors"))
        weights = load_file(str(kit / "reader-fp16" / "model.safetensors"))
        save_file({name: t.to(torch.float32) for name, t in weights.items()}, str(model / "model.safetensors"))
        shutil.copytree(kit / "bert-base-uncased-tokenizer", shared / "models" / "bert-base-uncased-tokenizer")
        with tarfile.open(kit / "squad.tar.xz") as archive:
            archive.extractall(shared / "data" / "squad2-dev-half", filter="data")
    return root


def peer_site(kit: Path) -> Path:
    """transformers 4.57 and its tokenizers, unpacked from the kit (once, outside it: the kit stays small)."""
    root = Path(tempfile.gettempdir(), "docqa-kit")
    site = root / "peer-site"
    if not site.is_dir():
        if not (kit / "peer-site.tar.xz").is_file():
            raise SystemExit(f"no {kit}/peer-site.tar.xz: run python bench/reader_gpu.py --prepare-kit first")
        with tarfile.open(kit / "peer-site.tar.xz") as archive:
            archive.extractall(root, filter="data")
    return site


# --- main --------------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare-kit", action="store_true", help="write .bench/gpu-kit and stop (needs network)")
    parser.add_argument("--kit", type=Path, default=None, help="run from a kit (the GPU machine)")
    parser.add_argument("--full", action="store_true", help="the GPU run's sizes on any device")
    parser.add_argument("--device", default=None, help="default: cuda when present, else cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all physical cores)")
    parser.add_argument("--questions-per-call", type=int, default=None, help="questions per run_batch call")
    parser.add_argument("--overhead-rounds", type=int, default=3)
    parser.add_argument(
        "--limit", type=int, default=None, help="held-out questions (default: all on a GPU, 200 on a CPU)"
    )
    parser.add_argument("--skip", default="", help="comma-separated of: overhead,held,long,l12,batch,serve")
    return parser.parse_args()


def configure(args: argparse.Namespace) -> None:
    import torch

    shared = unpack_kit(args.kit) / "shared" if args.kit is not None else SHARED
    args.model = shared / "models" / "minilm-l6-squad2-half12"
    args.peer_site = peer_site(args.kit if args.kit is not None else KIT)
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    full = args.full or args.device != "cpu" or args.kit is not None
    args.threads = args.threads or torch.get_num_threads()
    args.questions_per_call = args.questions_per_call or (1629 if full else 256)
    args.long_every = 1 if full else 20
    args.l12_limit = None if full else min(48, args.limit or 48)
    args.batch_limit = args.limit or (None if full else 200)
    args.batch_records = 1024 if full else 64
    args.serve_requests_1 = 500 if full else 40
    args.serve_requests_64 = 6400 if full else 256
    args.skip = {name.strip() for name in args.skip.split(",") if name.strip()}


def relocate_shared(root: Path) -> None:
    """Point the bench modules at the kit's copy of ``../shared``."""
    global SHARED, BERT_TOKENIZER
    SHARED = root / "shared"
    BERT_TOKENIZER = SHARED / "models" / "bert-base-uncased-tokenizer"
    reader_real.SQUAD_DEV = SHARED / "data" / "squad2-dev-half" / "dev-v2.0-half.json"
    reader_real.MODEL = SHARED / "models" / "minilm-l6-squad2-half12"


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--side":
        docqa_side(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    args = parse_args()
    if args.prepare_kit:
        prepare_kit(KIT)
        return
    if args.kit is not None:
        root = unpack_kit(args.kit)
        os.environ["PYTHONPATH"] = os.pathsep.join([str(root / "site"), str(REPO), os.environ.get("PYTHONPATH", "")])
        sys.path[:0] = [str(root / "site")]
        relocate_shared(root)
    configure(args)
    report(args)


def report(args: argparse.Namespace) -> None:
    import torch

    found: dict[str, Any] = {"outside_us": None}
    if torch.cuda.is_available() and args.device.startswith("cuda"):
        found["gpu_name"] = torch.cuda.get_device_name()
    print(f"device {args.device} ({found.get('gpu_name', 'CPU')}), {args.threads} threads, native precisions "
          f"{native_dtypes(args.device)}; docqa: {args.questions_per_call} questions per run_batch\n")  # fmt: skip
    if "overhead" not in args.skip:
        text, found["outside_us"] = overhead(args)
        print(text + "\n", flush=True)
    cases, contexts, paragraphs = held_out(args.limit)
    job = base_job(args, args.model, [c["question"] for c in cases], contexts)
    memory = "GPU" if args.device.startswith("cuda") else "RSS"
    found["held"] = systems_table("held-out", cases, job, args)
    print(table(f"Held-out paragraphs ({len(cases)} questions)", found["held"], memory) + "\n", flush=True)
    if "long" not in args.skip:
        long_cases = cases[:: args.long_every]
        long_contexts = [reader_real.long_context(case, paragraphs, 3) for case in long_cases]
        rows = systems_table("long", long_cases, base_job(args, args.model, [c["question"] for c in long_cases],
                                                           long_contexts), args)  # fmt: skip
        print(table(f"Long documents ({len(long_cases)} questions, 3 paragraphs each)", rows, memory) + "\n")
    if "l12" not in args.skip:
        found["l12"] = l12_rows(args, cases[: args.l12_limit], contexts[: args.l12_limit])
    if "batch" not in args.skip:
        limit = args.batch_limit
        summary = batch_cli(args, cases[:limit], contexts[:limit])
        found["batch_rps"] = summary["records_per_second"]
        print(f"**docqa batch**: {summary['done']} records, {found['batch_rps']:,.1f} records/s "
              f"(--batch-size {args.batch_records}, the reader's defaults)\n")  # fmt: skip
    if "serve" not in args.skip:
        found["serve"] = serve(args)
        for clients, figures in found["serve"].items():
            print(f"**docqa serve /score**, {clients} client(s): {figures['rps']:,.1f} requests/s, "
                  f"p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms")  # fmt: skip
        print()
    print(goals(args, found))


def l12_rows(args: argparse.Namespace, cases: list[dict[str, Any]], contexts: list[str]) -> dict[str, float]:
    model = build_model(hidden=384, layers=12, heads=12, intermediate=1536)
    job = base_job(args, model, [c["question"] for c in cases], contexts)
    speeds = {}
    lines = ["**MiniLM-L12-H384 architecture** (random weights; one passage per question)", "",
             "| precision | passages/s | us/passage outside the forward passes |", "|---|---|---|"]  # fmt: skip
    for dtype in native_dtypes(args.device):
        result = run_docqa({**job, "dtype": dtype})
        speeds[dtype] = len(cases) / result["seconds"]
        outside = 1e6 * (result["seconds"] - result["forward_seconds"]) / len(cases)
        lines.append(f"| {dtype} | {speeds[dtype]:,.1f} | {outside:.0f} |")
    print("\n".join(lines) + "\n", flush=True)
    return speeds


if __name__ == "__main__":
    main()
