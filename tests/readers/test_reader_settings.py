"""ReaderSettings (validated once) and ExtractiveReader.with_settings (a view sharing the loaded model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from docqa import hub
from docqa.core.component import init_parameters
from docqa.errors import ComponentError
from docqa.readers import ExtractiveReader
from docqa.readers.settings import ReaderSettings
from docqa.schema import Document

CONTEXT = "Filler words about nothing at all. " * 30 + "The lighthouse keeper was Margaret Okafor from Skerry Point."


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_seq_len": 0}, "max_seq_len must be an integer >= 1"),
        ({"doc_stride": -1}, "doc_stride must be an integer >= 0"),
        ({"max_answer_length": True}, "max_answer_length must be an integer >= 1, got True"),
        ({"align_to_words": "yes"}, "align_to_words must be true or false"),
        ({"max_seq_len": 64, "max_query_length": 32, "doc_stride": 32}, "doc_stride=32 must be smaller than"),
    ],
)
def test_settings_are_checked_when_made(changes: dict, message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        ReaderSettings(**changes)


def test_with_settings_reads_like_a_reader_built_with_them(tiny_bert_qa_dir: Path) -> None:
    reader = ExtractiveReader(model=str(tiny_bert_qa_dir), top_k=4)
    assert reader.with_settings(ReaderSettings.of(reader)) is reader  # its own settings: itself, no copy
    settings = ReaderSettings(max_seq_len=48, doc_stride=16, max_query_length=12, max_answer_length=6,
                              align_to_words=False, no_answer=False)  # fmt: skip
    view = reader.with_settings(settings)
    assert view._model is reader._model and view._tokenizer is reader._tokenizer  # loaded once, shared
    assert ReaderSettings.of(view) == settings and ReaderSettings.of(reader) == ReaderSettings()
    assert init_parameters(view) == {**init_parameters(reader), **settings.as_dict()}
    assert init_parameters(reader)["max_seq_len"] == 384  # the original is untouched
    built = ExtractiveReader(model=str(tiny_bert_qa_dir), top_k=4, **settings.as_dict())
    question, documents = "Who kept the lighthouse?", [Document(CONTEXT)]
    expected = built.run(query=question, documents=documents)["answers"]
    found = view.run(query=question, documents=documents)["answers"]
    assert [(a.text, a.span) for a in found] == [(a.text, a.span) for a in expected]
    assert [a.probability for a in found] == pytest.approx([a.probability for a in expected])


def test_with_settings_checks_what_depends_on_the_model(tiny_bert_qa_dir: Path) -> None:
    reader = ExtractiveReader(model=str(tiny_bert_qa_dir))
    with pytest.raises(ComponentError, match=r"exceeds model .* positions"):
        reader.with_settings(ReaderSettings(max_seq_len=100_000))
    with pytest.raises(ComponentError, match="doc_stride=29 must be smaller than the room"):  # 3 special tokens
        reader.with_settings(ReaderSettings(max_seq_len=64, max_query_length=32, doc_stride=29))


def test_with_settings_views_share_the_model_in_its_precision(
    tiny_bert_qa_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset({"avx512_bf16"}))
    reader = ExtractiveReader(model=str(tiny_bert_qa_dir), device="cpu", dtype="bfloat16", top_k=3)
    settings = ReaderSettings(max_seq_len=48, doc_stride=16, max_query_length=12, max_answer_length=6)
    view = reader.with_settings(settings)
    assert view._model is reader._model and view.torch_dtype is torch.bfloat16
    assert init_parameters(view)["dtype"] == "bfloat16"
    built = ExtractiveReader(model=str(tiny_bert_qa_dir), device="cpu", dtype="bfloat16", top_k=3, **settings.as_dict())
    question, documents = "Who kept the lighthouse?", [Document(CONTEXT)]
    expected = built.run(query=question, documents=documents, group_by="text")["answers"]
    found = view.run(query=question, documents=documents, group_by="text")["answers"]
    assert [(a.text, a.span, a.score) for a in found] == [(a.text, a.span, a.score) for a in expected]
