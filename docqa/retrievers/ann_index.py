"""An approximate nearest-neighbour (HNSW) index over a document store's embeddings, built with faiss.

Optional: needs ``faiss-cpu`` (``pip install 'docqa[ann]'``). Used by
:class:`~docqa.retrievers.embedding_retriever.EmbeddingRetriever` with ``ann=True``.

faiss was chosen by measurement against hnswlib and usearch (bench/dense.py and the report of this change):
comparable or better recall at equal latency, binary wheels on every platform (hnswlib builds from source).

>>> import numpy as np
>>> index = AnnIndex(np.eye(3, dtype=np.float32), ["a", "b", "c"])
>>> index.search(np.array([0.1, 0.9, 0.0], dtype=np.float32), k=2)[0]
['b', 'a']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from docqa.errors import ComponentError, ModelLoadError


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise ModelLoadError(
            "EmbeddingRetriever(ann=True) needs faiss: pip install 'docqa[ann]' (or faiss-cpu), "
            "or use ann=False for exact search"
        ) from exc
    return faiss


class AnnIndex:
    """HNSW over ``matrix`` rows (ids ``ids``), scored by inner product.

    For ``similarity="cosine"`` the rows are L2-normalized first (an all-zero row stays zero and scores 0, as in
    the exact search) and queries are normalized at search time, so scores are cosine similarities.
    ``m`` is the graph degree and ``ef_construction`` the build-time beam width (faiss's defaults are 32/40;
    16/100 is a better speed/recall balance for 384-d text embeddings).
    """

    def __init__(
        self,
        matrix: np.ndarray,
        ids: list[str],
        similarity: str = "cosine",
        m: int = 16,
        ef_construction: int = 100,
    ) -> None:
        faiss = _faiss()
        if matrix.ndim != 2 or matrix.shape[0] != len(ids) or matrix.shape[0] == 0:
            raise ComponentError(f"AnnIndex needs a non-empty (n, dim) matrix with n ids, got {matrix.shape}")
        vectors = np.ascontiguousarray(matrix, dtype=np.float32)
        if similarity == "cosine":
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        self.similarity = similarity
        self.ids = list(ids)
        self.dimension = int(vectors.shape[1])
        self._index = faiss.IndexHNSWFlat(self.dimension, m, faiss.METRIC_INNER_PRODUCT)
        self._index.hnsw.efConstruction = ef_construction
        self._index.add(vectors)
        self._faiss = faiss

    @property
    def size(self) -> int:
        return len(self.ids)

    def search(self, query: np.ndarray, k: int, ef_search: int = 128) -> tuple[list[str], np.ndarray]:
        """The (approximately) ``k`` best ids and their scores, best first; fewer if the index is smaller."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if q.shape[1] != self.dimension:
            raise ComponentError(f"AnnIndex: query has dimension {q.shape[1]}, index has {self.dimension}")
        if self.similarity == "cosine":
            q = q / np.linalg.norm(q)
        k = min(k, self.size)
        # Per-call parameters: no shared mutable efSearch, so concurrent searches don't interfere.
        params = self._faiss.SearchParametersHNSW(efSearch=max(ef_search, k))
        scores, rows = self._index.search(q, k, params=params)
        keep = rows[0] >= 0
        return [self.ids[r] for r in rows[0][keep]], scores[0][keep].astype(np.float64)
