"""Writing an index by streaming: passages flow through in chunks, out to shards on disk.

Nothing here holds the corpus. A chunk of passages (:data:`CHUNK`) is encoded, then each shard
part takes its share: the passage rows (:mod:`qa.index.rows`), the BM25 postings
(:mod:`qa.retrieve.bm25`) and the vectors (:mod:`qa.retrieve.dense`). Every
``shard_size`` passages a shard is closed and a new one begun, so a build's memory is one
shard's postings (and, for flat or hnsw, its vectors) plus the corpus-wide BM25 statistics,
whatever the corpus size. Where the chunks come from is the caller's: :func:`encoded_chunks`
in this process, or :mod:`qa.index.ray_build` on a Ray cluster; the shards written are the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.config import IndexConfig, Profile
from qa.errors import IndexStoreError
from qa.index.manifest import BM25_DIR, PASSAGES, SHARDS_DIR
from qa.index.rows import PassageWriter
from qa.retrieve.bm25 import PostingsWriter, TermStats, merge_stats, term_hashes
from qa.retrieve.dense import DenseIndex, VectorWriter
from qa.retrieve.encoder import SentenceEncoder
from qa.types import Passage

# Passages encoded and written at a time: large enough that the encoder's length-sorted batches
# pad little, small enough to be nothing beside a shard.
CHUNK = 4096


def chunked(passages: Iterable[Passage], size: int = CHUNK) -> Iterator[list[Passage]]:
    chunk: list[Passage] = []
    for passage in passages:
        chunk.append(passage)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def encoded_chunks(
    passages: Iterable[Passage], encoder: SentenceEncoder, profile: Profile
) -> Iterator[tuple[list[Passage], np.ndarray]]:
    """(chunk, its vectors) in corpus order, encoded in this process."""
    bf16 = profile.runtime.bf16_passages(encoder.device)
    for chunk in chunked(passages):
        vectors = DenseIndex.encode_passages(
            chunk, encoder, profile.embedder.batch_size, show_progress=False, bf16=bf16
        )
        yield chunk, vectors


class IdCheck:
    """Refuses a passage id seen before, in bounded memory: 8 bytes per id (64-bit hashes in
    sorted arrays, one per shard), not a Python set of strings (about 80 bytes per id). Two
    different ids share a hash with odds of about 1 in 10^5 at 36 million passages."""

    def __init__(self) -> None:
        self.sealed: list[np.ndarray] = []
        self.current = np.empty(0, dtype=np.uint64)

    def add(self, passages: list[Passage]) -> None:
        hashes = term_hashes([p.id for p in passages])  # the stable hash BM25 gives words
        unique, first, counts = np.unique(hashes, return_index=True, return_counts=True)
        twice = [i for i, n in zip(first, counts) if n > 1]
        for known in (*self.sealed, self.current):
            at = np.searchsorted(known, unique).clip(max=max(len(known) - 1, 0))
            if len(known):
                twice += [int(first[i]) for i in np.flatnonzero(known[at] == unique)]
        if twice:
            raise IndexStoreError(
                f"Passage id {passages[min(twice)].id!r} occurs twice in the input: ids must be "
                "unique (give each passage its own id, or drop the repeated record)."
            )
        self.current = np.union1d(self.current, unique)

    def seal(self) -> None:
        """The current shard is closed: its hashes stop growing."""
        self.sealed.append(self.current)
        self.current = np.empty(0, dtype=np.uint64)


class ShardWriter:
    """One shard being written: rows, postings and vectors, fed chunk by chunk."""

    def __init__(self, folder: Path, config: IndexConfig, dim: int) -> None:
        folder.mkdir(parents=True)
        self.folder = folder
        self.rows = 0
        self.passages = PassageWriter(folder / PASSAGES)
        self.postings = PostingsWriter(folder / BM25_DIR, config.bm25_stopwords)
        self.vectors = VectorWriter(folder, dim, config)

    def add(self, passages: list[Passage], vectors: np.ndarray) -> None:
        self.passages.write(passages)
        self.postings.add(passages)
        self.vectors.add(vectors)
        self.rows += len(passages)

    def close(self) -> TermStats:
        self.passages.close()
        self.vectors.close()
        return self.postings.close()


@dataclass
class WrittenShards:
    """What :class:`IndexWriter` wrote: the shards (manifest entries) and their BM25 statistics."""

    shards: list[dict[str, int | str]] = field(default_factory=list)
    stats: TermStats | None = None

    @property
    def rows(self) -> int:
        return sum(int(s["rows"]) for s in self.shards)


class IndexWriter:
    """Shards under ``root/shards/``, a new one every ``config.shard_size`` passages.

    ``first`` numbers the first shard (``qa index add`` continues an index's numbering)."""

    def __init__(self, root: Path, config: IndexConfig, dim: int, first: int = 0) -> None:
        self.root, self.config, self.dim = root, config, dim
        self.next = first
        self.ids = IdCheck()
        self.open: ShardWriter | None = None
        self.written = WrittenShards()

    def add(self, passages: list[Passage], vectors: np.ndarray) -> None:
        if len(passages) != len(vectors):
            raise ValueError(f"{len(passages)} passages but {len(vectors)} vectors.")
        self.ids.add(passages)
        start = 0
        while start < len(passages):
            if self.open is None:
                name = f"{SHARDS_DIR}/{self.next:05d}"
                self.open = ShardWriter(self.root / name, self.config, self.dim)
                self.next += 1
            room = self.config.shard_size - self.open.rows
            end = start + room
            self.open.add(passages[start:end], vectors[start:end])
            start = end
            if self.open.rows >= self.config.shard_size:
                self._close_shard()

    def _close_shard(self) -> None:
        shard = self.open
        assert shard is not None
        stats = shard.close()
        self.written.stats = (
            merge_stats([self.written.stats, stats]) if self.written.stats else stats
        )
        name = str(shard.folder.relative_to(self.root))
        self.written.shards.append({"name": name, "rows": shard.rows})
        self.ids.seal()
        self.open = None

    def close(self) -> WrittenShards:
        """Close the last shard; refuses an input that held no passage at all."""
        if self.open is not None and self.open.rows:
            self._close_shard()
        if not self.written.shards:
            raise IndexStoreError("No passages to index: the input files hold no text.")
        return self.written
