"""ExtractiveReader(backend="onnx"): same logits and answers as PyTorch, export cached, clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from shared_assets import build_tiny_bert

from docqa.errors import ComponentError, ModelLoadError
from docqa.readers import ExtractiveReader
from docqa.readers.windows import pad_batch, tokenize_windows
from docqa.schema import Answer, Document

GEOMETRY = {"max_seq_len": 64, "doc_stride": 16, "max_query_length": 16, "max_answer_length": 8}
CONTEXTS = [
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in "
    "France. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway. " * 2,
    "Café Müller in Zürich served crème brûlée in 1889; 北京大学 was founded in 1898.",
    "Rollo was a Viking leader.",
]
QUESTIONS = ["Who gave their name to Normandy?", "When was the university founded?", "Who was Rollo?"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    # one cache for the module (exports are the slow part), never the user's own ~/.cache
    cache = tmp_path_factory.getbasetemp() / "onnx-cache"
    monkeypatch.setenv("DOCQA_CACHE", str(cache))
    return cache


def _reader(model_dir: Path, backend: str, **kwargs: object) -> ExtractiveReader:
    return ExtractiveReader(model=str(model_dir), backend=backend, device="cpu", **{**GEOMETRY, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("model_name", ["tiny_bert", "tiny_roberta", "tiny_distilbert"])
def test_onnx_logits_equal_torch_logits_on_padded_windows(request: pytest.FixtureRequest, model_name: str) -> None:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    model_dir: Path = request.getfixturevalue(model_name)
    reader = _reader(model_dir, "onnx")
    reader.warm_up()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with_types = model_name == "tiny_bert"
    windows = tokenize_windows(tokenizer, QUESTIONS, CONTEXTS, 64, 16, with_token_types=with_types)
    arrays = pad_batch(windows, tokenizer.pad_token_id)
    valid = arrays["attention_mask"].astype(bool)
    assert len(windows) >= 4 and not valid.all()  # several windows, some of them padded
    assert ("token_type_ids" in arrays) == with_types
    # the oracle: a fresh PyTorch model from the same directory, independent of the reader's
    torch_model = AutoModelForQuestionAnswering.from_pretrained(model_dir).eval()
    with torch.inference_mode():
        expected = torch_model(**{name: torch.from_numpy(array) for name, array in arrays.items()})
    start, end = reader._model(arrays)
    assert start.dtype == np.float32 and start.shape == valid.shape
    np.testing.assert_allclose(start[valid], expected.start_logits.numpy()[valid], atol=1e-4, rtol=0)
    np.testing.assert_allclose(end[valid], expected.end_logits.numpy()[valid], atol=1e-4, rtol=0)


def _key(answer: Answer) -> tuple[object, ...]:
    span = answer.document_span
    return (answer.text, None if span is None else (span.start, span.end), answer.is_no_answer)


@pytest.mark.parametrize("model_name", ["tiny_bert", "tiny_roberta"])
def test_answers_are_identical_between_backends(request: pytest.FixtureRequest, model_name: str) -> None:
    model_dir: Path = request.getfixturevalue(model_name)
    documents = [[Document(text) for text in CONTEXTS] for _ in QUESTIONS]
    by_backend = {
        backend: _reader(model_dir, backend, top_k=3).run_batch(QUESTIONS, documents)["answers"]
        for backend in ("torch", "onnx")
    }
    for torch_answers, onnx_answers in zip(by_backend["torch"], by_backend["onnx"], strict=True):
        assert [_key(a) for a in onnx_answers] == [_key(a) for a in torch_answers]
        for ours, theirs in zip(onnx_answers, torch_answers, strict=True):
            assert ours.score == pytest.approx(theirs.score, abs=1e-4)
            if theirs.is_no_answer:
                assert ours.meta["no_answer_margin"] == pytest.approx(theirs.meta["no_answer_margin"], abs=1e-4)


def test_no_answer_decision_is_the_same_on_both_sides_of_the_threshold(tiny_bert: Path) -> None:
    documents = [Document(text) for text in CONTEXTS]
    answers = _reader(tiny_bert, "torch").run(query=QUESTIONS[0], documents=documents)["answers"]
    margin = next(a for a in answers if a.is_no_answer).meta["no_answer_margin"]
    for threshold, says_no_answer in ((margin - 0.01, False), (margin + 0.01, True)):
        tops = [
            _reader(tiny_bert, backend, top_k=1, no_answer_threshold=threshold).run(
                query=QUESTIONS[0], documents=documents
            )["answers"][0]
            for backend in ("torch", "onnx")
        ]
        assert _key(tops[0]) == _key(tops[1])
        assert tops[1].is_no_answer is says_no_answer


def test_export_is_cached_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DOCQA_CACHE", str(cache))
    model_dir = build_tiny_bert(tmp_path / "model", seed=3)
    first = _reader(model_dir, "onnx")
    first.warm_up()
    assert first._model.exported and first._model.path.is_file()
    assert first._model.path.is_relative_to(cache / "onnx")
    written = first._model.path.stat()
    second = _reader(model_dir, "onnx")
    second.warm_up()
    assert not second._model.exported and second._model.path == first._model.path
    assert second._model.path.stat().st_mtime_ns == written.st_mtime_ns
    assert [p.name for p in (cache / "onnx").iterdir()] == [first._model.path.parent.name]  # no staging left


def test_other_weights_get_their_own_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime
    from transformers import AutoModelForQuestionAnswering

    from docqa.readers.onnx_runtime import _probe_error

    monkeypatch.setenv("DOCQA_CACHE", str(tmp_path / "cache"))
    readers = [_reader(build_tiny_bert(tmp_path / f"model-{seed}", seed=seed), "onnx") for seed in (4, 5)]
    for reader in readers:
        reader.warm_up()
    assert readers[0]._model.path != readers[1]._model.path and readers[1]._model.exported
    # the check that guards every cached graph tells a graph of other weights apart
    names = readers[0]._model.input_names
    model = AutoModelForQuestionAnswering.from_pretrained(tmp_path / "model-4").eval()
    assert _probe_error(model, names, readers[0]._model.path, onnxruntime) is None
    assert _probe_error(model, names, readers[1]._model.path, onnxruntime) is not None


def test_bert_graph_uses_fused_kernels(tiny_bert: Path) -> None:
    import onnx

    reader = _reader(tiny_bert, "onnx")
    reader.warm_up()
    operators = {node.op_type for node in onnx.load(str(reader._model.path)).graph.node}
    assert reader._model.fused and "Attention" in operators  # the fast path, not the plain-export fallback


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"backend": "tensorflow"}, "backend must be one of"),
        ({"backend": "ONNX"}, "backend must be one of"),
        ({"backend": "onnx", "device": "cuda"}, "device must be 'auto' or 'cpu'"),
    ],
)
def test_bad_backend_settings_are_errors(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ComponentError, match=fragment):
        ExtractiveReader(model="any", **kwargs)  # type: ignore[arg-type]


def test_missing_onnxruntime_says_what_to_install(tiny_bert: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` raise ImportError
    with pytest.raises(ModelLoadError) as caught:
        _reader(tiny_bert, "onnx").warm_up()
    message = str(caught.value)
    assert "\n" not in message and 'pip install "docqa[onnx]"' in message and str(tiny_bert) in message


def test_batches_run_at_once_give_each_batch_its_own_logits(tiny_bert: Path) -> None:
    # run_many: several batches on the one-thread session from two worker threads, results in the given order
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from docqa.readers.onnx_runtime import load_onnx_model

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    windows = tokenize_windows(tokenizer, QUESTIONS * 4, CONTEXTS * 4, 64, 16, with_token_types=True)
    batches = [pad_batch(windows[i : i + 3], tokenizer.pad_token_id) for i in range(0, len(windows), 3)]
    assert len(batches) >= 4 and len({b["input_ids"].shape for b in batches}) > 1
    # the oracle: the PyTorch model the graph is exported from
    torch_model = AutoModelForQuestionAnswering.from_pretrained(tiny_bert).eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    onnx_model = load_onnx_model(str(tiny_bert), torch_model, names, threads=2)
    assert onnx_model.workers == 2
    for arrays, (start, end) in zip(batches, onnx_model.run_many(batches), strict=True):
        with torch.inference_mode():
            expected = torch_model(**{name: torch.from_numpy(array) for name, array in arrays.items()})
        valid = arrays["attention_mask"].astype(bool)
        np.testing.assert_allclose(start[valid], expected.start_logits.numpy()[valid], atol=1e-4, rtol=0)
        np.testing.assert_allclose(end[valid], expected.end_logits.numpy()[valid], atol=1e-4, rtol=0)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_answers_do_not_depend_on_the_batch_limits(tiny_bert: Path, backend: str) -> None:
    documents = [[Document(text) for text in CONTEXTS] for _ in QUESTIONS]
    answers = {
        limits: _reader(tiny_bert, backend, top_k=3, batch_size=limits[0], max_batch_tokens=limits[1]).run_batch(
            QUESTIONS, documents
        )["answers"]
        for limits in ((32, None), (1, None), (64, 64), (64, 130))
    }
    reference = answers[(32, None)]
    for limits, found in answers.items():
        for ours, theirs in zip(found, reference, strict=True):
            assert [_key(a) for a in ours] == [_key(a) for a in theirs], limits
            assert [a.score for a in ours] == pytest.approx([a.score for a in theirs], abs=1e-4)


def test_max_batch_tokens_must_be_a_positive_int() -> None:
    with pytest.raises(ComponentError, match="max_batch_tokens"):
        ExtractiveReader(model="unused", max_batch_tokens=0)
