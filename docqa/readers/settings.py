"""The reader settings one request may choose, validated once: window geometry, answer length, word alignment and
no-answer scoring.

A server or a batch job holds one loaded :class:`~docqa.readers.ExtractiveReader` and answers each request with
the settings it asked for: ``reader.with_settings(settings)`` is a view of the reader with them, sharing the loaded
model (nothing is loaded twice, nothing is validated twice).

>>> ReaderSettings(max_seq_len=256, doc_stride=64).max_seq_len
256
>>> ReaderSettings(max_seq_len=64, max_query_length=48, doc_stride=32)
Traceback (most recent call last):
...
docqa.errors.ComponentError: ReaderSettings: doc_stride=32 must be smaller than max_seq_len - max_query_length = 16 ...
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from docqa.core.validation import check_int
from docqa.errors import ComponentError


@dataclass(frozen=True)
class ReaderSettings:
    """Settings of :class:`~docqa.readers.ExtractiveReader` that a request may change (same names and defaults).

    Checked here, once, as far as they can be without a model: integers in range and a ``doc_stride`` below the
    document's room in a window. What depends on the model (its position limit, the special tokens its tokenizer
    adds to a window) is checked by :meth:`ExtractiveReader.with_settings`.
    """

    max_seq_len: int = 384
    doc_stride: int = 128
    max_query_length: int = 64
    max_answer_length: int = 30
    align_to_words: bool = True
    no_answer: bool = True

    def __post_init__(self) -> None:
        for name in ("max_seq_len", "max_query_length", "max_answer_length"):
            check_int("ReaderSettings", name, getattr(self, name))
        check_int("ReaderSettings", "doc_stride", self.doc_stride, minimum=0)
        for name in ("align_to_words", "no_answer"):
            if not isinstance(getattr(self, name), bool):
                raise ComponentError(f"ReaderSettings: {name} must be true or false, got {getattr(self, name)!r}")
        room = self.max_seq_len - self.max_query_length
        if self.doc_stride >= room:
            raise ComponentError(
                f"ReaderSettings: doc_stride={self.doc_stride} must be smaller than max_seq_len - max_query_length"
                f" = {room} (the document's room in a window)"
            )

    @classmethod
    def of(cls, reader: Any) -> ReaderSettings:
        """The settings ``reader`` runs with now."""
        return cls(**{name: getattr(reader, name) for name in cls.names()})

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(cls.__dataclass_fields__)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
