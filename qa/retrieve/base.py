"""What every retriever shares: the ``search(query, k)`` interface and turning arrays into hits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

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
