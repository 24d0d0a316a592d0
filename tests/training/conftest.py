"""Small SQuAD files cut from ../shared/data/squad2-dev-half, and a tiny fresh model for training."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and on a busy machine OpenMP's spinning threads make each small
    operation many times slower: one thread while these tests run, the previous count restored after."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def squad_slice(source: Path, paragraphs: int, answerable_only: bool = False, first: int = 0) -> dict[str, Any]:
    """The first ``paragraphs`` paragraphs (from paragraph ``first``, across articles) of ``source`` as a new file;
    ``answerable_only`` keeps only answerable questions and drops ``is_impossible`` (a SQuAD 1.1 file)."""
    data = json.loads(source.read_text(encoding="utf-8"))
    flat = [(article["title"], p) for article in data["data"] for p in article["paragraphs"]]
    articles: list[dict[str, Any]] = []
    for title, paragraph in flat[first : first + paragraphs]:
        paragraph = copy.deepcopy(paragraph)
        if answerable_only:
            paragraph["qas"] = [
                {k: v for k, v in qa.items() if k != "is_impossible"} for qa in paragraph["qas"] if qa["answers"]
            ]
        if not articles or articles[-1]["title"] != title:
            articles.append({"title": title, "paragraphs": []})
        articles[-1]["paragraphs"].append(paragraph)
    return {"version": "v1.1" if answerable_only else "v2.0", "data": articles}


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_slice(squad_dev_half: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two paragraphs (answerable and unanswerable questions): a few dozen windows at 96 tokens."""
    return write_json(tmp_path_factory.mktemp("slice") / "tiny.json", squad_slice(squad_dev_half, 2))
