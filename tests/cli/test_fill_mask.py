"""``docqa fill-mask``: transformers' fill-mask output on the command line, with a tiny model given by path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shared_assets import build_masked_lm
from typer.testing import CliRunner

from docqa.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def mlm_dir(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    return build_masked_lm("bert", tmp_path_factory.mktemp("cli-mlm"))


@pytest.fixture(scope="module")
def reference(mlm_dir: Path) -> Any:
    from transformers import pipeline

    return pipeline("fill-mask", model=str(mlm_dir), tokenizer=str(mlm_dir))


def same(expected: list[dict[str, Any]], found: list[dict[str, Any]]) -> bool:
    keys = ("token", "token_str", "sequence")
    return [tuple(e[k] for k in keys) for e in expected] == [tuple(f[k] for k in keys) for f in found] and all(
        abs(e["score"] - f["score"]) < 1e-5 for e, f in zip(expected, found, strict=True)
    )


def test_json_equals_the_pipeline(mlm_dir: Path, reference: Any) -> None:
    text = "Paris is the [MASK] of France."
    result = runner.invoke(app, ["fill-mask", text, "--model", str(mlm_dir), "--top-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert same(reference(text, top_k=2), json.loads(result.stdout))


def test_several_texts_and_masks(mlm_dir: Path, reference: Any) -> None:
    texts = ["Hello [MASK].", "The [MASK] saw the [MASK]."]
    result = runner.invoke(app, ["fill-mask", *texts, "--model", str(mlm_dir), "--json", "-t", "dog", "-t", "cat"])
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.stdout)
    assert same(reference(texts[0], targets=["dog", "cat"]), first)
    for expected, found in zip(reference(texts[1], targets=["dog", "cat"]), second, strict=True):
        assert same(expected, found)


def test_table_shows_the_candidates(mlm_dir: Path, reference: Any) -> None:
    text = "Paris is the [MASK] of France."
    result = runner.invoke(app, ["fill-mask", text, "--model", str(mlm_dir), "-k", "3"])
    assert result.exit_code == 0, result.output
    assert all(candidate["token_str"] in result.stdout for candidate in reference(text, top_k=3))


def test_no_mask_is_one_line_naming_the_token(mlm_dir: Path) -> None:
    result = runner.invoke(app, ["fill-mask", "No mask here.", "--model", str(mlm_dir)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "[MASK]" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_model_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["fill-mask", "a [MASK]", "--model", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "nowhere" in result.stderr and len(result.stderr.strip().splitlines()) == 1
