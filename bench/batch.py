"""``docqa batch`` against a loop that calls the reader once per record: SQuAD 2.0 questions with their contexts.

Both sides use the real small reader in ../shared/models/minilm-l6-squad2-half12 and write one JSON line per
record; their answers must be identical. The batch side runs the code ``docqa batch`` runs
(:func:`docqa.batch.run_batch_file`); a forward hook on the model times every forward pass, so the share of wall
time spent outside the model (reading, tokenizing, decoding, writing) is measured, not guessed. Prints a markdown
table; about 2-3 minutes on an idle 2-core machine with the defaults. Run from the repository root::

    python bench/batch.py                 # 1,000 questions
    python bench/batch.py --questions 200 --profile   # quicker, and the top non-model functions
    python bench/batch.py --threads 1     # one torch thread: fair when other processes load the cores
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docqa.answers import batch_line  # noqa: E402
from docqa.batch import BatchEngine, read_batch_input, run_batch_file  # noqa: E402  (path set above)
from docqa.readers import ExtractiveReader  # noqa: E402
from docqa.schema import Document  # noqa: E402

SQUAD_DEV = REPO / ".." / "shared" / "data" / "squad2-dev-half" / "dev-v2.0-half.json"
MODEL = REPO / ".." / "shared" / "models" / "minilm-l6-squad2-half12"


class ForwardTimer:
    """Seconds spent inside the model's forward passes (a pre- and a post-forward hook)."""

    def __init__(self, model: Any) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._started = 0.0
        model.register_forward_pre_hook(self._before)
        model.register_forward_hook(self._after)

    def _before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, *_: Any) -> None:
        self.seconds += time.perf_counter() - self._started
        self.calls += 1

    def reset(self) -> None:
        self.seconds, self.calls = 0.0, 0


def squad_records(count: int) -> list[dict[str, Any]]:
    data = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))["data"]
    records = []
    for article in data:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                records.append({"id": qa["id"], "question": qa["question"], "context": paragraph["context"]})
    return records[:count]


def loop_run(reader: ExtractiveReader, records: list[dict[str, Any]], out: Path) -> float:
    """One ``reader.run`` per record, each line written and flushed: the baseline."""
    started = time.perf_counter()
    with out.open("w", encoding="utf-8") as handle:
        for record in records:
            answers = reader.run(query=record["question"], documents=[Document(record["context"])])["answers"]
            handle.write(json.dumps(batch_line(record["id"], answers[0], False)) + "\n")
            handle.flush()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=64, help="records per model call on the batch side")
    parser.add_argument("--round", type=int, default=100, help="records per round (the sides alternate)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--profile", action="store_true", help="print the top non-model functions of the batch run")
    args = parser.parse_args()

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)  # on a loaded machine, spinning threads slow small forward passes most
    records = squad_records(args.questions)
    reader = ExtractiveReader(model=str(MODEL))
    reader.warm_up()
    timer = ForwardTimer(reader._model)
    reader.run_batch([r["question"] for r in records[:8]], [[Document(r["context"])] for r in records[:8]])  # warm

    loop_seconds = loop_model = batch_seconds = batch_model = 0.0
    failed, same, calls = 0, True, 0
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        # rounds alternate the two sides, so both see the same load on a shared machine
        for start in range(0, len(records), args.round):
            part = records[start : start + args.round]
            source = Path(tmp) / "in.jsonl"
            source.write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
            timer.reset()
            loop_seconds += loop_run(reader, part, Path(tmp) / "loop.jsonl")
            loop_model += timer.seconds
            timer.reset()
            started = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            batch_input = read_batch_input(source, "qa")  # reading and validating the input counts
            summary = run_batch_file(
                batch_input,
                Path(tmp) / "batch.jsonl",
                BatchEngine("qa", reader=reader),
                chunk_size=args.chunk,
                progress=False,
            )
            if profiler is not None:
                profiler.disable()
            batch_seconds += time.perf_counter() - started
            batch_model += timer.seconds
            calls += timer.calls
            failed += summary.failed
            same = same and _same_answers(Path(tmp) / "loop.jsonl", Path(tmp) / "batch.jsonl")

    print(f"{len(records)} SQuAD 2.0 questions with their contexts, reader {MODEL.name}\n")
    print("| side | records/s | outside the model's forward passes | speed vs the loop |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| per-record loop | {len(records) / loop_seconds:.2f} | {1 - loop_model / loop_seconds:.1%} | 1.00x |")
    print(
        f"| docqa batch (chunks of {args.chunk}, {calls} forward passes) | {len(records) / batch_seconds:.2f} | "
        f"{1 - batch_model / batch_seconds:.1%} | {loop_seconds / batch_seconds:.2f}x |"
    )
    print(f"\nidentical answers: {same}; failed records: {failed}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def _same_answers(first: Path, second: Path) -> bool:
    def key(line: str) -> tuple[Any, ...]:
        item = json.loads(line)
        return item["id"], item["answer"], item["start"], item["end"], round(item["score"], 4)

    lines_a = first.read_text(encoding="utf-8").splitlines()
    lines_b = second.read_text(encoding="utf-8").splitlines()
    return [key(a) for a in lines_a] == [key(b) for b in lines_b]


if __name__ == "__main__":
    main()
