"""Character spans of words, sentences and paragraphs in a text, computed on the original string.

Every function returns half-open ``(start, end)`` offsets into the text it was given, in order, never
overlapping, each span non-empty and without leading or trailing whitespace. Slicing the text with them gives
back exact substrings: nothing is re-joined or normalised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"\S+")
_NON_SPACE = re.compile(r"\S")
# A blank line (possibly holding spaces or tabs) separates paragraphs.
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
# Latin-style terminators count only before whitespace or the end of the text ("3.5", "e.g.x" are not ends);
# CJK full stops end a sentence even when the next sentence follows without a space.
_TERMINATOR = re.compile(r"[.!?…‽]+[\"'”’»)\]]*(?=\s|\Z)|[。！？]+[」』”’)\]）]*")

#: Words that end with a period without ending the sentence (compared lower-cased, without the final period).
ABBREVIATIONS = frozenset(
    {
        *("mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "gen", "gov", "sen", "rep", "rev"),
        *(
            "capt",
            "col",
            "lt",
            "sgt",
            "no",
            "nos",
            "vol",
            "vols",
            "fig",
            "figs",
            "eq",
            "ch",
            "sec",
            "pp",
            "p",
        ),
        *("e.g", "i.e", "cf", "vs", "approx", "ca", "c", "inc", "ltd", "co", "corp", "dept", "univ", "est"),
        *("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k"),
    }
)


def word_spans(text: str) -> list[tuple[int, int]]:
    """Maximal runs of non-whitespace characters.

    >>> word_spans("  hello\\tworld ")
    [(2, 7), (8, 13)]
    """
    return [match.span() for match in _WORD.finditer(text)]


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``[start, end)`` shrunk to exclude surrounding whitespace; None if it holds only whitespace."""
    first = _NON_SPACE.search(text, start, end)
    if first is None:
        return None
    last = end
    while text[last - 1].isspace():
        last -= 1
    return first.start(), last


def _pieces(text: str, cuts: Iterable[int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in [*sorted(set(cuts)), len(text)]:
        trimmed = _trim(text, start, cut) if cut > start else None
        if trimmed is not None:
            spans.append(trimmed)
        start = max(start, cut)
    return spans


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Paragraphs: text separated by blank lines.

    >>> text = "First para\\nstill first.\\n \\nSecond."
    >>> [text[s:e] for s, e in paragraph_spans(text)]
    ['First para\\nstill first.', 'Second.']
    """
    return _pieces(text, (match.start() for match in _PARAGRAPH_BREAK.finditer(text)))


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    terminator = match.group()
    if terminator.startswith("."):
        # Walk back to the start of the word: a regex search for it would rescan the text from offset 0.
        start = match.start()
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        word = text[start : match.start()].lower()
        if word in ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            return False  # "Dr. Smith", "J. R. R. Tolkien"
    following = _NON_SPACE.search(text, match.end())
    # "e.g. this" or "... and so on": a lowercase continuation means the sentence goes on.
    return following is None or not following.group().islower()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences, found with punctuation rules (no model, no download).

    A sentence ends at ``.``, ``!``, ``?`` or ``…`` (plus closing quotes/brackets) followed by whitespace,
    unless the word before the period is a known abbreviation or a single letter, or the next word starts in
    lowercase; at CJK full stops (``。！？``); and at every paragraph break (blank line).

    >>> text = "Dr. Smith arrived at 3.30 p.m. on Monday. He left! 東京は大きい。大阪も大きい。"
    >>> [text[s:e] for s, e in sentence_spans(text)]
    ['Dr. Smith arrived at 3.30 p.m. on Monday.', 'He left!', '東京は大きい。', '大阪も大きい。']
    """
    cuts = [match.end() for match in _TERMINATOR.finditer(text) if _ends_sentence(text, match)]
    cuts.extend(match.start() for match in _PARAGRAPH_BREAK.finditer(text))
    return _pieces(text, cuts)
