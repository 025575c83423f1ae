"""What every retriever shares: the ``search(query, k)`` interface and turning arrays into hits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from qa.errors import check_count
from qa.types import Hit, Passage


class Searcher(Protocol):
    name: str

    def search(self, query: str, k: int = 10) -> list[Hit]: ...

    def batch_search(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]: ...


def rows_to_hits(
    passages: Sequence[Passage],
    name: str,
    indices: np.ndarray,
    scores: np.ndarray,
    keep: np.ndarray,
) -> list[list[Hit]]:
    """One ranked hit list per query row; ``keep`` masks out padding and non-matches.

    The passages of all rows are fetched in one ``take`` when the store has one (an index's
    memory-mapped store, or shards on Ray actors: one round trip, not one per hit)."""
    rows = [row_i[row_k] for row_i, row_k in zip(indices, keep)]
    flat = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    take = getattr(passages, "take", None)
    fetched = take(flat) if take else [passages[int(i)] for i in flat]
    hits, start = [], 0
    for row, row_s, row_k in zip(rows, scores, keep):
        found = fetched[start : start + len(row)]
        hits.append(
            [
                Hit(passage, float(s), {name: rank})
                for rank, (passage, s) in enumerate(zip(found, row_s[row_k]), start=1)
            ]
        )
        start += len(row)
    return hits


class ArrayRetriever:
    """The hit lists of a retriever that scores queries as arrays: a subclass gives
    ``search_indices`` (passage rows and scores, best first) and ``found`` (which of them are
    real hits), and gets ``search`` and ``batch_search`` from here."""

    name: str
    passages: Sequence[Passage]

    def search_indices(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def found(self, indices: np.ndarray, scores: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def batch_search(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]:
        check_count("k", k)
        if not queries:
            return []
        indices, scores = self.search_indices(queries, k)
        return rows_to_hits(self.passages, self.name, indices, scores, self.found(indices, scores))

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.batch_search([query], k)[0]
