"""Fusion of rankings, checked against values worked out by hand."""

from __future__ import annotations

import pytest

from qa.config import FusionConfig
from qa.retrieve.hybrid import fuse, reciprocal_rank_fusion, weighted_fusion
from qa.types import Hit, Passage


def ranking(name: str, ids_scores: list[tuple[str, float]]) -> list[Hit]:
    return [
        Hit(Passage(pid, f"text {pid}"), s, {name: r}) for r, (pid, s) in enumerate(ids_scores, 1)
    ]


def test_rrf_scores_are_sums_of_reciprocal_ranks() -> None:
    bm25 = ranking("bm25", [("a", 9.0), ("b", 5.0), ("c", 1.0)])
    dense = ranking("dense", [("c", 0.9), ("a", 0.8), ("d", 0.1)])
    fused = reciprocal_rank_fusion({"bm25": bm25, "dense": dense}, k=10, rrf_k=60)
    scores = {h.passage.id: h.score for h in fused}
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)
    assert scores["d"] == pytest.approx(1 / 63)
    assert [h.passage.id for h in fused] == ["a", "c", "b", "d"]


def test_fused_hits_remember_the_rank_each_retriever_gave() -> None:
    bm25 = ranking("bm25", [("a", 9.0), ("b", 5.0)])
    dense = ranking("dense", [("b", 0.9)])
    fused = {h.passage.id: h for h in reciprocal_rank_fusion({"bm25": bm25, "dense": dense}, 10)}
    assert fused["b"].sources == {"bm25": 2, "dense": 1}
    assert fused["a"].sources == {"bm25": 1}


def test_rrf_breaks_ties_by_passage_id_so_fusion_is_deterministic() -> None:
    bm25 = ranking("bm25", [("z", 1.0), ("y", 0.5)])
    dense = ranking("dense", [("y", 1.0), ("z", 0.5)])
    fused = reciprocal_rank_fusion({"bm25": bm25, "dense": dense}, 10)
    assert [h.passage.id for h in fused] == ["y", "z"]
    assert fused[0].score == fused[1].score


def test_rrf_k_changes_how_much_the_top_ranks_dominate() -> None:
    # a is first in one list only; b is second in both. Small rrf_k favours a, large favours b.
    bm25 = ranking("bm25", [("a", 3.0), ("b", 2.0)])
    dense = ranking("dense", [("c", 3.0), ("b", 2.0), ("x", 1.0), ("y", 0.5), ("a", 0.1)])
    small = reciprocal_rank_fusion({"bm25": bm25, "dense": dense}, 10, rrf_k=0)
    large = reciprocal_rank_fusion({"bm25": bm25, "dense": dense}, 10, rrf_k=60)
    assert small[0].passage.id == "a"  # 1/1 + 1/5 = 1.2 > 1/2 + 1/2
    assert large[0].passage.id == "b"  # 2/62 > 1/61 + 1/65


def test_weighted_fusion_min_max_normalises_each_list() -> None:
    bm25 = ranking("bm25", [("a", 20.0), ("b", 10.0), ("c", 0.0)])
    dense = ranking("dense", [("c", 0.9), ("b", 0.5), ("a", 0.1)])
    fused = weighted_fusion({"bm25": bm25, "dense": dense}, 10, {"bm25": 0.3, "dense": 0.7})
    scores = {h.passage.id: h.score for h in fused}
    assert scores["a"] == pytest.approx(0.3 * 1.0 + 0.7 * 0.0)
    assert scores["b"] == pytest.approx(0.3 * 0.5 + 0.7 * 0.5)
    assert scores["c"] == pytest.approx(0.3 * 0.0 + 0.7 * 1.0)
    assert [h.passage.id for h in fused] == ["c", "b", "a"]


def test_fusion_keeps_only_k_hits() -> None:
    bm25 = ranking("bm25", [(str(i), 10.0 - i) for i in range(10)])
    fused = fuse({"bm25": bm25, "dense": []}, 3, FusionConfig())
    assert [h.passage.id for h in fused] == ["0", "1", "2"]


def test_unknown_fusion_method_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="rrf or weighted"):
        fuse({}, 3, FusionConfig(method="borda"))
