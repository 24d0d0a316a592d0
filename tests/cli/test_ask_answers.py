"""``docqa ask`` with the real small reader over Warsaw.txt: one answer per place, grouped by text on request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shared_assets import REPO_ROOT, SHARED_DIR
from typer.testing import CliRunner

from docqa.cli import app
from docqa.text.normalization import normalize_answer

runner = CliRunner()
READER = str(SHARED_DIR / "models" / "minilm-l6-squad2-half12")
WARSAW = REPO_ROOT / "data" / "articles" / "Warsaw.txt"
QUESTION = "On what river does Warsaw stand?"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("warsaw") / "store"
    result = runner.invoke(app, ["index", str(WARSAW), "--store", str(path)])  # 120 words, overlap 20
    assert result.exit_code == 0, result.output
    return path


def ask(store: Path, *options: str) -> list[dict[str, Any]]:
    args = ["ask", QUESTION, "--store", str(store), "--model", READER, "--retriever-top-k", "6", "--json", *options]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    answers: list[dict[str, Any]] = json.loads(result.stdout)["answers"]
    return answers


def test_one_answer_per_place_in_the_file(store: Path) -> None:
    text = WARSAW.read_text(encoding="utf-8")
    answers = ask(store, "-k", "8", "--group-by", "span", "--retriever-weight", "0")
    assert answers[0]["no_answer"]  # each place of "Vistula" alone ranks below the no-answer
    spans = [a for a in answers if not a["no_answer"]]
    places = [(a["source_span"]["start"], a["source_span"]["end"]) for a in spans]
    assert len(spans) == 8 and len(set(places)) == 8  # never the same characters twice
    merged = [a for a in spans if len(a["sources"]) > 1]
    assert merged  # found in two overlapping passages, listed once
    for answer in spans:
        start, end = answer["source_span"]["start"], answer["source_span"]["end"]
        assert text[start:end] == answer["text"]
        assert answer["span"] == answer["source_span"] and answer["document_span"] == answer["passage_span"]
        assert answer["probability"] == pytest.approx(sum(s["probability"] for s in answer["sources"]), rel=1e-9)
        for source in answer["sources"]:
            assert source["source_span"] == answer["source_span"]
            passage = answer["passage"]["content"] if source["document_id"] == answer["document_id"] else None
            if passage is not None:
                assert passage[source["passage_span"]["start"] : source["passage_span"]["end"]] == answer["text"]


def test_grouped_by_text_vistula_beats_the_no_answer_with_every_place_listed(store: Path) -> None:
    text = WARSAW.read_text(encoding="utf-8")
    grouped = ask(store, "-k", "3", "--group-by", "text", "--retriever-weight", "0")
    vistula, no_answer = grouped[0], next(a for a in grouped if a["no_answer"])
    assert normalize_answer(vistula["text"]) == "vistula" and vistula["probability"] > no_answer["probability"]
    places = {(s["source_span"]["start"], s["source_span"]["end"]) for s in vistula["sources"]}
    assert len(places) >= 3
    for start, end in places:  # exact offsets into Warsaw.txt
        assert normalize_answer(text[start:end]) == "vistula"
    assert sum(s["probability"] for s in vistula["sources"]) == pytest.approx(vistula["probability"], rel=1e-9)
    args = ["ask", QUESTION, "--store", str(store), "-m", READER, "--retriever-top-k", "6", "--retriever-weight", "0"]
    table = runner.invoke(app, args)
    flat = " ".join(table.stdout.replace("│", " ").split())  # the panels' text, borders left out
    assert table.exit_code == 0 and "1. Vistula" in flat and f"found in {len(places)} places" in flat
