"""An index on disk: a manifest over shards, each with its passages, BM25 postings and FAISS.

``indexes/NAME/`` holds

* ``manifest.json``: the format marker and version (see :mod:`qa.index.manifest`), the profile
  it was built with (models, their revisions, chunking, BM25 and fusion parameters), the shards
  and their row counts, the corpus-wide BM25 statistics, the tombstone file, the sha256 and
  size of every other file, and a checksum of itself;
* ``shards/NNNNN/``: ``passages.arrow`` (the passages, an Arrow file read memory-mapped),
  ``bm25/`` (postings as numpy arrays), ``vectors.f16`` and ``dense.faiss`` (see
  :mod:`qa.index.build`);
* ``bm25-stats-G/``: document frequencies over all shards, so a sharded index ranks exactly as
  an unsharded one; ``tombstones-G.npy``: the rows ``qa index delete`` hid.

Nothing is pickled, so loading an index cannot run code. A build writes into a temporary
folder beside the target and renames it into place at the end (:func:`qa.atomic.staged_folder`):
an interrupted build, even one killed outright, leaves the previous index untouched, and the
next build removes what it left. Only an index this project wrote (or an empty folder) is ever
replaced. Loading checks the manifest against its schema and its checksum and every file's
size, and names the damaged file; ``qa index info --verify`` compares every sha256 too.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from qa.atomic import sha256_file, staged_folder
from qa.config import Profile
from qa.errors import IndexStoreError, check_choice
from qa.index.build import IndexWriter, WrittenShards, encoded_chunks
from qa.index.manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    PASSAGES,
    is_index,
    rebuild_hint,
    recorded_profile,
    validate_manifest,
    write_manifest,
)
from qa.index.rows import ShardedRows
from qa.index.shards import hidden_rows, load_shards
from qa.retrieve.base import Searcher
from qa.retrieve.bm25 import BM25Index, read_stats, write_stats
from qa.retrieve.dense import DenseIndex
from qa.retrieve.encoder import SentenceEncoder
from qa.retrieve.hybrid import HybridRetriever
from qa.types import RETRIEVAL_MODES, Passage

# Where a loaded index's shards live: memory-mapped in this process, or on Ray actors.
ENGINES = ("local", "ray")


def embedder_identity(profile: Profile) -> dict[str, str]:
    """What a dense index depends on: model specs and the fingerprints of their weights."""
    from qa.modelhub import locate, revision

    ident = {"model": profile.embedder.model, "revision": revision(locate(profile.embedder.model))}
    if profile.embedder.passage_model:
        ident["passage_model"] = profile.embedder.passage_model
        ident["passage_revision"] = revision(locate(profile.embedder.passage_model))
    ident["pooling"] = profile.embedder.pooling
    return ident


def _encoder(
    spec: str, profile: Profile, device: str, title_pairs: bool = False
) -> SentenceEncoder:
    cfg = profile.embedder
    encoder = SentenceEncoder(
        spec,
        device=device,
        max_seq_length=cfg.max_seq_length,
        pooling=cfg.pooling,
        title_pairs=title_pairs,
    )
    return encoder.with_backend(profile.runtime.backend)


def load_encoders(
    profile: Profile, device: str = "auto"
) -> tuple[SentenceEncoder, SentenceEncoder]:
    """(query encoder, passage encoder): the same object unless the profile is asymmetric."""
    query = _encoder(profile.embedder.model, profile, device)
    if not profile.embedder.passage_model:
        return query, query
    # The passage model of an asymmetric pair reads (title, text) pairs, as MedCPT's articles.
    return query, _encoder(profile.embedder.passage_model, profile, device, title_pairs=True)


def build_index(
    passages: Iterable[Passage],
    out: str | Path,
    profile: Profile,
    *,
    device: str = "auto",
    show_progress: bool = True,
    encoders: tuple[SentenceEncoder, SentenceEncoder] | None = None,
    built_by: str = "qa index build",
    replaces: Callable[[Path], bool] = is_index,
    chunks: Iterable[tuple[list[Passage], np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Build every part of an index into a temporary folder, then move it into place.

    An existing ``out`` is replaced only when ``replaces(out)`` (by default: it is an index this
    project wrote) or it is empty; anything else is refused before the passages are read.
    ``built_by`` is recorded in the manifest (``qa demo`` marks its own index so). ``chunks``
    gives (passages, vectors) already encoded elsewhere (``--engine ray``), in corpus order.
    """
    from qa.modelhub.trained import require_trained

    require_trained(profile)  # an index for a profile that cannot answer yet is wasted work
    out = Path(out)
    with staged_folder(out, replaces, "an index") as tmp:
        started = time.time()
        _, passage_enc = encoders or load_encoders(profile, device)
        if chunks is None:
            chunks = encoded_chunks(passages, passage_enc, profile)
        desc = f"Indexing {out.name}"
        written = write_shards(tmp, chunks, profile, passage_enc.dim, desc, show_progress)
        return finish_index(tmp, profile, passage_enc.dim, written, built_by, started)


