"""The sample corpus in data/ is what its README says: the SQuAD 2.0 dev-half articles, one file each."""

from __future__ import annotations

import json
from pathlib import Path

from docqa.converters import convert_paths

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


def _squad(squad_dev_half: Path) -> dict:
    return json.loads(squad_dev_half.read_text(encoding="utf-8"))


def test_one_file_per_article_with_its_paragraphs(squad_dev_half: Path) -> None:
    articles = _squad(squad_dev_half)["data"]
    result = convert_paths([DATA_DIR / "articles"])
    assert result.skipped == []
    by_name = {d.meta["file_name"]: d.content for d in result.documents}
    assert sorted(by_name) == sorted(f"{article['title']}.txt" for article in articles)
    assert len(by_name) == 16
    for article in articles:
        paragraphs = by_name[f"{article['title']}.txt"].rstrip("\n").split("\n\n")
        assert paragraphs == [p["context"].strip() for p in article["paragraphs"]]


def test_questions_are_answerable_squad_questions_answered_by_their_article(squad_dev_half: Path) -> None:
    gold = {
        qa["question"]: (article["title"], {answer["text"] for answer in qa["answers"]}, qa["is_impossible"])
        for article in _squad(squad_dev_half)["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    }
    lines = (DATA_DIR / "questions.tsv").read_text(encoding="utf-8").splitlines()
    assert 6 <= len(lines) <= 12
    for line in lines:
        question, answer = line.split("\t")
        title, answers, impossible = gold[question]
        assert not impossible
        assert answer in answers
        assert answer in (DATA_DIR / "articles" / f"{title}.txt").read_text(encoding="utf-8")
    assert (DATA_DIR / "README.md").read_text(encoding="utf-8").count("CC BY-SA 4.0") >= 1
