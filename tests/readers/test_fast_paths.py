"""The reader's fast paths: plain and fused ONNX graphs, int8 ONNX Runtime (cached), length-sorted batches.

fp32 paths must give PyTorch fp32's answers; int8 must really run int8 kernels and stay close to fp32 on a
tiny random BERT (its span scores are about 0.5 apart at most, so a broken quantization fails the bounds).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from int8_checks import assert_int8_close_to_fp32
from shared_assets import build_tiny_bert

from docqa.core.component import init_parameters
from docqa.errors import ComponentError
from docqa.readers import ExtractiveReader
from docqa.schema import Answer, Document

GEOMETRY = {"max_seq_len": 64, "doc_stride": 16, "max_query_length": 16, "max_answer_length": 8}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path_factory.getbasetemp() / "onnx-cache"  # one per session: exports are the slow part
    monkeypatch.setenv("DOCQA_CACHE", str(cache))
    return cache


def _reader(model_dir: Path, **kwargs: object) -> ExtractiveReader:
    return ExtractiveReader(model=str(model_dir), device="cpu", **{"top_k": 3, **GEOMETRY, **kwargs})  # type: ignore[arg-type]


def _cases(squad_file: Path, every: int = 40) -> tuple[list[str], list[list[Document]]]:
    paragraphs = [p for article in json.loads(squad_file.read_text())["data"] for p in article["paragraphs"]][::every]
    cases = [(qa["question"], p["context"]) for p in paragraphs for qa in p["qas"][:3]]
    return [q for q, _ in cases], [[Document(context)] for _, context in cases]


def _key(answer: Answer) -> tuple[object, ...]:
    span = answer.document_span
    return (answer.text, None if span is None else (span.start, span.end), answer.is_no_answer)


def _operators(path: Path) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(path)).graph.node}


@pytest.mark.parametrize("optimize", [True, False])
def test_fp32_onnx_graphs_give_torch_answers_in_input_order(
    tiny_bert: Path, squad_dev_half: Path, optimize: bool
) -> None:
    questions, documents = _cases(squad_dev_half)
    # the oracle answers one question at a time, unbatched; the ONNX reader batches length-sorted windows
    # of all questions together and must put every answer back with its own question
    expected = [
        _reader(tiny_bert, batch_size=1).run(query=q, documents=d)["answers"]
        for q, d in zip(questions, documents, strict=True)
    ]
    reader = _reader(tiny_bert, backend="onnx", onnx_optimize=optimize, batch_size=7)
    got = reader.run_batch(questions, documents)["answers"]
    assert reader._model.fused is optimize and ("Attention" in _operators(reader._model.path)) is optimize
    for ours, theirs in zip(got, expected, strict=True):
        assert [_key(a) for a in ours] == [_key(a) for a in theirs]
        np.testing.assert_allclose([a.score for a in ours], [a.score for a in theirs], atol=1e-4, rtol=0)


def test_int8_onnx_runs_int8_kernels_and_stays_close_to_fp32(tiny_bert: Path, squad_dev_half: Path) -> None:
    questions, documents = _cases(squad_dev_half, every=30)
    fp32 = _reader(tiny_bert, top_k=5, no_answer=False).run_batch(questions, documents)["answers"]
    reader = _reader(tiny_bert, top_k=5, no_answer=False, backend="onnx", quantize=True)
    int8 = reader.run_batch(questions, documents)["answers"]
    operators = _operators(reader._model.path)
    assert reader._model.int8 and {"DynamicQuantizeLinear", "MatMulInteger"} & operators
    assert_int8_close_to_fp32(fp32, int8, len(questions))


def test_int8_graph_keeps_the_span_head_in_fp32(tiny_bert: Path) -> None:
    import onnx

    reader = _reader(tiny_bert, backend="onnx", quantize=True)
    reader.warm_up()
    nodes = onnx.load(str(reader._model.path)).graph.node
    head = [node for node in nodes if "qa_outputs" in node.name]
    assert head and all(node.op_type == "MatMul" for node in head if "MatMul" in node.name)
    assert any(node.op_type == "MatMulInteger" for node in nodes)  # while the encoder is int8


def test_int8_graph_is_cached_and_rebuilt_for_other_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DOCQA_CACHE", str(cache))
    model_dir = build_tiny_bert(tmp_path / "model", seed=7)
    first = _reader(model_dir, backend="onnx", quantize=True)
    first.warm_up()
    assert first._model.exported and first._model.path.is_file()
    written = first._model.path.stat().st_mtime_ns
    second = _reader(model_dir, backend="onnx", quantize=True)
    second.warm_up()
    assert not second._model.exported and second._model.path == first._model.path
    assert second._model.path.stat().st_mtime_ns == written  # read, not rewritten
    # the fp32 graph it came from sits in the same entry; no temporary file is left behind
    entry = sorted(p.name for p in first._model.path.parent.iterdir())
    assert entry == sorted(["export.json", "model.onnx", "plain.onnx", first._model.path.name])
    # other weights (same directory, edited in place): another entry, quantized afresh
    build_tiny_bert(model_dir, seed=8)
    third = _reader(model_dir, backend="onnx", quantize=True)
    third.warm_up()
    assert third._model.exported and third._model.path != first._model.path
    assert first._model.path.is_file()


def test_onnx_options_are_init_parameters(tiny_bert: Path) -> None:
    params = init_parameters(_reader(tiny_bert, backend="onnx", quantize=True, onnx_optimize=False))
    assert (params["backend"], params["quantize"], params["onnx_optimize"]) == ("onnx", True, False)
    assert init_parameters(ExtractiveReader(model="any"))["onnx_optimize"] is True


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"onnx_optimize": False}, "onnx_optimize=False only applies to backend='onnx'"),
        ({"backend": "torch", "quantize": True, "device": "cuda"}, "quantize=True is int8 on the CPU"),
        ({"backend": "onnx", "quantize": True, "device": "cuda"}, "device must be 'auto' or 'cpu'"),
    ],
)
def test_bad_option_combinations_are_one_line_errors(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ComponentError, match=fragment) as caught:
        ExtractiveReader(model="any", **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
