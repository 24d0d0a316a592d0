from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Optional, TypeVar

import numpy as np
import pytest

from docqa.core.component import Variadic
from docqa.core.types import is_compatible, type_name, value_matches
from docqa.schema import Answer, Document

T = TypeVar("T")


class Base:
    pass


class Child(Base):
    pass


@pytest.mark.parametrize(
    ("sender", "receiver", "expected"),
    [
        (str, str, True),
        (str, int, False),
        (Child, Base, True),
        (Base, Child, False),
        (int, float, True),
        (float, int, False),
        (bool, int, True),
        (Any, list[Document], True),
        (list[Document], Any, True),
        (T, str, True),
        (str, Optional[str], True),  # noqa: UP045  (the typing spelling must work too)
        (str, str | None, True),
        (str | None, str, False),
        (int | str, int | str | None, True),
        (int | str, int, False),
        (list[Document], list[Document], True),
        (list[Document], list[Answer], False),
        (list[Child], list[Base], True),
        (list[Document], list, True),
        (list, list[Document], True),
        (list[int], Sequence[float], True),
        (Sequence[int], list[int], False),
        (dict[str, int], Mapping[str, float], True),
        (dict[str, int], dict[int, int], False),
        (list[list[Document]], list[list[Document]], True),
        (list[list[Document]], list[Document], False),
        (tuple[int, str], tuple[int, str], True),
        (tuple[int, str], tuple[int], False),
        (Literal["a", "b"], str, True),
        (Literal["a", 1], str, False),
        (str, Literal["a"], False),
        (Variadic[list[Document]], list[list[Document]], True),
    ],
)
def test_compatibility_table(sender: Any, receiver: Any, expected: bool) -> None:
    assert is_compatible(sender, receiver) is expected


@pytest.mark.parametrize(
    ("value", "hint", "expected"),
    [
        ("a", str, True),
        (1, str, False),
        (1, float, True),
        (np.float32(1.5), float, True),
        (np.int64(3), int, True),
        (1.5, int, False),
        (None, str | None, True),
        ([Document("x")], list[Document], True),
        ([Document("x"), "y"], list[Document], False),
        ((Document("x"),), list[Document], False),
        ([[Document("x")], []], list[list[Document]], True),
        ([["x"]], list[list[Document]], False),
        ({"a": 1}, dict[str, int], True),
        ({"a": "1"}, dict[str, int], False),
        ((1, "a"), tuple[int, str], True),
        ((1, 2, 3), tuple[int, ...], True),
        ("b", Literal["a"], False),
        (object(), Any, True),
    ],
)
def test_value_matches(value: Any, hint: Any, expected: bool) -> None:
    assert value_matches(value, hint) is expected


def test_type_names_are_short() -> None:
    assert type_name(list[Document]) == "list[Document]"
    assert type_name(list[Document] | None) == "list[Document] | None"
    assert type_name(Optional[int]) in {"Optional[int]", "int | None"}  # noqa: UP045
    assert type_name(Any) == "Any"
    assert type_name(str) == "str"
