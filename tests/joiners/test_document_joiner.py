"""DocumentJoiner against hand-computed scores and an independent re-implementation of each formula."""

from __future__ import annotations

import random

import pytest

from docqa.core.component import init_parameters, input_sockets
from docqa.errors import ComponentError
from docqa.joiners import DocumentJoiner
from docqa.schema import Document


def doc(name: str, score: float | None = None) -> Document:
    return Document(name, id=name, score=score)


def names(docs: list[Document]) -> list[str]:
    return [d.id for d in docs]


def test_rrf_hand_computed() -> None:
    bm25 = [doc("a", 12.0), doc("b", 9.0), doc("c", 3.0)]
    dense = [doc("c", 0.9), doc("a", 0.8), doc("d", 0.1)]
    out = DocumentJoiner(join_mode="reciprocal_rank_fusion").run([bm25, dense])["documents"]
    expected = {"a": 1 / 61 + 1 / 62, "c": 1 / 63 + 1 / 61, "b": 1 / 62, "d": 1 / 63}
    assert names(out) == ["a", "c", "b", "d"]
    for d in out:
        assert d.score == pytest.approx(expected[d.id], rel=1e-12)


def test_rrf_weights_and_k_hand_computed() -> None:
    bm25 = [doc("a"), doc("b")]
    dense = [doc("b"), doc("c")]
    out = DocumentJoiner(join_mode="reciprocal_rank_fusion", weights=[1.0, 3.0], rrf_k=10).run([bm25, dense])
    scores = {d.id: d.score for d in out["documents"]}
    assert scores == pytest.approx({"a": 1 / 11, "b": 1 / 12 + 3 / 11, "c": 3 / 12})
    assert names(out["documents"]) == ["b", "c", "a"]


def _rrf_oracle(lists: list[list[str]], weights: list[float], k: int) -> dict[str, float]:
    scores: dict[str, float] = {}
    for weight, ranked in zip(weights, lists, strict=True):
        for position, name in enumerate(dict.fromkeys(ranked)):
            scores[name] = scores.get(name, 0.0) + weight / (k + position + 1)
    return scores


@pytest.mark.parametrize("seed", range(5))
def test_rrf_matches_formula_on_random_lists(seed: int) -> None:
    rng = random.Random(seed)
    pool = [f"d{i}" for i in range(30)]
    lists = [rng.sample(pool, rng.randint(0, 15)) for _ in range(rng.randint(1, 4))]
    weights = [rng.uniform(0.1, 2.0) for _ in lists]
    k = rng.randint(1, 100)
    joiner = DocumentJoiner(join_mode="reciprocal_rank_fusion", weights=weights, rrf_k=k, top_k=7)
    out = joiner.run([[doc(n) for n in ranked] for ranked in lists])["documents"]
    oracle = _rrf_oracle(lists, weights, k)
    best = sorted(oracle.values(), reverse=True)[:7]
    assert [d.score for d in out] == pytest.approx(best)
    for d in out:
        assert d.score == pytest.approx(oracle[d.id])


def test_merge_default_weights_average_scores() -> None:
    out = DocumentJoiner(join_mode="merge").run([[doc("a", 1.0), doc("b", 0.5)], [doc("b", 0.9)]])["documents"]
    assert {d.id: d.score for d in out} == pytest.approx({"a": 0.5, "b": 0.7})
    assert names(out) == ["b", "a"]


def test_merge_with_weights() -> None:
    joiner = DocumentJoiner(join_mode="merge", weights=[0.2, 0.8])
    out = joiner.run([[doc("a", 1.0), doc("b", 0.5)], [doc("b", 0.9), doc("c", 0.6)]])["documents"]
    assert {d.id: d.score for d in out} == pytest.approx({"a": 0.2, "b": 0.1 + 0.72, "c": 0.48})


def test_merge_needs_scores() -> None:
    with pytest.raises(ComponentError, match="merge"):
        DocumentJoiner(join_mode="merge").run([[doc("a")]])


def test_concatenate_dedupes_keeping_max_score() -> None:
    first = [doc("a", 0.3), doc("b", 0.9)]
    second = [doc("a", 0.7), doc("c", None)]
    out = DocumentJoiner().run([first, second])["documents"]
    assert names(out) == ["b", "a", "c"]
    assert [d.score for d in out] == [0.9, 0.7, None]
    unsorted = DocumentJoiner(sort_by_score=False).run([first, second])["documents"]
    assert names(unsorted) == ["a", "b", "c"] and unsorted[0].score == 0.7


def test_top_k_from_init_and_run() -> None:
    lists = [[doc("a", 3.0), doc("b", 2.0), doc("c", 1.0)]]
    assert names(DocumentJoiner(top_k=2).run(lists)["documents"]) == ["a", "b"]
    assert names(DocumentJoiner(top_k=2).run(lists, top_k=1)["documents"]) == ["a"]


def test_inputs_are_not_modified() -> None:
    a = doc("a", 5.0)
    DocumentJoiner(join_mode="reciprocal_rank_fusion").run([[a], [a]])
    assert a.score == 5.0


def test_wrong_weight_count_and_bad_config() -> None:
    with pytest.raises(ComponentError, match="2 document lists but 3 weights"):
        DocumentJoiner(join_mode="reciprocal_rank_fusion", weights=[1, 1, 1]).run([[doc("a")], [doc("b")]])
    with pytest.raises(ComponentError, match="join_mode"):
        DocumentJoiner(join_mode="sum")  # type: ignore[arg-type]
    with pytest.raises(ComponentError):
        DocumentJoiner(weights=[-1.0])
    with pytest.raises(ComponentError):
        DocumentJoiner(top_k=0)


def test_socket_is_variadic_and_config_serializable() -> None:
    assert input_sockets(DocumentJoiner)["documents"].is_variadic
    joiner = DocumentJoiner(join_mode="reciprocal_rank_fusion", weights=[1, 2])
    assert init_parameters(joiner) == {
        "join_mode": "reciprocal_rank_fusion",
        "weights": [1, 2],
        "top_k": None,
        "sort_by_score": True,
        "rrf_k": 60,
    }


def test_no_inputs_gives_empty_list() -> None:
    assert DocumentJoiner(join_mode="reciprocal_rank_fusion").run([]) == {"documents": []}
    assert DocumentJoiner(join_mode="merge").run([[], []]) == {"documents": []}
