"""Checks of components' integer settings (``top_k``, ``batch_size``...): one rule and one message everywhere.

An integer setting accepts ``int`` (and NumPy integers), never ``bool`` (``True`` is not a count) or text
(``"3"`` from a YAML string is a mistake worth naming). The error is a :class:`~docqa.errors.ComponentError`
naming the component, the parameter, the limit and the value given:

>>> check_int("BM25Retriever", "top_k", 3)
3
>>> check_int("BM25Retriever", "top_k", True)
Traceback (most recent call last):
    ...
docqa.errors.ComponentError: BM25Retriever: top_k must be an integer >= 1, got True
>>> check_optional_int("DocumentJoiner", "top_k", None) is None
True
"""

from __future__ import annotations

import numbers

from docqa.errors import ComponentError


def check_int(owner: str, name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer >= ``minimum``, else a :class:`ComponentError`
    ``"{owner}: {name} must be an integer >= {minimum}, got {value!r}"``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ComponentError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_optional_int(owner: str, name: str, value: object, minimum: int = 1) -> int | None:
    """:func:`check_int` that also accepts ``None`` (and says so in its message)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ComponentError(f"{owner}: {name} must be an integer >= {minimum} or None, got {value!r}")
    return int(value)
