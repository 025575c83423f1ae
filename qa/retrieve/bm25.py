"""Lexical retrieval with bm25s: BM25 scores precomputed into a sparse matrix.

bm25s stores, for every (token, document) pair, the document's BM25 contribution, so a query
is a sum of a few sparse rows instead of a Python loop over documents (~1 ms per query at
100k documents, where rank-bm25 takes hundreds). The index is saved in bm25s's own numpy and
JSON files and can be memory-mapped; nothing is pickled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from qa.config import IndexConfig
from qa.errors import check_count
from qa.retrieve.base import ArrayRetriever
from qa.types import Passage

STEMMER = "english"
TOKENIZER_FILE = "qa_tokenizer.json"


def tokenize(
    texts: Sequence[str], stopwords: str = "en_plus", show_progress: bool = False
) -> list[list[str]]:
    """Lower-cased word tokens, English stop words removed, Snowball-stemmed.

    ``en_plus`` (179 words, question words such as "which" and "does" among them) ranks BioASQ
    questions better than bm25s's short ``en`` list (33 words): on the 10B questions BM25
    mrr@10 rose from 0.835 to 0.859 and recall@100 from 0.907 to 0.918.
    """
    return bm25s.tokenize(
        list(texts),
        stopwords=stopwords,
        stemmer=Stemmer.Stemmer(STEMMER),
        return_ids=False,
        show_progress=show_progress,
    )


class BM25Index(ArrayRetriever):
    """``search(query, k)`` over a fixed list of passages."""

    name = "bm25"

    def __init__(
        self, retriever: bm25s.BM25, passages: Sequence[Passage], stopwords: str = "en_plus"
    ) -> None:
        self.retriever = retriever
        self.passages = passages
        self.stopwords = stopwords
        self._stemmer = Stemmer.Stemmer(STEMMER)

    @classmethod
    def build(
        cls, passages: Sequence[Passage], config: IndexConfig, show_progress: bool = False
    ) -> BM25Index:
        texts = [f"{p.title} {p.text}" if p.title else p.text for p in passages]
        tokens = bm25s.tokenize(
            texts,
            stopwords=config.bm25_stopwords,
            stemmer=Stemmer.Stemmer(STEMMER),
            show_progress=show_progress,
        )
        retriever = bm25s.BM25(method=config.bm25_method, k1=config.bm25_k1, b=config.bm25_b)
        retriever.index(tokens, show_progress=show_progress)
        return cls(retriever, passages, config.bm25_stopwords)

    def save(self, folder: str | Path) -> None:
        self.retriever.save(str(folder), show_progress=False)
        # Queries must be tokenised as the passages were, whatever profile loads the index.
        settings = {"stopwords": self.stopwords, "stemmer": STEMMER}
        (Path(folder) / TOKENIZER_FILE).write_text(json.dumps(settings) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, passages: Sequence[Passage], mmap: bool = False) -> BM25Index:
        retriever = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False)
        settings = json.loads((Path(folder) / TOKENIZER_FILE).read_text(encoding="utf-8"))
        return cls(retriever, passages, settings["stopwords"])

    def search_indices(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row-aligned (indices, scores) of the top ``k`` documents per query."""
        k = min(check_count("k", k), len(self.passages))
        tokens = bm25s.tokenize(
            list(queries),
            stopwords=self.stopwords,
            stemmer=self._stemmer,
            return_ids=False,
            show_progress=False,
        )
        # bm25s's get_scores (a sum of precomputed sparse rows) plus a partial sort is ~15x
        # faster per query than its retrieve(), whose set-up dominates at this corpus size.
        vocab = self.retriever.vocab_dict
        indices = np.zeros((len(tokens), k), dtype=np.int64)
        scores = np.zeros((len(tokens), k), dtype=np.float32)
        for row, words in enumerate(tokens):
            known = [w for w in words if w in vocab]
            if not known:
                continue  # zero scores: batch_search drops them
            all_scores = self.retriever.get_scores(known)
            top = np.argpartition(-all_scores, k - 1)[:k] if k < len(all_scores) else np.arange(k)
            top = top[np.argsort(-all_scores[top], kind="stable")]
            indices[row], scores[row] = top, all_scores[top]
        return indices, scores

    def found(self, indices: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return scores > 0  # a zero score means no query term matched: not a hit
