"""The reader's ``dtype``: checked in one line, refused where the device cannot run it, and a half-precision reader
loaded by transformers in that precision, decoding its own logits exactly (brute force over the same model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from reader_oracle import brute_force_answer

from docqa import hub
from docqa.errors import ComponentError
from docqa.readers import ExtractiveReader
from docqa.schema import Document

GEOMETRY = {"max_seq_len": 64, "doc_stride": 16, "max_query_length": 16, "max_answer_length": 8}
CONTEXT = (
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in "
    "France. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway. "
) * 3
QUESTION = "Who gave their name to Normandy?"


def test_dtype_is_checked_at_construction_in_one_line(tiny_bert: Path) -> None:
    with pytest.raises(ComponentError) as caught:
        ExtractiveReader(model=str(tiny_bert), dtype="half")
    assert str(caught.value) == (
        "ExtractiveReader: dtype must be one of 'auto', 'float32', 'bfloat16', 'float16', got 'half'"
    )
    for kwargs, fragment in [
        ({"backend": "onnx", "dtype": "bfloat16"}, "backend='onnx' runs float32: dtype must be 'auto' or 'float32'"),
        ({"quantize": True, "dtype": "float16"}, "quantize=True runs int8: dtype must be 'auto' or 'float32'"),
    ]:
        with pytest.raises(ComponentError, match=fragment):
            ExtractiveReader(model=str(tiny_bert), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_is_refused_on_a_cpu_without_native_units(
    tiny_bert: Path, monkeypatch: pytest.MonkeyPatch, dtype: str
) -> None:
    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset())
    reader = ExtractiveReader(model=str(tiny_bert), device="cpu", dtype=dtype)
    with pytest.raises(ComponentError) as caught:
        reader.warm_up()
    message = str(caught.value)
    assert message.startswith(f"ExtractiveReader: dtype={dtype!r} does not run natively on this CPU (")
    assert message.endswith("; use 'auto', 'float32'") and "\n" not in message
    assert reader._model is None


@pytest.mark.parametrize("features", [set(), {"avx512_bf16"}, {"amx_bf16"}])
def test_auto_is_bfloat16_on_a_cpu_with_native_units_for_torch_alone(
    tiny_bert: Path, monkeypatch: pytest.MonkeyPatch, features: set[str]
) -> None:
    import torch

    monkeypatch.delenv("DOCQA_DTYPE", raising=False)
    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset(features))
    expected = torch.bfloat16 if features else torch.float32
    reader = ExtractiveReader(model=str(tiny_bert), device="cpu")
    assert reader.torch_dtype is expected
    assert {p.dtype for p in reader._model.parameters()} == {expected}
    int8 = ExtractiveReader(model=str(tiny_bert), device="cpu", quantize=True)
    assert int8.torch_dtype is torch.float32  # int8 kernels take float32 weights


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_a_half_precision_reader_decodes_its_own_logits_exactly(
    tiny_bert: Path, monkeypatch: pytest.MonkeyPatch, dtype: str
) -> None:
    import torch

    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset({"avx512_bf16", "avx512_fp16"}))
    torch_dtype = getattr(torch, dtype)
    reader = ExtractiveReader(
        model=str(tiny_bert), device="cpu", dtype=dtype, top_k=1, no_answer=False, batch_size=1, **GEOMETRY
    )
    reader.warm_up()
    assert {p.dtype for p in reader._model.parameters()} == {torch_dtype}  # loaded so, not cast afterwards
    assert reader._model.config.dtype == torch_dtype
    # the oracle: the same weights loaded in the same precision, each window alone, every span scored
    geometry = {name: GEOMETRY[name] for name in ("max_seq_len", "doc_stride", "max_answer_length")}
    expected = brute_force_answer(tiny_bert, QUESTION, [CONTEXT], pass_token_types=True, dtype=torch_dtype, **geometry)
    assert expected.best is not None and len(expected.window_nulls) > 2
    (top,) = reader.run(query=QUESTION, documents=[Document(CONTEXT)])["answers"]
    assert (top.document_span.start, top.document_span.end) == (expected.best.word_start, expected.best.word_end)  # type: ignore[union-attr]
    assert top.score == pytest.approx(expected.best.score, abs=1e-6)  # two 16-bit logits, summed exactly
