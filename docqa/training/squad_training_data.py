"""Reading a SQuAD v1.1 / v2.0 training file: version detection and validation (and repair) of every answer offset.

The most common failure of SQuAD fine-tuning is an ``answer_start`` that does not point at the answer text: the
model then learns from wrong labels without any error. Every answer is checked here:
``context[answer_start:answer_start + len(text)] == text``. An offset that is off by a few characters is repaired
when the text occurs within ``max_shift`` characters (the nearest occurrence wins); otherwise that answer is
unusable, and a question without a usable answer is dropped. :class:`ValidationReport` counts both, with reasons.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docqa.converters._common import read_bytes
from docqa.errors import ConversionError
from docqa.evaluation.squad_dataset import SquadDataset

#: How far (in characters) an ``answer_start`` may be off and still be repaired.
DEFAULT_MAX_SHIFT = 20


@dataclass(frozen=True)
class TrainingQuestion:
    """One question with its context and the character span of its answer (``None``: unanswerable)."""

    qid: str
    question: str
    context: str
    answer_start: int | None
    answer_text: str

    @property
    def answer_span(self) -> tuple[int, int] | None:
        """``[start, end)`` of the answer in ``context``, or ``None`` for an unanswerable question."""
        if self.answer_start is None:
            return None
        return self.answer_start, self.answer_start + len(self.answer_text)


@dataclass(frozen=True)
class ValidationReport:
    """What validation did to a file's questions: kept, repaired offsets, dropped questions and why."""

    questions: int
    answerable: int
    unanswerable: int
    repaired: int
    dropped: dict[str, int] = field(default_factory=dict)
    dropped_examples: tuple[str, ...] = ()

    @property
    def kept(self) -> int:
        return self.answerable + self.unanswerable

    def summary(self) -> str:
        """One line, e.g. ``"120 questions: 118 kept (80 answerable, 38 unanswerable), 3 offsets repaired, ..."``."""
        text = (
            f"{self.questions} questions: {self.kept} kept ({self.answerable} answerable, {self.unanswerable} "
            f"unanswerable), {self.repaired} answer offsets repaired, {sum(self.dropped.values())} dropped"
        )
        reasons = "; ".join(f"{count} {reason}" for reason, count in sorted(self.dropped.items()))
        return f"{text} ({reasons})" if reasons else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "kept": self.kept,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "repaired": self.repaired,
            "dropped": dict(self.dropped),
            "dropped_examples": list(self.dropped_examples),
        }


@dataclass(frozen=True)
class SquadTrainingSet:
    """A validated SQuAD training file.

    ``version`` is ``"v2.0"`` (questions may be unanswerable: trained to answer at the first token) or
    ``"v1.1"``; ``version_reason`` says how it was decided. ``sha256`` is the file's content hash.

    Example::

        data = SquadTrainingSet.load("train-v2.0.json")
        print(data.version, data.version_reason, data.report.summary())
    """

    source: str
    version: str
    version_reason: str
    questions: tuple[TrainingQuestion, ...]
    report: ValidationReport
    sha256: str

    @property
    def is_v2(self) -> bool:
        return self.version == "v2.0"

    @classmethod
    def load(cls, path: str | Path, max_shift: int = DEFAULT_MAX_SHIFT) -> SquadTrainingSet:
        """Read and validate ``path``; a file that is not SQuAD raises a one-line :class:`ConversionError`."""
        raw = read_bytes(path)
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConversionError(f"{path}: not valid UTF-8") from None
        except json.JSONDecodeError as error:
            raise ConversionError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
        return cls.from_json(data, source=str(path), sha256=hashlib.sha256(raw).hexdigest(), max_shift=max_shift)

    @classmethod
    def from_json(
        cls, data: Any, source: str = "<squad>", sha256: str = "", max_shift: int = DEFAULT_MAX_SHIFT
    ) -> SquadTrainingSet:
        """Validate the parsed JSON of a SQuAD file (the structure is checked as for evaluation)."""
        dataset = SquadDataset.from_json(data, source=source)  # one-line errors for anything that is not SQuAD
        version, reason = dataset.squad_version, dataset.version_reason
        validator = _Validator(version == "v2.0", max_shift)
        questions = [q for q in (validator.check(qa, context) for qa, context in _raw_questions(data)) if q]
        return cls(source, version, reason, tuple(questions), validator.report(), sha256)


def _raw_questions(data: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                yield qa, paragraph["context"]


class _Validator:
    """Checks questions one by one and keeps the counts of the report."""

    def __init__(self, v2: bool, max_shift: int) -> None:
        self.v2 = v2
        self.max_shift = max_shift
        self.seen = 0
        self.answerable = 0
        self.unanswerable = 0
        self.repaired = 0
        self.dropped: Counter[str] = Counter()
        self.examples: list[str] = []

    def check(self, qa: dict[str, Any], context: str) -> TrainingQuestion | None:
        self.seen += 1
        qid, question = str(qa["id"]), qa["question"]
        if not question.strip():
            return self._drop(qid, "empty question")
        if self.v2 and (qa.get("is_impossible") is True or not qa.get("answers")):
            self.unanswerable += 1
            return TrainingQuestion(qid, question, context, None, "")
        if not qa.get("answers"):
            return self._drop(qid, "no answer (SQuAD 1.1 has no unanswerable questions)")
        return self._answerable(qid, question, context, qa["answers"])

    def _answerable(self, qid: str, question: str, context: str, answers: list[Any]) -> TrainingQuestion | None:
        reasons = []
        for answer in answers:
            span, repaired, reason = locate_answer(context, answer, self.max_shift)
            if span is not None:
                self.answerable += 1
                self.repaired += repaired
                return TrainingQuestion(qid, question, context, span[0], context[span[0] : span[1]])
            reasons.append(reason)
        return self._drop(qid, reasons[0])

    def _drop(self, qid: str, reason: str) -> TrainingQuestion | None:
        self.dropped[reason] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{qid}: {reason}")
        return None

    def report(self) -> ValidationReport:
        return ValidationReport(
            self.seen, self.answerable, self.unanswerable, self.repaired, dict(self.dropped), tuple(self.examples)
        )


def locate_answer(context: str, answer: dict[str, Any], max_shift: int) -> tuple[tuple[int, int] | None, bool, str]:
    """``(span, repaired, reason)`` of one SQuAD answer: its ``[start, end)`` in ``context`` (``None`` with the
    reason when unusable) and whether the offset had to be repaired (shifted, or surrounding spaces trimmed)."""
    text, start = answer.get("text"), answer.get("answer_start")
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        return None, False, "answer_start missing or not a non-negative integer"
    if not isinstance(text, str) or not text.strip():
        return None, False, "empty answer text"
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    start += lead
    if context[start : start + len(stripped)] == stripped:
        return (start, start + len(stripped)), stripped != text, ""
    shifted = _nearest_occurrence(context, stripped, start, max_shift)
    if shifted is None:
        return None, False, f"answer text not at answer_start nor within {max_shift} characters of it"
    return (shifted, shifted + len(stripped)), True, ""


def _nearest_occurrence(context: str, text: str, start: int, max_shift: int) -> int | None:
    low = max(start - max_shift, 0)
    found = [i for i in range(low, start + max_shift + 1) if context.startswith(text, i)]
    return min(found, key=lambda i: (abs(i - start), i)) if found else None
