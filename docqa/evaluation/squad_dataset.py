"""Reading a SQuAD (v1.1 or v2.0) JSON file into typed questions and paragraphs for evaluation."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docqa.errors import ConversionError, DocqaError
from docqa.schema import Document


@dataclass(frozen=True)
class SquadQuestion:
    """One question of a SQuAD file, with its gold answer texts (empty for an unanswerable question)."""

    qid: str
    question: str
    answers: tuple[str, ...]
    paragraph_index: int

    @property
    def has_answer(self) -> bool:
        # The official script decides answerability by the answer list alone, not by ``is_impossible``.
        return bool(self.answers)


@dataclass(frozen=True)
class SquadParagraph:
    """A context paragraph and the questions asked about it."""

    index: int
    title: str
    context: str
    questions: tuple[SquadQuestion, ...]
    article: int = 0

    def to_document(self) -> Document:
        """The paragraph as a :class:`Document`, with its article title and position in the file as meta."""
        return Document(self.context, meta={"title": self.title, "squad_paragraph": self.index})


@dataclass(frozen=True)
class SquadDataset:
    """A parsed SQuAD file. ``squad_version`` is ``"v2.0"`` (questions may be unanswerable) or ``"v1.1"``, as
    :func:`detect_version` decides it; ``version_reason`` says why.

    >>> data = {"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "Paris is in France.",
    ...     "qas": [{"id": "q1", "question": "Where is Paris?", "answers": [{"text": "France",
    ...     "answer_start": 12}]}]}]}]}
    >>> dataset = SquadDataset.from_json(data)
    >>> [(q.qid, q.answers) for q in dataset.questions()]
    [('q1', ('France',))]
    """

    version: str
    paragraphs: tuple[SquadParagraph, ...]
    squad_version: str = "v2.0"
    version_reason: str = ""

    @property
    def is_v2(self) -> bool:
        return self.squad_version == "v2.0"

    @classmethod
    def load(cls, path: str | Path) -> SquadDataset:
        """Read a SQuAD JSON file; any problem raises a one-line :class:`ConversionError` naming the file."""
        file_path = Path(path)
        try:
            with file_path.open(encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            raise ConversionError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise ConversionError(f"{path}: is a directory, not a SQuAD JSON file") from None
        except UnicodeDecodeError:
            raise ConversionError(f"{path}: not valid UTF-8") from None
        except json.JSONDecodeError as error:
            raise ConversionError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
        except OSError as error:
            raise ConversionError(f"{path}: cannot read file ({error.strerror or error})") from None
        return cls.from_json(data, source=str(path))

    @classmethod
    def from_json(cls, data: Any, source: str = "<squad>") -> SquadDataset:
        """Build from the parsed JSON of a SQuAD file (``{"version": ..., "data": [...]}``)."""
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise ConversionError(f"{source}: not a SQuAD file (expected a JSON object with a 'data' list)")
        paragraphs: list[SquadParagraph] = []
        for a, article in enumerate(data["data"]):
            where = f"{source}: data[{a}]"
            if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
                raise ConversionError(f"{where}: not a SQuAD article (expected a 'paragraphs' list)")
            title = str(article.get("title", ""))
            for p, paragraph in enumerate(article["paragraphs"]):
                where_p = f"{where}.paragraphs[{p}]"
                paragraphs.append(_parse_paragraph(paragraph, len(paragraphs), title, where_p, a))
        squad_version, reason = detect_version(data)
        return cls(str(data.get("version", "")), tuple(paragraphs), squad_version, reason)

    def questions(self) -> Iterator[SquadQuestion]:
        for paragraph in self.paragraphs:
            yield from paragraph.questions

    def gold_answers(self) -> dict[str, tuple[str, ...]]:
        """``{qid: gold answer texts}`` in file order: the input of the metrics in :mod:`squad_metrics`."""
        return {question.qid: question.answers for question in self.questions()}

    def head(self, limit: int | None) -> SquadDataset:
        """The dataset cut down to its first ``limit`` questions (paragraphs without any left are dropped)."""
        if limit is None:
            return self
        if limit < 1:
            raise DocqaError(f"limit must be a positive number of questions, not {limit}")
        kept: list[SquadParagraph] = []
        left = limit
        for paragraph in self.paragraphs:
            if left <= 0:
                break
            questions = paragraph.questions[:left]
            left -= len(questions)
            if questions:
                kept.append(dataclasses.replace(paragraph, questions=questions))
        return dataclasses.replace(self, paragraphs=tuple(kept))

    def articles(self) -> list[Document]:
        """Each article as one document, its paragraphs (stripped) separated by a blank line, as the files of
        ``data/articles`` hold them: the corpus ``docqa index`` would make of the articles as text files."""
        texts: dict[int, list[str]] = {}
        titles: dict[int, str] = {}
        for paragraph in self.paragraphs:
            if paragraph.context.strip():
                texts.setdefault(paragraph.article, []).append(paragraph.context.strip())
                titles[paragraph.article] = paragraph.title
        return [
            Document("\n\n".join(parts), meta={"title": titles[a], "squad_article": a}) for a, parts in texts.items()
        ]


def detect_version(data: dict[str, Any]) -> tuple[str, str]:
    """``("v2.0" | "v1.1", why)`` of a parsed SQuAD file: v2.0 when any question has ``is_impossible`` (or no
    answers), or the file says so in ``version``."""
    qas = [qa for article in data["data"] for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    if any("is_impossible" in qa for qa in qas):
        return "v2.0", "questions carry is_impossible"
    if str(data.get("version", "")).startswith(("v2", "2")):
        return "v2.0", f"the file's version is {data['version']!r}"
    if any(not qa.get("answers") for qa in qas):
        return "v2.0", "some questions have no answers"
    return "v1.1", "no question carries is_impossible and every question has an answer"


def _parse_paragraph(paragraph: Any, index: int, title: str, where: str, article: int) -> SquadParagraph:
    if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str):
        raise ConversionError(f"{where}: not a SQuAD paragraph (expected a 'context' string)")
    qas = paragraph.get("qas")
    if not isinstance(qas, list):
        raise ConversionError(f"{where}: not a SQuAD paragraph (expected a 'qas' list)")
    questions = []
    for i, qa in enumerate(qas):
        if not isinstance(qa, dict) or "id" not in qa or not isinstance(qa.get("question"), str):
            raise ConversionError(f"{where}.qas[{i}]: not a SQuAD question (expected 'id' and 'question')")
        answers = qa.get("answers", [])
        if not isinstance(answers, list) or not all(
            isinstance(answer, dict) and isinstance(answer.get("text"), str) for answer in answers
        ):
            raise ConversionError(f"{where}.qas[{i}].answers: expected a list of {{'text': ...}} objects")
        texts = tuple(answer["text"] for answer in answers)
        questions.append(SquadQuestion(str(qa["id"]), qa["question"], texts, index))
    return SquadParagraph(index, title, paragraph["context"], tuple(questions), article)
