"""Dense retrieval: passages encoded once into a FAISS index, questions encoded per query.

Vectors are L2-normalised, so inner product is cosine similarity. ``flat`` (exact search) is
right up to about a million passages; ``hnsw`` and ``ivfpq`` trade a little recall for speed
and memory above that. The index is written with ``faiss.write_index``, which stores arrays only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

from qa.config import IndexConfig
from qa.errors import check_count
from qa.retrieve.base import ArrayRetriever
from qa.retrieve.encoder import SentenceEncoder, TextInput
from qa.types import Passage

SMALL_BATCH = 8


def passage_text(passage: Passage) -> str:
    return f"{passage.title}. {passage.text}" if passage.title else passage.text


def passage_input(passage: Passage, title_pairs: bool = False) -> TextInput:
    """What the passage encoder reads: the pair (title, text) for an article encoder trained on
    such pairs (MedCPT's), else one text with the title in front."""
    if title_pairs and passage.title:
        return (passage.title, passage.text)
    return passage_text(passage)


def build_faiss(vectors: np.ndarray, config: IndexConfig) -> faiss.Index:
    n, dim = vectors.shape
    if config.faiss == "flat":
        index = faiss.IndexFlatIP(dim)
    elif config.faiss == "hnsw":
        index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = max(40, 2 * config.hnsw_m)
    else:  # ivfpq; FAISS wants ~39 training points per list
        nlist = max(1, min(config.ivf_nlist, n // 39))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, config.pq_m, 8, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
    index.add(vectors)
    return index


def tune_search(index: faiss.Index, config: IndexConfig) -> None:
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = config.hnsw_ef_search
    elif isinstance(index, faiss.IndexIVF):
        index.nprobe = config.ivf_nprobe


class DenseIndex(ArrayRetriever):
    """``search(query, k)`` by nearest neighbours of the encoded question."""

    name = "dense"

    def __init__(
        self,
        encoder: SentenceEncoder,
        index: faiss.Index,
        passages: Sequence[Passage],
        query_max_length: int = 64,
    ) -> None:
        if index.ntotal != len(passages):
            raise ValueError(
                f"FAISS index holds {index.ntotal} vectors but there are {len(passages)} passages."
            )
        self.encoder = encoder
        self.index = index
        self.passages = passages
        self.query_max_length = query_max_length

    @staticmethod
    def encode_passages(
        passages: Sequence[Passage],
        encoder: SentenceEncoder,
        batch_size: int = 64,
        show_progress: bool = False,
        bf16: bool = False,
    ) -> np.ndarray:
        return encoder.encode(
            [passage_input(p, encoder.title_pairs) for p in passages],
            batch_size=batch_size,
            show_progress=show_progress,
            desc="Embedding passages",
            bf16=bf16,
        )

    @classmethod
    def build(
        cls,
        passages: Sequence[Passage],
        encoder: SentenceEncoder,
        config: IndexConfig,
        *,
        passage_encoder: SentenceEncoder | None = None,
        batch_size: int = 64,
        show_progress: bool = False,
        bf16: bool = False,
    ) -> DenseIndex:
        """Encode ``passages`` (with ``passage_encoder`` when the model is asymmetric, in
        bfloat16 when ``bf16``) and index them as ``config`` says; questions are then encoded
        with ``encoder``."""
        vectors = cls.encode_passages(
            passages, passage_encoder or encoder, batch_size, show_progress=show_progress, bf16=bf16
        )
        return cls(encoder, build_faiss(vectors, config), passages)

    def save(self, path: str | Path) -> None:
        """Write the vectors with ``faiss.write_index`` (arrays only, nothing pickled)."""
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(
        cls,
        path: str | Path,
        encoder: SentenceEncoder,
        passages: Sequence[Passage],
        config: IndexConfig,
        query_max_length: int = 64,
    ) -> DenseIndex:
        """The index saved at ``path`` over ``passages``, tuned for search as ``config`` says.

        Like :meth:`BM25Index.load`; raises ``RuntimeError`` when FAISS cannot read the file.
        """
        index = faiss.read_index(str(path))
        tune_search(index, config)
        return cls(encoder, index, passages, query_max_length=query_max_length)

    def search_indices(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        check_count("k", k)
        vectors = self.encoder.encode(list(queries), max_length=self.query_max_length)
        # A handful of queries cannot be split across threads; FAISS's OpenMP workers would
        # only wake up to fight torch's for the cores (measured: 6.3 ms -> 4.2 ms per query).
        threads = faiss.omp_get_max_threads()
        if len(queries) < SMALL_BATCH:
            faiss.omp_set_num_threads(1)
        try:
            scores, indices = self.index.search(vectors, min(k, len(self.passages)))
        finally:
            faiss.omp_set_num_threads(threads)
        return indices, scores

    def found(self, indices: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return indices >= 0  # FAISS pads with -1 when fewer than k vectors are reachable
