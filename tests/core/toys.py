"""Toy components for the pipeline tests, loaded as module ``docqa_test_toys`` by tests/core/conftest.py."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

from docqa.core.component import Variadic, capture_init_parameters, component
from docqa.schema import Document


@capture_init_parameters
class ToyDocumentStore:
    def __init__(self, texts: list[str] | None = None, path: str | None = None) -> None:
        self.documents = [Document(text) for text in texts or []]
        self.path = path


@component
class Greeter:
    def __init__(self, greeting: str = "hello", punctuation: str = "!") -> None:
        self.greeting = greeting
        self.punctuation = punctuation

    @component.output_types(text=str)
    def run(self, name: str) -> dict[str, str]:
        return {"text": f"{self.greeting} {name}{self.punctuation}"}


@component
class Shout:
    def __init__(self) -> None:
        self.warm_ups = 0

    def warm_up(self) -> None:
        self.warm_ups += 1

    @component.output_types(text=str, length=int)
    def run(self, text: str) -> dict[str, Any]:
        return {"text": text.upper(), "length": len(text)}


@component
class ToyRetriever:
    def __init__(self, document_store: ToyDocumentStore, top_k: int = 2) -> None:
        self.document_store = document_store
        self.top_k = top_k

    @component.output_types(documents=list[Document])
    def run(self, query: str, top_k: int | None = None) -> dict[str, list[Document]]:
        words = set(query.lower().split())
        scored = [
            Document(d.content, score=float(len(words & set(d.content.lower().split()))))
            for d in self.document_store.documents
        ]
        scored.sort(key=lambda d: -(d.score or 0.0))
        return {"documents": scored[: top_k if top_k is not None else self.top_k]}


@component
class ToyReader:
    """Answers with the first word of each document; counts run and run_batch calls."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.calls: list[str] = []

    @component.output_types(answers=list[str])
    def run(self, query: str, documents: list[Document], top_k: int | None = None) -> dict[str, list[str]]:
        self.calls.append("run")
        answers = [self.prefix + d.content.split()[0] for d in documents]
        return {"answers": answers[:top_k] if top_k is not None else answers}

    @component.output_types(answers=list[str])
    def run_batch(
        self, query: list[str], documents: list[list[Document]], top_k: int | None = None
    ) -> dict[str, list[list[str]]]:
        self.calls.append("run_batch")
        answers = [[self.prefix + d.content.split()[0] for d in docs] for docs in documents]
        return {"answers": [a[:top_k] if top_k is not None else a for a in answers]}


@component
class Joiner:
    def __init__(self) -> None:
        self.runs = 0

    @component.output_types(documents=list[Document])
    def run(self, documents: Variadic[list[Document]]) -> dict[str, list[Document]]:
        return {"documents": [doc for group in documents for doc in group]}


@component
class Misbehaving:
    """Returns what ``mode`` says, to test the pipeline's output checks."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode

    @component.output_types(count=int, words=list[str])
    def run(self, text: str) -> Any:
        good = {"count": 1, "words": text.split()}
        return {
            "ok": good,
            "not_a_dict": ["count", 1],
            "missing": {"count": 1},
            "extra": {**good, "bonus": 2},
            "wrong_type": {"count": "one", "words": text.split()},
            "wrong_items": {"count": 1, "words": [1, 2]},
        }[self.mode]


class Mode(enum.Enum):
    FAST = "fast"
    EXACT = "exact"


@component
class Configurable:
    def __init__(
        self,
        sizes: tuple[int, ...] = (1, 2),
        mode: Mode = Mode.FAST,
        folder: Path | str = "data",
        ratio: float = 0.5,
        options: dict[str, Any] | None = None,
    ) -> None:
        if not 0 <= ratio <= 1:
            raise ValueError(f"ratio must be in [0, 1], not {ratio}")
        self.sizes = sizes
        self.mode = mode
        self.folder = folder
        self.ratio = ratio
        self.options = options

    @component.output_types(text=str)
    def run(self, text: str) -> dict[str, str]:
        return {"text": text}


@component
class NeedsArgument:
    def __init__(self, size: int) -> None:
        self.size = size

    @component.output_types(text=str)
    def run(self, text: str) -> dict[str, str]:
        return {"text": text * self.size}


@component
class Counter:
    def __init__(self) -> None:
        self.runs = 0

    @component.output_types(count=int)
    def run(self, text: str, offset: int = 0) -> dict[str, int]:
        return {"count": len(text) + offset}


@component
class Adder:
    def __init__(self) -> None:
        self.runs = 0

    @component.output_types(total=float)
    def run(self, a: float, b: float = 0.0) -> dict[str, float]:
        return {"total": a + b}


NOT_A_COMPONENT = "just a string"


class PlainClass:
    def run(self) -> dict[str, Any]:
        return {}


@component
class BadBatch:
    """run_batch returns ``mode``'s kind of mistake."""

    def __init__(self, mode: str = "short") -> None:
        self.mode = mode

    @component.output_types(text=str)
    def run(self, text: str) -> dict[str, str]:
        return {"text": text}

    def run_batch(self, text: list[str]) -> dict[str, Any]:
        if self.mode == "short":
            return {"text": text[:-1]}
        return {"text": [len(t) for t in text]}


@component
class UnclearBatch:
    def __init__(self) -> None:
        pass

    @component.output_types(text=str)
    def run(self, text: str, times: int = 1) -> dict[str, str]:
        return {"text": text * times}

    def run_batch(self, text: list[str], times: list[int] | int = 1) -> dict[str, list[str]]:
        return {"text": text}
