"""Model loading failures: one-line ModelLoadError, without waiting on an unreachable hub."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from shared_assets import BERT_TOKENIZER

from docqa.errors import ModelLoadError
from docqa.readers import ExtractiveReader
from docqa.schema import Document


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the socket is closed


def _assert_one_line_naming(error: ModelLoadError, model: str) -> None:
    message = str(error)
    assert "\n" not in message
    assert model in message and 'model="/path"' in message and "HF_HUB_OFFLINE=1" in message


def test_unknown_hub_id_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reader = ExtractiveReader(model="no-such-org/no-such-qa-model")
    with pytest.raises(ModelLoadError) as caught:
        reader.warm_up()
    _assert_one_line_naming(caught.value, "no-such-org/no-such-qa-model")


def test_unreachable_hub_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(ModelLoadError, match="unreachable") as caught:
        ExtractiveReader(model="no-such-org/no-such-qa-model").warm_up()
    _assert_one_line_naming(caught.value, "no-such-org/no-such-qa-model")


@pytest.mark.parametrize("kind", ["empty", "tokenizer-only"])
def test_local_directory_without_a_model(tmp_path: Path, kind: str) -> None:
    directory = tmp_path if kind == "empty" else BERT_TOKENIZER
    reader = ExtractiveReader(model=str(directory))
    with pytest.raises(ModelLoadError) as caught:
        reader.run(query="why?", documents=[Document("because")])
    _assert_one_line_naming(caught.value, str(directory))


def test_failed_load_can_be_retried_and_init_is_lazy(tiny_bert: Path, tmp_path: Path) -> None:
    target = tmp_path / "model"
    reader = ExtractiveReader(model=str(target))  # nothing there yet: init must not touch the model
    with pytest.raises(ModelLoadError):
        reader.warm_up()
    import shutil

    shutil.copytree(tiny_bert, target)
    reader.warm_up()
    assert reader.run(query="why?", documents=[Document("because it is")])["answers"]


def test_a_checkpoint_without_a_question_answering_head_is_refused(
    minilm_model: str, capfd: pytest.CaptureFixture[str]
) -> None:
    reader = ExtractiveReader(model=minilm_model)  # a sentence-transformers BertModel: no qa_outputs weights
    with pytest.raises(ModelLoadError) as caught:
        reader.run(query="why?", documents=[Document("because")])
    assert str(caught.value) == (
        f"{minilm_model} has no question-answering head (qa_outputs missing); train one with docqa train"
    )
    captured = capfd.readouterr()
    assert "LOAD REPORT" not in captured.err and "MISSING" not in captured.err


def test_a_path_that_is_no_directory_is_named(tmp_path: Path) -> None:
    file = tmp_path / "model.safetensors"
    file.write_bytes(b"")
    for path in (tmp_path / "absent", file):
        with pytest.raises(ModelLoadError, match=f"^no model directory at {re.escape(str(path))}; "):
            ExtractiveReader(model=str(path)).warm_up()
