"""Changing an index in place: add passages, delete PubMed records, compact.

PubMed grows by daily update files that add records, revise them (the same PMID again) and
delete them; rebuilding 36 million abstracts for each would take days. So:

* :func:`add_passages` writes new passages as new shards, encoded with the index's own models,
  and hides the earlier passages of every PMID it brings again (a revision replaces a record);
* :func:`delete_pmids` hides the passages of the listed PMIDs (a tombstone per row);
* :func:`compact` rewrites the index without its hidden rows (no re-encoding: the vectors are
  read back from the shards).

A change writes its new files beside the old ones, then replaces ``manifest.json`` in one
rename: killed at any moment, even by ``kill -9``, the index is the one before the change, and
the next change removes what the killed one left. Corpus-wide BM25 statistics still count
hidden rows until ``compact``, as Lucene's do until a merge; rankings stay exact among
the rows a search can return. One change at a time: a lock on the index folder.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qa.atomic import staged_folder
from qa.errors import IndexStoreError
from qa.index.build import CHUNK, WrittenShards
from qa.index.manifest import (
    PASSAGES,
    SHARDS_DIR,
    VECTORS_FILE,
    is_index,
    recorded_profile,
    write_manifest,
)
from qa.index.rows import PassageRows, ShardedRows
from qa.index.shards import hidden_rows, read_tombstones
from qa.index.store import (
    check_files,
    file_entries,
    finish_index,
    load_encoders,
    read_manifest,
    write_shards,
)
from qa.retrieve.bm25 import merge_stats, read_stats, write_stats
from qa.types import Passage

_GENERATED = re.compile(r"^(bm25-stats|tombstones)-\d+(\.npy)?$")


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the index's update lock, or refuse at once if another command holds it. The lock is
    the folder's own (flock on its descriptor), so no lock file is ever left behind."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        read_manifest(folder)  # says what the folder is instead (missing, a file, ...)
        raise
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexStoreError(
                f"{folder} is being changed by another qa index command: wait for it to finish."
            ) from None
        yield
    finally:
        os.close(fd)


def _remove_leftovers(folder: Path, manifest: dict[str, Any]) -> None:
    """Delete what a killed change left: shard folders, statistics and tombstone files this
    project names that the manifest does not list (only such names are ever removed)."""
    listed = {entry["name"] for entry in manifest["shards"]}
    listed |= {manifest["bm25"]["stats"], manifest["tombstones"]}
    shards = folder / SHARDS_DIR
    candidates = [p for p in shards.iterdir() if p.name.isdigit()] if shards.is_dir() else []
    candidates += [p for p in folder.iterdir() if _GENERATED.match(p.name)]
    for path in candidates:
        if str(path.relative_to(folder)) not in listed:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _stored_rows(folder: Path, manifest: dict[str, Any]) -> ShardedRows:
    """The index's passages as global rows (memory-mapped; nothing read until asked)."""
    return ShardedRows([PassageRows(folder / e["name"] / PASSAGES) for e in manifest["shards"]])


def _new_columns(folder: Path, written: WrittenShards, column: str) -> list[str]:
    values: list[str] = []
    for entry in written.shards:
        values += PassageRows(folder / str(entry["name"]) / PASSAGES).column(column).to_pylist()
    return values


def _revised_rows(folder: Path, manifest: dict[str, Any], written: WrittenShards) -> np.ndarray:
    """Rows that the new shards replace (same PMID); refuses a new passage id that a passage
    still searchable already has."""
    stored = _stored_rows(folder, manifest)
    pmids = {p for p in _new_columns(folder, written, "pmid") if p}
    replaced = stored.rows_of_pmids(pmids) if pmids else np.empty(0, np.int64)
    hidden = np.union1d(read_tombstones(folder, manifest), replaced)
    clash = np.setdiff1d(stored.rows_of_ids(_new_columns(folder, written, "id")), hidden)
    if len(clash):
        raise IndexStoreError(
            f"Passage id {stored[int(clash[0])].id!r} is already in {folder}: give new passages "
            "new ids, or delete the old record first with qa index delete --pmids."
        )
    return replaced


