"""Fuse the rankings of several retrievers that share ``search(query, k)``.

Two named methods, each a small pure function over ranked hit lists:

* ``rrf`` (reciprocal rank fusion): ``score = sum over retrievers of 1 / (rrf_k + rank)``;
  needs no score calibration, which is why it is the default;
* ``weighted``: each retriever's scores min-max normalised over its own candidates, then
  ``bm25_weight * bm25 + dense_weight * dense`` (a candidate missing from a list adds 0).

The method and its parameters come from the profile and are stored in the index manifest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qa.config import FusionConfig
from qa.errors import check_count
from qa.retrieve.base import Searcher
from qa.types import Hit


def _merge(scored: dict[str, float], lists: Mapping[str, Sequence[Hit]], k: int) -> list[Hit]:
    first: dict[str, Hit] = {}
    sources: dict[str, dict[str, int]] = {}
    for name, hits in lists.items():
        for rank, hit in enumerate(hits, start=1):
            first.setdefault(hit.passage.id, hit)
            sources.setdefault(hit.passage.id, {})[name] = rank
    # Ties are broken by passage id so that fusion is deterministic.
    order = sorted(scored, key=lambda pid: (-scored[pid], pid))[:k]
    return [Hit(first[pid].passage, scored[pid], sources[pid]) for pid in order]


def reciprocal_rank_fusion(
    lists: Mapping[str, Sequence[Hit]], k: int, rrf_k: int = 60
) -> list[Hit]:
    scores: dict[str, float] = {}
    for hits in lists.values():
        for rank, hit in enumerate(hits, start=1):
            scores[hit.passage.id] = scores.get(hit.passage.id, 0.0) + 1.0 / (rrf_k + rank)
    return _merge(scores, lists, k)


def weighted_fusion(
    lists: Mapping[str, Sequence[Hit]], k: int, weights: Mapping[str, float]
) -> list[Hit]:
    scores: dict[str, float] = {}
    for name, hits in lists.items():
        if not hits:
            continue
        values = [h.score for h in hits]
        low, span = min(values), (max(values) - min(values)) or 1.0
        weight = weights.get(name, 0.0)
        for hit in hits:
            norm = (hit.score - low) / span
            scores[hit.passage.id] = scores.get(hit.passage.id, 0.0) + weight * norm
    return _merge(scores, lists, k)


def fuse(lists: Mapping[str, Sequence[Hit]], k: int, config: FusionConfig) -> list[Hit]:
    if config.method == "rrf":
        return reciprocal_rank_fusion(lists, k, config.rrf_k)
    if config.method == "weighted":
        weights = {"bm25": config.bm25_weight, "dense": config.dense_weight}
        return weighted_fusion(lists, k, weights)
    raise ValueError(f"Unknown fusion method {config.method!r}: use rrf or weighted.")


class HybridRetriever:
    """BM25 and dense search, each to ``config.depth``, fused into one ranking."""

    name = "hybrid"

    def __init__(self, retrievers: Sequence[Searcher], config: FusionConfig) -> None:
        self.retrievers = list(retrievers)
        self.config = config

    def batch_search(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]:
        depth = max(check_count("k", k), self.config.depth)
        per_retriever = {r.name: r.batch_search(queries, depth) for r in self.retrievers}
        return [
            fuse({name: lists[i] for name, lists in per_retriever.items()}, k, self.config)
            for i in range(len(queries))
        ]

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.batch_search([query], k)[0]
