"""Training a tiny reader: it learns a small slice, resumes to the same weights, and refuses bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import squad_slice, write_json

from docqa.errors import ComponentError, ConversionError, ModelLoadError
from docqa.training import TrainingConfig, evaluate_checkpoint, train_reader


class Interrupted(Exception):
    pass


def weights(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def same_weights(first: Path, second: Path) -> bool:
    import torch

    a, b = weights(first), weights(second)
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def small_config(base: Path, train: Path, out: Path, **changes: Any) -> TrainingConfig:
    settings: dict[str, Any] = dict(
        base=str(base), train=str(train), out=str(out), epochs=2, batch_size=4, grad_acc=2,
        learning_rate=1e-3, max_seq_len=96, doc_stride=32, max_query_length=24,
    )  # fmt: skip
    return TrainingConfig(**{**settings, **changes})


@pytest.fixture(scope="module")
def answerable_slice(squad_dev_half: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten answerable questions, written as a SQuAD 1.1 file."""
    data = squad_slice(squad_dev_half, 3, answerable_only=True)
    return write_json(tmp_path_factory.mktemp("fit") / "answerable.json", data)


@pytest.fixture(scope="module")
def uninterrupted(tiny_bert_qa_dir: Path, tiny_slice: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two epochs with an evaluation after each, never interrupted."""
    out = tmp_path_factory.mktemp("uninterrupted") / "out"
    train_reader(small_config(tiny_bert_qa_dir, tiny_slice, out, dev=str(tiny_slice)), progress=False)
    return out


def test_a_tiny_model_fits_a_small_slice(tiny_bert_qa_dir: Path, answerable_slice: Path, tmp_path: Path) -> None:
    config = small_config(
        tiny_bert_qa_dir, answerable_slice, tmp_path / "out", dev=str(answerable_slice), epochs=10,
        batch_size=8, grad_acc=1, learning_rate=5e-3, warmup=0.1, max_seq_len=128, doc_stride=48,
        max_query_length=32,
    )  # fmt: skip
    before = evaluate_checkpoint(tiny_bert_qa_dir, config, progress=False)["metrics"]["v1"]["exact_match"]
    result = train_reader(replace(config, dev=None), progress=False)
    after = evaluate_checkpoint(result.out, config, progress=False)["metrics"]["v1"]["exact_match"]
    losses = [epoch["train_loss"] for epoch in result.epochs]
    assert result.metadata["mode"] == "squad1"
    assert before <= 10.0 and after >= 50.0, (before, after)
    assert losses[-1] < 0.5 * losses[0], losses


def test_the_published_model_loads_as_a_reader_and_a_transformers_model(uninterrupted: Path) -> None:
    from transformers import AutoModelForQuestionAnswering

    from docqa import Document, ExtractiveReader

    assert {"config.json", "model.safetensors", "tokenizer.json", "docqa_training.json"} <= {
        p.name for p in uninterrupted.iterdir()
    }
    AutoModelForQuestionAnswering.from_pretrained(uninterrupted)
    reader = ExtractiveReader(model=str(uninterrupted), max_seq_len=96, doc_stride=32, max_query_length=24)
    answers = reader.run(query="Who?", documents=[Document("Normans lived in Normandy.")])["answers"]
    assert answers and any(answer.is_no_answer for answer in answers)
    record = json.loads((uninterrupted / "docqa_training.json").read_text())
    assert record["finished"] and record["mode"] == "squad2" and len(record["train_sha256"]) == 64
    assert record["hyperparameters"]["learning_rate"] == 1e-3
    assert [epoch["epoch"] for epoch in record["epochs"]] == [1, 2]
    assert all("HasAns_f1" in epoch["metrics"] for epoch in record["epochs"])
    best = max(record["epochs"], key=lambda epoch: epoch["score"])
    assert record["best_epoch"] == best["epoch"]
    assert record["advised_no_answer_threshold"] == best["advised_no_answer_threshold"]
    checkpoint = uninterrupted / "checkpoints" / record["checkpoint"]
    assert same_weights(uninterrupted, checkpoint)


@pytest.mark.parametrize("stop_at", [1, 3])
def test_resume_gives_the_uninterrupted_weights(
    tiny_bert_qa_dir: Path, tiny_slice: Path, uninterrupted: Path, tmp_path: Path, stop_at: int
) -> None:
    out = tmp_path / "out"
    config = small_config(tiny_bert_qa_dir, tiny_slice, out, dev=str(tiny_slice), save_steps=1)
    assert replace(config, save_steps=None).hyperparameters() != config.hyperparameters()

    def stop(step: int, loss: float) -> None:
        if step == stop_at:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_reader(config, progress=False, on_step=stop)
    assert not (out / "model.safetensors").exists()  # nothing is published before the end
    result = train_reader(config, resume=True, progress=False)
    assert result.metadata["steps"] == json.loads((uninterrupted / "docqa_training.json").read_text())["steps"]
    assert same_weights(out, uninterrupted)
    expected = json.loads((uninterrupted / "docqa_training.json").read_text())["epochs"]
    assert [e["metrics"] for e in result.epochs] == [e["metrics"] for e in expected]


def test_same_seed_same_weights_other_seed_other_weights(
    tiny_bert_qa_dir: Path, tiny_slice: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    config = small_config(tiny_bert_qa_dir, tiny_slice, tmp_path / "a", dev=str(tiny_slice))
    assert same_weights(train_reader(config, progress=False).out, uninterrupted)
    other = train_reader(replace(config, out=str(tmp_path / "b"), seed=7, dev=None), progress=False)
    assert not same_weights(other.out, uninterrupted)


def test_resume_refuses_other_settings_and_an_empty_folder(
    tiny_bert_qa_dir: Path, tiny_slice: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(uninterrupted, copy)
    changed = small_config(tiny_bert_qa_dir, tiny_slice, copy, dev=str(tiny_slice), learning_rate=2e-3)
    with pytest.raises(ComponentError, match="hyperparameters differ"):
        train_reader(changed, resume=True, progress=False)
    with pytest.raises(ComponentError, match="holds no checkpoint"):
        train_reader(replace(changed, out=str(tmp_path / "empty")), resume=True, progress=False)


def test_an_out_folder_holding_something_else_is_refused_unless_overwrite(
    tiny_bert_qa_dir: Path, tiny_slice: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    config = small_config(tiny_bert_qa_dir, tiny_slice, out, max_steps=1)
    with pytest.raises(ComponentError, match=r"already holds files.*--overwrite"):
        train_reader(config, progress=False)
    assert (out / "notes.txt").read_text() == "mine"
    train_reader(config, overwrite=True, progress=False)
    assert not (out / "notes.txt").exists() and (out / "model.safetensors").is_file()


def test_a_training_set_empty_after_validation_is_refused(tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    data = {"data": [{"title": "t", "paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "q", "question": "Where?", "answers": [{"text": "Germany", "answer_start": 12}]}]}]}]}  # fmt: skip
    train = write_json(tmp_path / "bad.json", data)
    with pytest.raises(ConversionError, match=r"no training question left.*1 dropped"):
        train_reader(small_config(tiny_bert_qa_dir, train, tmp_path / "out"), progress=False)
    assert not (tmp_path / "out").exists()


def test_a_base_that_is_not_an_encoder_is_refused(tiny_slice: Path, tmp_path: Path) -> None:
    import torch
    from shared_assets import BERT_TOKENIZER, save_with_tokenizer
    from transformers import GPT2Config, GPT2ForQuestionAnswering

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=30522, n_embd=32, n_layer=1, n_head=2, n_positions=128)
    gpt2 = save_with_tokenizer(tmp_path / "gpt2", GPT2ForQuestionAnswering(config), BERT_TOKENIZER)
    with pytest.raises(ModelLoadError, match="'gpt2' model, not an encoder"):
        train_reader(small_config(gpt2, tiny_slice, tmp_path / "out"), progress=False)


def test_a_sentence_transformers_folder_gets_a_fresh_span_head(
    minilm_model: str, tiny_slice: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForQuestionAnswering

    config = small_config(Path(minilm_model), tiny_slice, tmp_path / "out", max_steps=1, batch_size=2, grad_acc=1)
    result = train_reader(config, progress=False)
    assert result.metadata["base_kind"] == "encoder (fresh span head)"
    model = AutoModelForQuestionAnswering.from_pretrained(result.out)
    assert type(model).__name__ == "BertForQuestionAnswering" and model.config.num_hidden_layers == 6


def test_bad_settings_are_refused_in_one_line() -> None:
    with pytest.raises(ComponentError, match="grad_acc must be an integer >= 1"):
        TrainingConfig(base="b", train="t", out="o", grad_acc=0)
    with pytest.raises(ComponentError, match="warmup must be a fraction"):
        TrainingConfig(base="b", train="t", out="o", warmup=1.5)
    with pytest.raises(ComponentError, match="precision"):
        TrainingConfig(base="b", train="t", out="o", precision="fp8")


def test_max_steps_overrides_epochs_and_bars_show_only_on_a_terminal_with_the_right_epoch(
    tiny_bert_qa_dir: Path, tiny_slice: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import math

    notes: list[str] = []
    config = small_config(tiny_bert_qa_dir, tiny_slice, tmp_path / "a", epochs=1, batch_size=8, grad_acc=4, max_steps=5)
    result = train_reader(config, log=notes.append)  # stderr is not a terminal here: no bar
    steps_per_epoch = math.ceil(math.ceil(result.metadata["windows"] / 8) / 4)
    assert steps_per_epoch < 5  # so that --max-steps 5 takes more than the one epoch asked for
    assert result.metadata["steps"] == result.metadata["total_steps"] == 5
    epochs = math.ceil(5 / steps_per_epoch)
    assert [e["epoch"] for e in result.epochs] == list(range(1, epochs + 1))
    assert [e["complete"] for e in result.epochs] == [True] * (epochs - 1) + [5 % steps_per_epoch == 0]
    assert any("--max-steps 5 overrides --epochs 1" in note for note in notes)
    assert capsys.readouterr().err == ""
    train_reader(replace(config, out=str(tmp_path / "b"), max_steps=None, epochs=2), progress=True)
    bars = capsys.readouterr().err
    assert "epoch 1/2" in bars and "epoch 2/2" in bars  # the second epoch says so while it runs
