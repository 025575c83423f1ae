"""The shards of a loaded index, and the rows deleted from them.

A shard is a folder under ``shards/`` with its passage rows, its BM25 postings and its FAISS
index; loading one memory-maps its files, so the pages a search touches are read from disk and
the rest cost nothing. Deleted passages (``qa index delete``) stay in their shard until
``qa index compact`` and are hidden from every retriever by a mask per shard, built here from
the index's tombstone file (the sorted global rows deleted so far).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Profile
from qa.errors import IndexStoreError
from qa.index.manifest import BM25_DIR, PASSAGES, rebuild_hint
from qa.index.rows import PassageRows
from qa.retrieve.bm25 import BM25Shard
from qa.retrieve.dense import DenseShard


@dataclass
class Shard:
    rows: PassageRows
    bm25: BM25Shard
    dense: DenseShard


def load_shard(folder: Path, profile: Profile, rows: int, dim: int) -> Shard:
    """One shard's parts, memory-mapped; :class:`IndexStoreError` when a file cannot be read."""
    try:
        shard = Shard(
            PassageRows(folder / PASSAGES),
            BM25Shard.load(folder / BM25_DIR),
            DenseShard.load(folder, profile.index, rows, dim),
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        # FAISS raises RuntimeError for a damaged file; numpy ValueError for a bad .npy
        raise IndexStoreError(f"{folder} could not be read ({exc})") from exc
    if len(shard.rows) != rows:
        raise IndexStoreError(
            f"{folder}/{PASSAGES} holds {len(shard.rows)} passages, the manifest says {rows}"
        )
    return shard


def load_shards(index: Path, manifest: dict[str, Any], profile: Profile) -> list[Shard]:
    dim = manifest["embedder"]["dim"]
    shards = []
    for entry in manifest["shards"]:
        try:
            shards.append(load_shard(index / entry["name"], profile, entry["rows"], dim))
        except IndexStoreError as exc:
            raise IndexStoreError(f"{exc}; " + rebuild_hint(index, manifest)) from exc
    return shards


def read_tombstones(index: Path, manifest: dict[str, Any]) -> np.ndarray:
    """The global rows deleted so far, sorted (empty when nothing was deleted)."""
    if not manifest["tombstones"]:
        return np.empty(0, dtype=np.int64)
    try:
        return np.load(index / manifest["tombstones"], allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise IndexStoreError(
            f"{manifest['tombstones']} in {index} could not be read ({exc}); "
            + rebuild_hint(index, manifest)
        ) from exc


def hidden_rows(index: Path, manifest: dict[str, Any]) -> list[np.ndarray | None]:
    """Per shard, a mask of its deleted rows (None where none are), for every retriever."""
    deleted = read_tombstones(index, manifest)
    masks: list[np.ndarray | None] = []
    start = 0
    for entry in manifest["shards"]:
        end = start + entry["rows"]
        inside = deleted[(deleted >= start) & (deleted < end)] - start
        if len(inside):
            mask = np.zeros(entry["rows"], dtype=bool)
            mask[inside] = True
            masks.append(mask)
        else:
            masks.append(None)
        start = end
    return masks