def write_shards(
    root: Path,
    chunks: Iterable[tuple[list[Passage], np.ndarray]],
    profile: Profile,
    dim: int,
    desc: str,
    show_progress: bool,
    first: int = 0,
) -> WrittenShards:
    """Every chunk written into shards under ``root`` (numbered from ``first``), with a bar."""
    writer = IndexWriter(root, profile.index, dim, first=first)
    # delay: an input refused in its first chunk ends with its one-line error, not a bar too
    with tqdm(desc=desc, unit="passage", disable=not show_progress, delay=1.0) as bar:
        for chunk, vectors in chunks:
            writer.add(chunk, vectors)
            bar.update(len(chunk))
    return writer.close()


def finish_index(
    folder: Path,
    profile: Profile,
    dim: int,
    written: WrittenShards,
    built_by: str,
    started: float,
) -> dict[str, Any]:
    """The statistics and the manifest of freshly written shards: the index is complete."""
    manifest = new_manifest(profile, dim, written, built_by)
    assert written.stats is not None
    write_stats(written.stats, folder / manifest["bm25"]["stats"])
    manifest["files"] = file_entries(folder, [p for p in folder.rglob("*") if p.is_file()])
    manifest["corpus_sha256"] = corpus_digest(manifest)
    manifest["build_seconds"] = round(time.time() - started, 1)
    write_manifest(folder, manifest)
    return manifest


