"""Dense retrieval: passages encoded once into FAISS indexes, one per shard; questions per query.

Vectors are L2-normalised, so inner product is cosine similarity. ``flat`` (exact search) is
right up to about a million passages; ``hnsw`` and ``ivfpq`` trade a little recall for speed
and memory above that. Each shard folder holds ``vectors.f16`` (every vector as raw float16,
memory-mapped: a tenth of a float32 copy's RAM once the page cache lets go, and what IVF-PQ
re-scores its candidates against) and ``dense.faiss`` (``faiss.write_index``, arrays only).
A shard is written as the encoder's chunks arrive, so building never holds the corpus's vectors.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.config import IndexConfig
from qa.errors import IndexStoreError, check_count
from qa.retrieve.base import ArrayRetriever
from qa.retrieve.encoder import SentenceEncoder, TextInput
from qa.types import Passage

SMALL_BATCH = 8
VECTORS_FILE = "vectors.f16"
FAISS_FILE = "dense.faiss"
ADD_CHUNK = 65536  # rows copied from vectors.f16 into FAISS at a time: ~100 MB of float32
TRAIN_SEED = 0
# Below this many rows IVF-PQ cannot be trained (PQ needs 256 points per sub-quantizer) and a
# flat index is both exact and fast, so a small shard (the last one of a build) is flat.
MIN_IVFPQ_ROWS = 256
# FAISS maps the file and reads flat codes and IVF lists from it in place: measured on 300k
# 384-d rows, RSS after load 441 -> 0 MB (flat) and 19 -> 1 MB (ivfpq), the same results; the
# pages are the page cache's, shared by processes and dropped under pressure. (IO_FLAG_MMAP,
# OnDiskInvertedLists, is IVF-only and cannot be combined with it.)
MMAP_FLAGS = faiss.IO_FLAG_MMAP_IFC

FanOut = Callable[[list[Callable[[], Any]]], list[Any]]


def passage_text(passage: Passage) -> str:
    return f"{passage.title}. {passage.text}" if passage.title else passage.text


def passage_input(passage: Passage, title_pairs: bool = False) -> TextInput:
    """What the passage encoder reads: the pair (title, text) for an article encoder trained on
    such pairs (MedCPT's), else one text with the title in front."""
    if title_pairs and passage.title:
        return (passage.title, passage.text)
    return passage_text(passage)


def tune_search(index: faiss.Index, config: IndexConfig) -> None:
    """Set the search-time knobs the profile names (they are not stored in the file's
    meaning: a profile may search the same index wider or narrower)."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = config.hnsw_ef_search
    elif isinstance(index, faiss.IndexIVF):
        index.nprobe = config.ivf_nprobe


def _streamed_index(dim: int, config: IndexConfig) -> faiss.Index | None:
    """The index that takes chunks as they come (flat, hnsw); None for ivfpq, which must see
    a training sample before its first add."""
    if config.faiss == "flat":
        return faiss.IndexFlatIP(dim)
    if config.faiss == "hnsw":
        index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = max(40, 2 * config.hnsw_m)
        return index
    return None


def _training_rows(rows: int, size: int) -> np.ndarray:
    """A fixed-seed random sample of rows, sorted so the memmap is read front to back and the
    same corpus always trains the same quantizers."""
    if rows <= size:
        return np.arange(rows)
    return np.sort(np.random.default_rng(TRAIN_SEED).choice(rows, size=size, replace=False))


def _chunks(total: int, size: int = ADD_CHUNK):
    return ((start, min(start + size, total)) for start in range(0, total, size))


def _ivfpq(vectors: np.ndarray, config: IndexConfig) -> faiss.Index:
    """IVF-PQ trained on a sample of the float16 rows, then fed every row a chunk at a time,
    so memory holds one chunk and the sample, never the shard."""
    rows, dim = vectors.shape
    sample = np.asarray(vectors[_training_rows(rows, config.ivf_train_size)], dtype=np.float32)
    nlist = max(1, min(config.ivf_nlist, len(sample) // 39))  # FAISS wants ~39 points per list
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFPQ(quantizer, dim, nlist, config.pq_m, 8, faiss.METRIC_INNER_PRODUCT)
    index.train(sample)
    del sample
    for start, stop in _chunks(rows):
        index.add(np.asarray(vectors[start:stop], dtype=np.float32))
    return index


class VectorWriter:
    """One shard's vectors, written as the encoder's chunks arrive: float16 rows appended to
    ``vectors.f16`` and, for flat and hnsw, added to the FAISS index at once; ``close`` trains
    ivfpq from the file and writes ``dense.faiss``."""

    def __init__(self, folder: Path, dim: int, config: IndexConfig) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self.config = config
        self.rows = 0
        self.index = _streamed_index(dim, config)
        self._file = open(self.folder / VECTORS_FILE, "wb")  # noqa: SIM115 - closed by close()

    def add(self, vectors: np.ndarray) -> None:
        """Append ``vectors`` (float32 [n, dim], unit norm)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"Expected vectors of shape (n, {self.dim}), got {vectors.shape}.")
        self._file.write(vectors.astype(np.float16).tobytes())
        if self.index is not None:
            self.index.add(vectors)
        self.rows += len(vectors)

    def close(self) -> faiss.Index:
        """Finish the shard: the vectors file complete, the index built and written."""
        if not self._file.closed:
            self._file.close()
        index = self.index
        if index is None:
            if self.rows < MIN_IVFPQ_ROWS:
                index = faiss.IndexFlatIP(self.dim)
                index.add(np.asarray(self.vectors(), dtype=np.float32))
            else:
                index = _ivfpq(self.vectors(), self.config)
        faiss.write_index(index, str(self.folder / FAISS_FILE))
        return index

    def vectors(self) -> np.ndarray:
        """The rows written so far, memory-mapped (empty before the first row)."""
        if self.rows == 0:
            return np.zeros((0, self.dim), dtype=np.float16)
        return np.memmap(
            self.folder / VECTORS_FILE, dtype=np.float16, mode="r", shape=(self.rows, self.dim)
        )

    def __enter__(self) -> VectorWriter:
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is None:
            self.close()
        else:
            self._file.close()


