"""Join the document lists of several retrievers into one ranked list."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

from docqa.core.component import Variadic, component
from docqa.core.validation import check_int, check_optional_int
from docqa.errors import ComponentError
from docqa.schema import Document

JoinMode = Literal["concatenate", "merge", "reciprocal_rank_fusion"]
_MODES = ("concatenate", "merge", "reciprocal_rank_fusion")


def _sort_key(doc: Document) -> float:
    """Ascending key: best score first, unscored documents last."""
    return float("inf") if doc.score is None else -doc.score


@component
class DocumentJoiner:
    """Combine several ranked lists of documents (e.g. BM25 and dense results) into one.

    Documents are identified by ``id``. Join modes:

    - ``concatenate``: every document once; when it appears in several lists it keeps its highest score.
    - ``merge``: score = ``sum_i weights[i] * score_i`` over the lists the document appears in. Default weights
      are ``1/n`` (the mean over all lists, a missing document contributing 0). Every document needs a score.
    - ``reciprocal_rank_fusion``: score = ``sum_i weights[i] / (rrf_k + rank_i)`` with ``rank_i`` the 1-based
      position of the document in list ``i`` (its order as given, i.e. as the retriever ranked it).
      Default weights are 1 (the classic formula of Cormack et al., 2009, with ``rrf_k=60``).

    Output is sorted by the new score (ties keep first-seen order) unless ``sort_by_score=False``, which keeps
    first-seen order; then cut to ``top_k``. Input documents are not modified.

    >>> a, b, c = Document("a"), Document("b"), Document("c")
    >>> joined = DocumentJoiner(join_mode="reciprocal_rank_fusion").run([[a, b], [c, a]])["documents"]
    >>> [d.content for d in joined]
    ['a', 'c', 'b']
    >>> round(joined[0].score, 6) == round(1 / 61 + 1 / 62, 6)
    True
    """

    def __init__(
        self,
        join_mode: JoinMode = "concatenate",
        weights: list[float] | None = None,
        top_k: int | None = None,
        sort_by_score: bool = True,
        rrf_k: int = 60,
    ) -> None:
        if join_mode not in _MODES:
            raise ComponentError(f"DocumentJoiner: join_mode must be one of {', '.join(_MODES)}, not {join_mode!r}")
        if weights is not None and (not weights or any(not w >= 0 for w in weights)):
            raise ComponentError(f"DocumentJoiner: weights must be a non-empty list of numbers >= 0, not {weights!r}")
        check_optional_int("DocumentJoiner", "top_k", top_k)
        check_int("DocumentJoiner", "rrf_k", rrf_k, minimum=0)
        self.join_mode = join_mode
        self.weights = [float(w) for w in weights] if weights is not None else None
        self.top_k = top_k
        self.sort_by_score = sort_by_score
        self.rrf_k = rrf_k

    @component.output_types(documents=list[Document])
    def run(self, documents: Variadic[list[Document]], top_k: int | None = None) -> dict[str, list[Document]]:
        lists = [list(docs) for docs in documents]
        for docs in lists:
            if not all(isinstance(d, Document) for d in docs):
                raise ComponentError("DocumentJoiner: every input must be a list of Documents")
        joiners: dict[str, Callable[[list[list[Document]]], list[Document]]] = {
            "concatenate": self._concatenate,
            "merge": self._merge,
            "reciprocal_rank_fusion": self._rrf,
        }
        joined = joiners[self.join_mode](lists)
        if self.sort_by_score:
            joined.sort(key=_sort_key)  # stable: ties keep first-seen order
        limit = self.top_k if top_k is None else check_int("DocumentJoiner", "top_k", top_k)
        if limit is not None:
            joined = joined[:limit]
        return {"documents": joined}

    def _weights(self, count: int, default: float) -> list[float]:
        if self.weights is None:
            return [default] * count
        if len(self.weights) != count:
            raise ComponentError(
                f"DocumentJoiner: got {count} document lists but {len(self.weights)} weights; "
                "give one weight per connected input"
            )
        return self.weights

    @staticmethod
    def _concatenate(lists: list[list[Document]]) -> list[Document]:
        best: dict[str, Document] = {}
        for docs in lists:
            for doc in docs:
                kept = best.get(doc.id)
                if kept is None or _sort_key(doc) < _sort_key(kept):
                    # Position is first-seen (dict insertion), content is the best-scored copy.
                    best[doc.id] = doc
        return [dataclasses.replace(doc, meta=dict(doc.meta)) for doc in best.values()]

    def _merge(self, lists: list[list[Document]]) -> list[Document]:
        weights = self._weights(len(lists), 1.0 / len(lists) if lists else 1.0)
        first: dict[str, Document] = {}
        scores: dict[str, float] = {}
        for weight, docs in zip(weights, lists, strict=True):
            seen: set[str] = set()
            for doc in docs:
                if doc.score is None:
                    raise ComponentError(
                        f"DocumentJoiner: join_mode='merge' needs scored documents; document {doc.id[:12]} has "
                        "no score (use 'reciprocal_rank_fusion' or 'concatenate')"
                    )
                if doc.id in seen:  # a duplicate within one list counts once, at its first (best) position
                    continue
                seen.add(doc.id)
                first.setdefault(doc.id, doc)
                scores[doc.id] = scores.get(doc.id, 0.0) + weight * float(doc.score)
        return [dataclasses.replace(doc, score=scores[i], meta=dict(doc.meta)) for i, doc in first.items()]

    def _rrf(self, lists: list[list[Document]]) -> list[Document]:
        weights = self._weights(len(lists), 1.0)
        first: dict[str, Document] = {}
        scores: dict[str, float] = {}
        for weight, docs in zip(weights, lists, strict=True):
            rank = 0
            seen: set[str] = set()
            for doc in docs:
                if doc.id in seen:
                    continue
                seen.add(doc.id)
                rank += 1
                first.setdefault(doc.id, doc)
                scores[doc.id] = scores.get(doc.id, 0.0) + weight / (self.rrf_k + rank)
        return [dataclasses.replace(doc, score=scores[i], meta=dict(doc.meta)) for i, doc in first.items()]
