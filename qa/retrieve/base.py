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
    """One ranked hit list per query row; ``keep`` masks out padding and non-matches."""
    return [
        [
            Hit(passages[int(i)], float(s), {name: rank})
            for rank, (i, s) in enumerate(zip(row_i[row_k], row_s[row_k]), start=1)
        ]
        for row_i, row_s, row_k in zip(indices, scores, keep)
    ]


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