def new_manifest(
    profile: Profile, dim: int, written: WrittenShards, built_by: str
) -> dict[str, Any]:
    """The manifest of a freshly written index, before its files are listed."""
    assert written.stats is not None
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "built_by": built_by,
        "profile": profile.to_dict(),
        "embedder": {**embedder_identity(profile), "dim": int(dim)},
        "passages": written.rows,
        "rows": written.rows,
        "generation": 0,
        "shards": written.shards,
        "bm25": {
            "docs": int(written.stats.docs),
            "tokens": int(written.stats.tokens),
            "stats": "bm25-stats-0",
        },
        "tombstones": "",
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def file_entries(folder: Path, paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """The manifest's ``files`` entries (sha256 and size) of ``paths`` under ``folder``."""
    return {
        str(p.relative_to(folder)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(paths)
    }


def corpus_digest(manifest: dict[str, Any]) -> str:
    """One sha256 for the passages of every shard, in order: two indexes of the same corpus
    (chunked and sharded alike) have the same digest."""
    digest = hashlib.sha256()
    for shard in manifest["shards"]:
        digest.update(manifest["files"][f"{shard['name']}/{PASSAGES}"]["sha256"].encode())
    return digest.hexdigest()


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of the index in ``folder``, checked against its schema (see
    :mod:`qa.index.manifest`); every problem is an :class:`IndexStoreError` naming the folder,
    the key and the command that rebuilds the index."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise IndexStoreError(
            f"No index at {folder}: build one with: qa index build PASSAGES.jsonl -o {folder}"
        )
    if not path.is_file():
        raise IndexStoreError(
            f"{folder} has no {MANIFEST}: it is not an index, or its build never finished; "
            + rebuild_hint(folder)
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise IndexStoreError(f"{path} is damaged ({exc}); " + rebuild_hint(folder)) from exc
    except OSError as exc:
        raise IndexStoreError(
            f"{path} cannot be read ({exc.strerror}): check its permissions."
        ) from exc
    return validate_manifest(folder, manifest)


def check_files(folder: Path, manifest: dict[str, Any], full: bool = False) -> None:
    """Every file of the manifest is there with its recorded size (milliseconds, done at each
    load); with ``full``, its sha256 is compared too (``qa index info --verify``: minutes at
    PubMed scale). The first missing or damaged file is named, with the rebuild command."""
    entries = manifest["files"]
    paths = tqdm(entries.items(), desc="Verifying", unit="file", disable=not full)
    for name, entry in paths:
        path = folder / name
        if not path.is_file():
            raise IndexStoreError(
                f"{folder} is missing {name}: the index is incomplete; "
                + rebuild_hint(folder, manifest)
            )
        if path.stat().st_size != entry["bytes"] or (full and sha256_file(path) != entry["sha256"]):
            raise IndexStoreError(
                f"{name} in {folder} is damaged (its "
                + ("checksum" if full else "size")
                + " does not match the manifest); "
                + rebuild_hint(folder, manifest)
            )


def check_profile(folder: Path, manifest: dict[str, Any], profile: Profile) -> None:
    built = manifest["embedder"]
    wanted = embedder_identity(profile)
    for key in ("model", "revision", "passage_model", "passage_revision", "pooling"):
        if built.get(key, "") != wanted.get(key, ""):
            raise IndexStoreError(
                f"Index at {folder} was built with embedder {built['model']} "
                f"(revision {built.get('revision')}) but profile {profile.name} asks for "
                f"{wanted['model']} (revision {wanted['revision']}): rebuild with "
                f"qa index build PASSAGES.jsonl -o {folder} --profile {profile.name}, "
                f"or load it with --profile {manifest['profile']['name']}."
            )


@dataclass
class LoadedIndex:
    """A loaded index: its retrievers and its passages (memory-mapped, fetched by row)."""

    folder: Path
    manifest: dict[str, Any]
    profile: Profile
    passages: ShardedRows
    bm25: BM25Index
    dense: DenseIndex
    hybrid: HybridRetriever
    engine: str = "local"

    def retriever(self, mode: str = "hybrid") -> Searcher:
        """The retriever of one of :data:`~qa.types.RETRIEVAL_MODES`."""
        if mode not in RETRIEVAL_MODES:
            raise ValueError(f"Unknown retrieval mode {mode!r}: use {', '.join(RETRIEVAL_MODES)}.")
        return {"bm25": self.bm25, "dense": self.dense, "hybrid": self.hybrid}[mode]

    @property
    def size(self) -> int:
        """Passages a search can return (deleted ones not counted)."""
        return int(self.manifest["passages"])


def load_index(
    folder: str | Path,
    profile: Profile | None = None,
    *,
    device: str = "auto",
    verify: bool = False,
    encoders: tuple[SentenceEncoder, SentenceEncoder] | None = None,
    engine: str = "local",
    address: str | None = None,
) -> LoadedIndex:
    """Load and check an index; with no profile, the one recorded in the manifest is used.

    Loading reads the manifest and checks every file's size; ``verify`` also compares every
    checksum (slow on a large index). ``engine="ray"`` places the shards on Ray actors (on the
    cluster at ``address``, or a local Ray) instead of memory-mapping them here.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    check_files(folder, manifest, full=verify)
    if profile is None:
        profile = recorded_profile(manifest)
    check_profile(folder, manifest, profile)
    hidden = hidden_rows(folder, manifest)
    check_choice("engine", engine, ENGINES)
    if engine == "ray":
        from qa.index.ray_serve import place_shards

        shards, fan_out = place_shards(folder, manifest, profile, hidden, address)
    else:
        shards, fan_out = load_shards(folder, manifest, profile), None
    passages = ShardedRows([s.rows for s in shards])
    offsets = passages.offsets
    counts = manifest["bm25"]
    stats = read_stats(folder / counts["stats"], counts["docs"], counts["tokens"])
    built_with = manifest["profile"]["index"]["bm25_stopwords"]  # queries tokenised as passages
    bm25 = BM25Index(
        [s.bm25 for s in shards],
        stats,
        passages,
        profile.index,
        built_with,
        offsets,
        hidden,
        fan_out=fan_out,
    )
    # Questions need only the query encoder; an asymmetric passage encoder stays unloaded.
    query_enc = encoders[0] if encoders else _encoder(profile.embedder.model, profile, device)
    dense = DenseIndex(
        query_enc,
        [s.dense for s in shards],
        passages,
        offsets,
        hidden,
        query_max_length=profile.embedder.query_max_seq_length,
        fan_out=fan_out,
    )
    hybrid = HybridRetriever([bm25, dense], profile.fusion)
    return LoadedIndex(folder, manifest, profile, passages, bm25, dense, hybrid, engine)
