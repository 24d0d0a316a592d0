"""The BM25 analyzer: text -> list of terms, configured by a plain (YAML/JSON-able) dict.

The same analyzer must index and query a store, so its configuration is saved with the store.

>>> Analyzer()("The Quick brown fox, the end.")
['the', 'quick', 'brown', 'fox', 'the', 'end']
>>> Analyzer(stopwords="english")("The Quick brown fox, the end.")
['quick', 'brown', 'fox', 'end']
>>> Analyzer.from_dict(Analyzer(lowercase=False).to_dict()) == Analyzer(lowercase=False)
True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from docqa.errors import DocqaError

#: Word characters, Unicode-aware: the tokenization rank-bm25 users and bm25s (with this pattern) share.
DEFAULT_TOKEN_PATTERN = r"(?u)\b\w+\b"

_NLTK_ENGLISH = """
    i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves he him his
    himself she she's her hers herself it it's its itself they them their theirs themselves what which who whom
    this that that'll these those am is are was were be been being have has had having do does did doing a an the
    and but if or because as until while of at by for with about against between into through during before after
    above below to from up down in out on off over under again further then once here there when where why how all
    any both each few more most other some such no nor not only own same so than too very s t can will just don
    don't should should've now d ll m o re ve y ain aren aren't couldn couldn't didn didn't doesn doesn't hadn
    hadn't hasn hasn't haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn
    shouldn't wasn wasn't weren weren't won won't wouldn wouldn't
"""
#: NLTK's English stopword list (shipped here so that nltk is not a dependency).
ENGLISH_STOPWORDS: frozenset[str] = frozenset(_NLTK_ENGLISH.split())

_STEMMER_LANGUAGES = ("english",)


@dataclass(frozen=True)
class Analyzer:
    """Tokenization for BM25: regex word tokens, optional lowercasing, stopword removal and stemming.

    Steps, in order: lowercase (if ``lowercase``), find all matches of ``token_pattern``, drop stopwords
    (compared with the token after lowercasing, before stemming), stem (``stemmer="english"``, needs the
    ``docqa[stem]`` extra, i.e. PyStemmer).

    ``stopwords`` is ``None``, ``"english"`` (:data:`ENGLISH_STOPWORDS`) or a list of words.
    An analyzer with a stemmer is not thread-safe (PyStemmer objects are not); build one per thread.

    >>> Analyzer(token_pattern=r"[a-z]+")("abc-12 de")
    ['abc', 'de']
    """

    lowercase: bool = True
    token_pattern: str = DEFAULT_TOKEN_PATTERN
    stopwords: str | tuple[str, ...] | None = None
    stemmer: str | None = None
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _stopset: frozenset[str] = field(init=False, repr=False, compare=False)
    _stem: Callable[[list[str]], list[str]] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.lowercase, bool):
            raise DocqaError(f"analyzer 'lowercase' must be true or false, not {self.lowercase!r}")
        object.__setattr__(self, "_regex", _compile_pattern(self.token_pattern))
        stopwords = self.stopwords
        if isinstance(stopwords, list):
            stopwords = tuple(stopwords)
            object.__setattr__(self, "stopwords", stopwords)
        object.__setattr__(self, "_stopset", _stopword_set(stopwords))
        object.__setattr__(self, "_stem", _make_stemmer(self.stemmer))

    def __call__(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        tokens: list[str] = self._regex.findall(text)
        if self._stopset:
            stopset = self._stopset
            if self.lowercase:
                tokens = [token for token in tokens if token not in stopset]
            else:
                tokens = [token for token in tokens if token.lower() not in stopset]
        if self._stem is not None:
            tokens = self._stem(tokens)
        return tokens

    def to_dict(self) -> dict[str, Any]:
        stopwords = list(self.stopwords) if isinstance(self.stopwords, tuple) else self.stopwords
        return {
            "lowercase": self.lowercase,
            "token_pattern": self.token_pattern,
            "stopwords": stopwords,
            "stemmer": self.stemmer,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Analyzer:
        """Build from :meth:`to_dict`'s output; ``None`` or ``{}`` gives the default analyzer."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise DocqaError(f"analyzer config must be a mapping, not {type(data).__name__}")
        unknown = sorted(set(data) - {"lowercase", "token_pattern", "stopwords", "stemmer"})
        if unknown:
            raise DocqaError(
                f"unknown analyzer option(s) {unknown}; expected lowercase, token_pattern, stopwords, stemmer"
            )
        return cls(**data)


def _compile_pattern(pattern: Any) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise DocqaError(f"analyzer 'token_pattern' must be a non-empty regex string, not {pattern!r}")
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise DocqaError(f"analyzer 'token_pattern' {pattern!r} is not a valid regex: {error}") from None
    if regex.groups:
        # findall would return the groups instead of the whole match.
        raise DocqaError(f"analyzer 'token_pattern' {pattern!r} must not have capturing groups; use (?:...)")
    return regex


def _stopword_set(stopwords: Any) -> frozenset[str]:
    if stopwords is None:
        return frozenset()
    if stopwords == "english":
        return ENGLISH_STOPWORDS
    if isinstance(stopwords, tuple) and all(isinstance(word, str) for word in stopwords):
        return frozenset(word.lower() for word in stopwords)
    raise DocqaError(f"analyzer 'stopwords' must be null, 'english' or a list of words, not {stopwords!r}")


def _make_stemmer(language: Any) -> Callable[[list[str]], list[str]] | None:
    if language is None:
        return None
    if language not in _STEMMER_LANGUAGES:
        raise DocqaError(f"analyzer 'stemmer' must be null or one of {list(_STEMMER_LANGUAGES)}, not {language!r}")
    try:
        import Stemmer  # PyStemmer
    except ImportError:
        raise DocqaError(
            "analyzer stemmer='english' needs PyStemmer: pip install 'docqa[stem]' (or PyStemmer)"
        ) from None
    stemmer = Stemmer.Stemmer(language)
    stem_words: Callable[[list[str]], list[str]] = stemmer.stemWords
    return stem_words