def _commit(
    folder: Path,
    manifest: dict[str, Any],
    tombstones: np.ndarray,
    written: WrittenShards | None = None,
    new_stats: Any = None,
) -> dict[str, Any]:
    """Write the next generation's tombstones (and statistics), then the manifest that names
    them; the files of the generation before are removed only after that rename."""
    generation = manifest["generation"] + 1
    new = {**manifest, "generation": generation, "files": dict(manifest["files"])}
    old_files, written_here = [manifest["tombstones"]], []
    new["tombstones"] = ""
    if len(tombstones):
        new["tombstones"] = f"tombstones-{generation}.npy"
        np.save(folder / new["tombstones"], np.asarray(tombstones, dtype=np.int64))
        written_here.append(folder / new["tombstones"])
    if written is not None:
        stats_dir = f"bm25-stats-{generation}"
        write_stats(new_stats, folder / stats_dir)
        old_files.append(manifest["bm25"]["stats"])
        new["bm25"] = {"docs": int(new_stats.docs), "tokens": int(new_stats.tokens)}
        new["bm25"]["stats"] = stats_dir
        new["shards"] = manifest["shards"] + written.shards
        new["rows"] = manifest["rows"] + written.rows
        for part in [stats_dir, *(str(entry["name"]) for entry in written.shards)]:
            written_here += [p for p in (folder / part).rglob("*") if p.is_file()]
    new["passages"] = new["rows"] - len(tombstones)
    new["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    for name in [n for n in new["files"] if n.split("/")[0] in old_files or n in old_files]:
        del new["files"][name]
    new["files"].update(file_entries(folder, written_here))
    write_manifest(folder, new)
    _remove_leftovers(folder, new)
    return new


def add_passages(
    folder: str | Path,
    passages: Iterable[Passage],
    *,
    device: str = "auto",
    show_progress: bool = True,
    chunks: Iterable[tuple[list[Passage], np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Append ``passages`` to the index at ``folder`` as new shards; returns the new manifest."""
    from qa.index.build import encoded_chunks

    folder = Path(folder)
    with locked(folder):
        manifest = read_manifest(folder)
        check_files(folder, manifest)
        _remove_leftovers(folder, manifest)
        profile = recorded_profile(manifest)
        if chunks is None:
            _, encoder = load_encoders(profile, device)
            chunks = encoded_chunks(passages, encoder, profile)
        first = 1 + max(int(Path(e["name"]).name) for e in manifest["shards"])
        dim = manifest["embedder"]["dim"]
        desc = f"Adding to {folder.name}"
        try:
            written = write_shards(folder, chunks, profile, dim, desc, show_progress, first)
            replaced = _revised_rows(folder, manifest, written)
            tombstones = np.union1d(read_tombstones(folder, manifest), replaced)
            counts = manifest["bm25"]
            old = read_stats(folder / counts["stats"], counts["docs"], counts["tokens"])
            stats = merge_stats([old, written.stats])
            return _commit(folder, manifest, tombstones, written, stats)
        except BaseException:
            _remove_leftovers(folder, read_manifest(folder))  # the shards this call wrote
            raise


def delete_pmids(folder: str | Path, pmids: Collection[str]) -> dict[str, Any]:
    """Hide every passage of ``pmids``; returns the new manifest (with ``deleted``: the number
    of passages this call hid)."""
    folder = Path(folder)
    with locked(folder):
        manifest = read_manifest(folder)
        check_files(folder, manifest)
        _remove_leftovers(folder, manifest)
        before = read_tombstones(folder, manifest)
        deleted = _stored_rows(folder, manifest).rows_of_pmids(set(pmids))
        tombstones = np.union1d(before, deleted)
        new = _commit(folder, manifest, tombstones)
        return {**new, "deleted": int(len(tombstones) - len(before))}


def _live_chunks(
    folder: Path, manifest: dict[str, Any]
) -> Iterator[tuple[list[Passage], np.ndarray]]:
    """The searchable rows of every shard, with their stored vectors, a chunk at a time."""
    dim = manifest["embedder"]["dim"]
    for entry, hidden in zip(manifest["shards"], hidden_rows(folder, manifest)):
        shard = folder / entry["name"]
        rows = PassageRows(shard / PASSAGES)
        vectors = np.memmap(shard / VECTORS_FILE, np.float16, "r", shape=(entry["rows"], dim))
        for start in range(0, entry["rows"], CHUNK):
            keep = np.arange(start, min(start + CHUNK, entry["rows"]))
            if hidden is not None:
                keep = keep[~hidden[keep]]
            if len(keep):
                yield rows.take(keep), np.asarray(vectors[keep], dtype=np.float32)


def compact(folder: str | Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Rewrite the index without its hidden rows (new shards, exact statistics)."""
    folder = Path(folder)
    with locked(folder):
        manifest = read_manifest(folder)
        check_files(folder, manifest)
        if manifest["passages"] == 0:
            raise IndexStoreError(
                f"Every passage of {folder} is deleted: build a new index instead of compacting."
            )
        profile = recorded_profile(manifest)
        started, dim = time.time(), manifest["embedder"]["dim"]
        built_by = manifest.get("built_by", "qa index build")
        with staged_folder(folder, is_index, "an index") as tmp:
            chunks = _live_chunks(folder, manifest)
            desc = f"Compacting {folder.name}"
            written = write_shards(tmp, chunks, profile, dim, desc, show_progress)
            return finish_index(tmp, profile, dim, written, built_by, started)
