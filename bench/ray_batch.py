"""Batch QA throughput on Ray (1 and 2 actors) against the local loop on the same machine: Ray's overhead.

    python bench/ray_batch.py              # 600 SQuAD questions with their contexts, the shared real reader

The same JSONL input (SQuAD 2.0 dev-half questions with their paragraphs, file order) is answered by the local
``docqa batch`` loop (one process, torch on all cores) and by ``docqa batch --ray`` on a local Ray with 1 and 2
actors (each loads the reader once; Ray gives an actor one CPU, so torch runs one thread per actor). Wall time
covers everything after the input is read: model loading, Ray actor start, reading, writing. The Ray runs'
answers are checked against the local run's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from docqa.batch import EngineConfig, build_engine, read_batch_input, run_batch_file  # noqa: E402

SQUAD = REPO.parent / "shared" / "data" / "squad2-dev-half" / "dev-v2.0-half.json"
MODEL = REPO.parent / "shared" / "models" / "minilm-l6-squad2-half12"


def write_input(path: Path, count: int) -> Path:
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    records = [
        {"id": qa["id"], "question": qa["question"], "context": p["context"]}
        for article in data
        for p in article["paragraphs"]
        for qa in p["qas"]
    ][:count]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def answers(path: Path) -> list[tuple[object, object, object]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [(line["id"], line.get("answer"), line.get("start")) for line in lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--model", default=str(MODEL))
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="docqa-ray-bench-"))
    batch_input = read_batch_input(write_input(folder / "in.jsonl", args.questions), "qa")
    config = EngineConfig("qa", args.model)
    rows = []
    start = time.perf_counter()
    run_batch_file(
        batch_input, folder / "local.jsonl", build_engine(config), chunk_size=args.batch_size, progress=False
    )
    rows.append(("local loop (1 process)", time.perf_counter() - start, True))
    from docqa.distributed import init_ray, ray_batch

    ray_start = time.perf_counter()
    ray = init_ray()
    ray_start = time.perf_counter() - ray_start
    expected = answers(folder / "local.jsonl")
    for actors in (1, 2):
        out = folder / f"ray{actors}.jsonl"
        start = time.perf_counter()
        ray_batch(batch_input, out, config, actors=actors, batch_size=args.batch_size)
        rows.append((f"Ray, {actors} actor{'s' if actors > 1 else ''}", time.perf_counter() - start,
                     answers(out) == expected))  # fmt: skip
    ray.shutdown()
    local = rows[0][1]
    print(
        f"{args.questions} SQuAD questions with contexts, reader {Path(args.model).name}, batch size "
        f"{args.batch_size}, {os.cpu_count()} CPUs; Ray started in {ray_start:.1f} s (not counted below)\n"
    )
    print("| run | wall (s) | questions/s | vs local | same answers as local |\n|---|---|---|---|---|")
    for name, seconds, same in rows:
        print(f"| {name} | {seconds:.1f} | {args.questions / seconds:.1f} | {local / seconds:.2f}x | {same} |")


if __name__ == "__main__":
    main()
