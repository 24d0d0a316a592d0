"""FillMask against transformers' fill-mask pipeline on the same sentences and model: equal outputs, speed.

The model has distilbert-base-uncased's architecture (6 layers, 768 hidden; ``--tiny``: 2 layers, 64 hidden)
with random weights (``initializer_range=0.5``: sharp attention, so that float rounding of other matrix shapes,
e.g. padding, can change a ranking; a hard test of equal outputs), saved with the bert-base-uncased tokenizer
under .bench/. The sentences are SQuAD 2.0 dev sentences of 6-40 words with one word masked (seeded). The
pipeline runs as users call it (a list of texts, ``batch_size=1``, its default: the reference outputs) and with
``batch_size=32``. Rounds alternate the sides, so both see the same load on a shared machine. Prints a markdown
table. About 3-4 minutes on an idle 2-core machine with the defaults. Run from the repository root::

    python bench/fill_mask.py                      # 1,000 sentences
    python bench/fill_mask.py --sentences 200 --tiny
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docqa.fill_mask import FillMask  # noqa: E402  (path set above)

BENCH_DIR = REPO / ".bench"
SQUAD_DEV = REPO / ".." / "shared" / "data" / "squad2-dev-half" / "dev-v2.0-half.json"
BERT_TOKENIZER = REPO / ".." / "shared" / "models" / "bert-base-uncased-tokenizer"


def build_model(tiny: bool) -> Path:
    import torch
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForMaskedLM

    directory = BENCH_DIR / ("fill-mask-tiny" if tiny else "fill-mask-distilbert")
    if (directory / "config.json").exists():
        return directory
    torch.manual_seed(0)
    sizes = {"dim": 64, "n_layers": 2, "n_heads": 2, "hidden_dim": 128} if tiny else {}
    DistilBertForMaskedLM(DistilBertConfig(initializer_range=0.5, **sizes)).eval().save_pretrained(directory)
    AutoTokenizer.from_pretrained(BERT_TOKENIZER).save_pretrained(directory)
    return directory


def sentences(count: int, seed: int = 0) -> list[str]:
    data = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))["data"]
    found = []
    for article in data:
        for paragraph in article["paragraphs"]:
            for sentence in re.split(r"(?<=[.!?])\s+", paragraph["context"]):
                if 6 <= len(sentence.split()) <= 40:
                    found.append(sentence)
    rng = random.Random(seed)
    chosen = rng.sample(found, count)
    masked = []
    for sentence in chosen:
        words = sentence.split()
        words[rng.randrange(len(words))] = "[MASK]"
        masked.append(" ".join(words))
    return masked


def compare(reference: list[list[dict[str, Any]]], ours: list[Any]) -> tuple[int, float]:
    """(texts whose tokens, token_str and sequences differ, largest score difference)."""
    differing, largest = 0, 0.0
    for expected, found in zip(reference, ours, strict=True):
        keys = [(e["token"], e["token_str"], e["sequence"]) for e in expected]
        differing += keys != [(p.token, p.token_str, p.sequence) for p in found]
        largest = max(largest, *(abs(e["score"] - p.score) for e, p in zip(expected, found, strict=True)))
    return differing, largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--round", type=int, default=250)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    import torch
    from transformers import pipeline

    if args.threads:
        torch.set_num_threads(args.threads)
    model = build_model(args.tiny)
    texts = sentences(args.sentences)
    fill_mask = FillMask(model=str(model), top_k=5, batch_size=32, device="cpu")
    reference = pipeline("fill-mask", model=str(model), tokenizer=str(model), device="cpu")
    fill_mask.run(texts=texts[:4])
    reference(texts[:4])
    seconds = {"docqa": 0.0, "pipeline": 0.0, "pipeline32": 0.0}  # the pipeline's default is batch_size=1
    differing, largest = 0, 0.0
    for start in range(0, len(texts), args.round):
        part = texts[start : start + args.round]
        began = time.perf_counter()
        ours = fill_mask.run(texts=part)["predictions"]
        seconds["docqa"] += time.perf_counter() - began
        began = time.perf_counter()
        expected = reference(part, top_k=5)
        seconds["pipeline"] += time.perf_counter() - began
        began = time.perf_counter()
        reference(part, top_k=5, batch_size=32)
        seconds["pipeline32"] += time.perf_counter() - began
        d, largest_part = compare(expected, ours)
        differing, largest = differing + d, max(largest, largest_part)
    shape = "tiny (2x64)" if args.tiny else "distilbert-base (6x768)"
    print(f"{len(texts)} masked SQuAD sentences, {shape} random-weight DistilBertForMaskedLM, top_k=5\n")
    labels = {"docqa": "docqa FillMask", "pipeline": "pipeline, batch_size=1", "pipeline32": "pipeline, batch_size=32"}
    print("| side | sentences/s | docqa's speed-up over it |")
    print("| --- | ---: | ---: |")
    for name, label in labels.items():
        ratio = seconds[name] / seconds["docqa"]
        print(f"| {label} | {len(texts) / seconds[name]:.1f} | {ratio:.2f}x |")
    print(f"\noutputs against the pipeline (batch_size=1): {differing} of {len(texts)} texts differ in tokens, "
          f"token_str or sequence; largest score difference {largest:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
