"""SQuAD's answer normalization: what the official evaluation scripts compare, and what groups equal answers."""

from __future__ import annotations

import re
import string

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lowercase, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace (the official SQuAD
    scripts' ``normalize_answer``).

    >>> normalize_answer("  The  Eiffel-Tower, (Paris)!")
    'eiffeltower paris'
    """
    lowered = text.lower()
    no_punctuation = "".join(ch for ch in lowered if ch not in _PUNCTUATION)
    no_articles = _ARTICLES.sub(" ", no_punctuation)
    return " ".join(no_articles.split())
