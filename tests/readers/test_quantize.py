"""``quantize=True``: int8 dynamic quantization really runs, and stays close to fp32 on a tiny random BERT.

Close, not equal: on real weights int8 changes many top answers (see the README); the bounds here are those of
a tiny model whose span scores are about 0.5 apart at most, so a broken quantization (wrong scales, no effect,
the fp32 model left in place) fails them.
"""

from __future__ import annotations

import json
from pathlib import Path

from int8_checks import assert_int8_close_to_fp32

from docqa.readers import ExtractiveReader
from docqa.schema import Answer, Document


def _squad_cases(squad_file: Path) -> tuple[list[str], list[list[Document]]]:
    paragraphs = [p for article in json.loads(squad_file.read_text())["data"] for p in article["paragraphs"]][::20]
    cases = [(qa["question"], p["context"]) for p in paragraphs for qa in p["qas"][:3]]
    return [q for q, _ in cases], [[Document(context)] for _, context in cases]


def _answers(
    model_dir: Path, quantize: bool, questions: list[str], documents: list[list[Document]]
) -> tuple[ExtractiveReader, list[list[Answer]]]:
    reader = ExtractiveReader(model=str(model_dir), top_k=5, no_answer=False, device="cpu", quantize=quantize)
    return reader, reader.run_batch(questions, documents)["answers"]


def test_quantized_reader_is_int8_and_close_to_fp32(tiny_bert: Path, squad_dev_half: Path) -> None:
    import torch

    questions, documents = _squad_cases(squad_dev_half)
    _, fp32 = _answers(tiny_bert, False, questions, documents)
    int8_reader, int8 = _answers(tiny_bert, True, questions, documents)
    modules = list(int8_reader._model.modules())
    assert not any(type(m) is torch.nn.Linear for m in modules)  # every linear layer was replaced...
    assert sum("quantized" in type(m).__module__ for m in modules) >= 10  # ...by an int8 one (2 layers x 6 + head)
    assert_int8_close_to_fp32(fp32, int8, len(questions))
