"""Every per-request limit of ``docqa serve`` and the checks that enforce them: a body beyond ``max_body_bytes`` is
refused with 413 (see :class:`~docqa.server.middleware.BodyLimitMiddleware`), anything else beyond a limit with
422 naming the field and the option that sets the limit.

>>> check_top_k(5, Limits(max_top_k=3))
Traceback (most recent call last):
...
docqa.server.limits.LimitExceeded: top_k: 5 exceeds the limit of 3 (--max-top-k)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from docqa.errors import DocqaError

#: After refusing a body with 413, the server reads (and drops) the rest of it for up to this long before it
#: closes the connection, so that the client, still sending, gets to read the 413 instead of a reset.
LINGER_SECONDS = 10.0


@dataclass(frozen=True)
class Limits:
    """Per-request limits; a request beyond one is refused with 413 (body) or 422 naming the limit."""

    max_body_bytes: int = 10 * 1024 * 1024
    max_items: int = 64  #: queries per /query, pairs or texts per /score
    max_documents: int = 1000  #: documents per POST /documents (JSON) and results per /documents/search
    max_query_chars: int = 1000  #: a query or question
    max_context_chars: int = 100_000  #: a /score context or text, a written document
    max_top_k: int = 100


class LimitExceeded(DocqaError):
    """A request goes beyond a configured limit (HTTP 422 naming the field and the limit)."""

    def __init__(self, loc: str, message: str) -> None:
        super().__init__(f"{loc}: {message}")
        self.loc = loc


def check_count(loc: str, count: int, what: str, limit: int, option: str) -> None:
    """``count`` items (``what``: "queries", "documents"...) at ``loc``, at most ``limit``."""
    if count > limit:
        raise LimitExceeded(loc, f"{count} {what} exceed the limit of {limit} ({option})")


def check_length(loc: str, text: str, limit: int, option: str) -> None:
    """A text at ``loc`` of at most ``limit`` characters."""
    if len(text) > limit:
        raise LimitExceeded(loc, f"{len(text)} characters exceed the limit of {limit} ({option})")


def check_top_k(top_k: int | None, limits: Limits, loc: str = "top_k") -> None:
    if top_k is not None and top_k > limits.max_top_k:
        raise LimitExceeded(loc, f"{top_k} exceeds the limit of {limits.max_top_k} (--max-top-k)")


def check_queries(queries: Sequence[str], where: str, limits: Limits) -> None:
    """The queries of a /query (``where``: ``query`` for one, ``queries`` for a list): within the limits, none
    blank."""
    if not queries:
        raise LimitExceeded(where, "must hold at least one query")
    check_count(where, len(queries), "queries", limits.max_items, "--max-items")
    for index, text in enumerate(queries):
        loc = where if where == "query" else f"{where}[{index}]"
        if not text.strip():
            raise LimitExceeded(loc, "must be a non-empty string")
        check_length(loc, text, limits.max_query_chars, "--max-query-chars")


def check_pairs(pairs: Sequence[tuple[str, str]], limits: Limits) -> None:
    """The question/context pairs of a /score question-answering request."""
    check_count("inputs", len(pairs), "question/context pairs", limits.max_items, "--max-items")
    for index, (question, context) in enumerate(pairs):
        check_length(f"question[{index}]", question, limits.max_query_chars, "--max-query-chars")
        check_length(f"context[{index}]", context, limits.max_context_chars, "--max-context-chars")


def check_texts(texts: Sequence[str], limits: Limits) -> None:
    """The texts of a /score fill-mask request."""
    check_count("inputs", len(texts), "texts", limits.max_items, "--max-items")
    for index, text in enumerate(texts):
        check_length(f"inputs[{index}]", text, limits.max_context_chars, "--max-context-chars")


def check_documents(contents: Sequence[str], limits: Limits) -> None:
    """The documents of a JSON ``POST /documents``."""
    check_count("documents", len(contents), "documents", limits.max_documents, "--max-documents")
    for index, content in enumerate(contents):
        check_length(f"documents[{index}].content", content, limits.max_context_chars, "--max-context-chars")


def search_limit(top_k: int | None, limits: Limits) -> int:
    """How many documents a ``/documents/search`` returns: ``top_k``, at most (and by default) ``max_documents``."""
    if top_k is not None and top_k > limits.max_documents:
        raise LimitExceeded("top_k", f"{top_k} exceeds the limit of {limits.max_documents} (--max-documents)")
    return limits.max_documents if top_k is None else top_k