def _search_parameters(index: faiss.Index, selector: faiss.IDSelector | None):
    """Per-call parameters carrying the hidden-row selector and the index's own search knobs
    (FAISS ignores the index's nprobe/efSearch once parameters are given)."""
    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)
    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=index.hnsw.efSearch)
    return faiss.SearchParameters(sel=selector)


def _padded(rows: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = rows.astype(np.int64, copy=False)
    return rows, np.where(rows >= 0, scores, -np.inf).astype(np.float32)


def _best(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best columns of each query row: score desc, ties by row asc (deterministic
    whatever order the parts came in); padding (-1, -inf) sorts last."""
    order = np.lexsort((rows, -scores), axis=-1)[:, :k]
    return np.take_along_axis(rows, order, 1), np.take_along_axis(scores, order, 1)


class DenseShard:
    """One shard's FAISS index and float16 vectors, searched by local row."""

    def __init__(
        self, index: faiss.Index, vectors: np.ndarray, config: IndexConfig, folder: Path | None
    ) -> None:
        self.index = index
        self.vectors = vectors
        self.config = config
        self.folder = folder
        self.rows, self.dim = int(index.ntotal), int(index.d)
        self.refine = config.ivf_refine if isinstance(index, faiss.IndexIVF) else 0
        self._selector: tuple[np.ndarray, Any, np.ndarray] | None = None

    @classmethod
    def load(
        cls, folder: Path, config: IndexConfig, rows: int, dim: int, mmap: bool = True
    ) -> DenseShard:
        """The shard in ``folder``, tuned as ``config`` says; ``rows`` and ``dim`` are what the
        manifest promises, checked so a mismatched file is named instead of misread."""
        folder = Path(folder)
        try:
            index = faiss.read_index(str(folder / FAISS_FILE), MMAP_FLAGS if mmap else 0)
        except RuntimeError as exc:
            raise IndexStoreError(
                f"{FAISS_FILE} in {folder} is damaged (FAISS could not read it)"
            ) from exc
        if (index.ntotal, index.d) != (rows, dim):
            raise IndexStoreError(
                f"{FAISS_FILE} in {folder} holds {index.ntotal} vectors of size {index.d}; "
                f"expected {rows} of size {dim}"
            )
        path = folder / VECTORS_FILE
        size = path.stat().st_size if path.is_file() else -1
        if size != rows * dim * 2:
            raise IndexStoreError(
                f"{VECTORS_FILE} in {folder} holds {size} bytes; expected {rows * dim * 2} "
                f"({rows} rows of {dim} float16)"
            )
        tune_search(index, config)
        vectors = (
            np.memmap(path, dtype=np.float16, mode="r", shape=(rows, dim))
            if rows
            else np.zeros((0, dim), dtype=np.float16)
        )
        return cls(index, vectors, config, folder)

    def _hidden_selector(self, hidden: np.ndarray | None):
        """A FAISS selector letting through only visible rows; built once per mask (the same
        tombstone array comes with every query) and kept with the bitmap FAISS points into."""
        if hidden is None or not hidden.any():
            return None
        cached = self._selector
        if cached is not None and cached[0] is hidden:
            return cached[1]
        if len(hidden) != self.rows:
            raise ValueError(f"hidden mask has {len(hidden)} rows; the shard {self.rows}.")
        bitmap = np.packbits(~np.asarray(hidden, dtype=bool), bitorder="little")
        selector = faiss.IDSelectorBitmap(self.rows, faiss.swig_ptr(bitmap))
        self._selector = (hidden, selector, bitmap)
        return selector

    def top_rows(
        self, vectors: np.ndarray, k: int, hidden: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Local rows int64 [nq, k] and scores float32 [nq, k], best first, never a hidden
        row; padded with (-1, -inf) when fewer than k rows are reachable."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        nq = len(vectors)
        if self.rows == 0 or nq == 0:
            return np.full((nq, k), -1, np.int64), np.full((nq, k), -np.inf, np.float32)
        # Twice k even without refining: equal scores (the same text twice) at the k-th place
        # are then all fetched, and the lowest rows kept, as in any other split into shards.
        wanted = min(k * max(self.refine, 2), self.rows)
        params = _search_parameters(self.index, self._hidden_selector(hidden))
        # A handful of queries cannot be split across threads; FAISS's OpenMP workers would
        # only wake up to fight torch's for the cores (measured: 6.3 ms -> 4.2 ms per query).
        # The setting is per thread, so it is made in the thread that searches.
        threads = faiss.omp_get_max_threads()
        if nq < SMALL_BATCH:
            faiss.omp_set_num_threads(1)
        try:
            scores, rows = self.index.search(vectors, wanted, params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        rows, scores = _padded(rows, scores)
        if self.refine:
            scores = self._exact(vectors, rows)
        if rows.shape[1] < k:
            pad = k - rows.shape[1]
            rows = np.pad(rows, ((0, 0), (0, pad)), constant_values=-1)
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
        return _best(rows, scores, k)

    def _exact(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Inner products of each query with its candidates' float16 vectors, in float32: PQ
        codes only approximate them, and the true order among the candidates is what counts."""
        valid = rows >= 0
        wanted = np.unique(rows[valid])  # sorted: the memmap is read front to back, once a row
        if not len(wanted):
            return np.full(rows.shape, -np.inf, np.float32)
        table = np.asarray(self.vectors[wanted], dtype=np.float32)
        slots = np.searchsorted(wanted, np.where(valid, rows, wanted[0]))
        scores = np.einsum("qd,qcd->qc", queries, table[slots], dtype=np.float32)
        return np.where(valid, scores, -np.inf).astype(np.float32)


def write_shard(folder: Path, vectors: np.ndarray, config: IndexConfig) -> DenseShard:
    """A complete shard from an array (tests, benchmarks), written as a build writes it and
    loaded back as a search loads it."""
    vectors = np.asarray(vectors, dtype=np.float32)
    writer = VectorWriter(folder, vectors.shape[1], config)
    for start, stop in _chunks(len(vectors)):
        writer.add(vectors[start:stop])
    writer.close()
    return DenseShard.load(folder, config, len(vectors), vectors.shape[1])


def _thread_fan_out(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the shard searches side by side: FAISS and numpy release the GIL."""
    if len(calls) == 1:
        return [calls[0]()]
    with ThreadPoolExecutor(max_workers=min(len(calls), os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda call: call(), calls))


def _starts(offsets: Sequence[int] | np.ndarray, shards: Sequence[DenseShard]) -> np.ndarray:
    """Each shard's first global row, checked against the shards' sizes; accepts the starts
    alone or with the total appended."""
    sizes = np.array([s.rows for s in shards], dtype=np.int64)
    expected = np.concatenate([[0], np.cumsum(sizes)])
    offsets = np.asarray(offsets, dtype=np.int64)
    if not (np.array_equal(offsets, expected[:-1]) or np.array_equal(offsets, expected)):
        raise ValueError(f"Shard offsets {offsets.tolist()} do not match shard sizes {sizes}.")
    return expected[:-1]


class DenseIndex(ArrayRetriever):
    """``search(query, k)`` by nearest neighbours of the encoded question over every shard."""

    name = "dense"

    def __init__(
        self,
        encoder: SentenceEncoder,
        shards: Sequence[DenseShard],
        passages: Sequence[Passage],
        offsets: Sequence[int] | np.ndarray,
        hidden: Sequence[np.ndarray | None] | None = None,
        query_max_length: int = 64,
        fan_out: FanOut | None = None,
    ) -> None:
        if not shards:
            raise ValueError("A dense index needs at least one shard.")
        self.starts = _starts(offsets, shards)
        total = sum(s.rows for s in shards)
        if total != len(passages):
            raise ValueError(
                f"FAISS shards hold {total} vectors but there are {len(passages)} passages."
            )
        dims = {s.dim for s in shards}
        if len(dims) != 1:
            raise ValueError(f"Shards disagree on the vector size: {sorted(dims)}.")
        if hidden is not None and len(hidden) != len(shards):
            raise ValueError(f"{len(hidden)} hidden masks for {len(shards)} shards.")
        self.encoder = encoder
        self.shards = list(shards)
        self.passages = passages
        self.hidden = list(hidden) if hidden is not None else [None] * len(shards)
        self.query_max_length = query_max_length
        self.fan_out = fan_out or _thread_fan_out
        self.dim = dims.pop()

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

    def search_vectors(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Global rows int64 [nq, k] and scores float32 [nq, k] of already encoded queries:
        every shard searched (in parallel), merged by score desc then global row asc, so the
        result does not depend on how the corpus was cut; padded with (-1, -inf)."""
        check_count("k", k)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        calls = [
            lambda s=shard, h=mask: s.top_rows(vectors, k, h)
            for shard, mask in zip(self.shards, self.hidden)
        ]
        parts = self.fan_out(calls)
        if len(parts) == 1:
            return parts[0]
        rows = np.concatenate(
            [np.where(r >= 0, r + start, -1) for (r, _), start in zip(parts, self.starts)], axis=1
        )
        scores = np.concatenate([s for _, s in parts], axis=1)
        return _best(rows, scores, k)

    def search_indices(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        check_count("k", k)
        vectors = self.encoder.encode(list(queries), max_length=self.query_max_length)
        return self.search_vectors(vectors, k)

    def found(self, indices: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return indices >= 0  # padding where fewer than k rows are reachable
