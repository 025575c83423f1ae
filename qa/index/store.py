"""An index on disk: passages, BM25, FAISS and a manifest that vouches for them.

``indexes/NAME/`` holds

* ``manifest.json``: format version, the profile it was built with (models, their
  revisions, chunking, BM25 and fusion parameters), passage count, corpus checksum, build
  time, and the sha256 of every other file;
* ``passages.jsonl``: the passages, in index order;
* ``bm25/``: the bm25s index in its own numpy/JSON files;
* ``dense.faiss``: the FAISS index written by ``faiss.write_index``.

Nothing is pickled, so loading an index cannot run code. A build writes into a temporary
folder beside the target and renames it into place at the end: an interrupted build leaves
the previous index untouched. Loading verifies the checksums and names the damaged file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from qa.config import Profile, profile_from_dict
from qa.corpus.jsonl import read_jsonl, write_jsonl
from qa.errors import CorpusFormatError, IndexStoreError
from qa.retrieve.base import Searcher
from qa.retrieve.bm25 import BM25Index
from qa.retrieve.dense import DenseIndex
from qa.retrieve.encoder import SentenceEncoder
from qa.retrieve.hybrid import HybridRetriever
from qa.types import RETRIEVAL_MODES, Passage

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
BM25_DIR = "bm25"
FAISS_FILE = "dense.faiss"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def embedder_identity(profile: Profile) -> dict[str, str]:
    """What a dense index depends on: model specs and the fingerprints of their weights."""
    from qa.modelhub import locate, revision

    ident = {"model": profile.embedder.model, "revision": revision(locate(profile.embedder.model))}
    if profile.embedder.passage_model:
        ident["passage_model"] = profile.embedder.passage_model
        ident["passage_revision"] = revision(locate(profile.embedder.passage_model))
    ident["pooling"] = profile.embedder.pooling
    return ident


def _encoder(spec: str, profile: Profile, device: str) -> SentenceEncoder:
    cfg = profile.embedder
    return SentenceEncoder(
        spec, device=device, max_seq_length=cfg.max_seq_length, pooling=cfg.pooling
    )


def load_encoders(
    profile: Profile, device: str = "auto"
) -> tuple[SentenceEncoder, SentenceEncoder]:
    """(query encoder, passage encoder): the same object unless the profile is asymmetric."""
    query = _encoder(profile.embedder.model, profile, device)
    if not profile.embedder.passage_model:
        return query, query
    return query, _encoder(profile.embedder.passage_model, profile, device)


def _rebuild_hint(folder: Path, manifest: dict[str, Any] | None = None) -> str:
    profile = (manifest or {}).get("profile", {}).get("name", "PROFILE")
    return f"rebuild it with: qa index build PASSAGES.jsonl -o {folder} --profile {profile}"


def build_index(
    passages: Iterable[Passage],
    out: str | Path,
    profile: Profile,
    *,
    device: str = "auto",
    show_progress: bool = True,
    encoders: tuple[SentenceEncoder, SentenceEncoder] | None = None,
) -> dict[str, Any]:
    """Build every part of an index into a temporary folder, then move it into place."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    items = list(passages)
    if not items:
        raise IndexStoreError("No passages to index: the input files hold no text.")
    seen: set[str] = set()
    for p in items:
        if p.id in seen:
            raise IndexStoreError(
                f"Passage id {p.id!r} occurs twice in the input: ids must be unique."
            )
        seen.add(p.id)
    _remove_abandoned_builds(out)
    tmp = out.parent / f".{out.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        stages = tqdm(total=3, desc=f"Building {out.name}", unit="stage", disable=not show_progress)
        write_jsonl(items, tmp / PASSAGES)
        stages.set_postfix_str("bm25")
        BM25Index.build(items, profile.index, show_progress=False).save(tmp / BM25_DIR)
        stages.update(1)
        stages.set_postfix_str("dense")
        query_enc, passage_enc = encoders or load_encoders(profile, device)
        dense = DenseIndex.build(
            items,
            query_enc,
            profile.index,
            passage_encoder=passage_enc,
            batch_size=profile.embedder.batch_size,
            show_progress=show_progress,
        )
        dense.save(tmp / FAISS_FILE)
        stages.update(2)
        stages.close()
        files = _checksums(tmp)
        manifest = {
            "format_version": FORMAT_VERSION,
            "profile": profile.to_dict(),
            "embedder": {**embedder_identity(profile), "dim": int(dense.index.d)},
            "passages": len(items),
            "corpus_sha256": files[PASSAGES],
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "build_seconds": round(time.time() - started, 1),
            "files": files,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_abandoned_builds(out: Path) -> None:
    """Delete temporary folders of builds of ``out`` whose process was killed outright."""
    for leftover in out.parent.glob(f".{out.name}.building-*"):
        pid = leftover.name.rsplit("-", 2)[-2]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _swap_into_place(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.replace(tmp, out)
        return
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise IndexStoreError(
            f"{out} exists and is not an index (no {MANIFEST}): refusing to replace it. "
            "Choose another -o folder or remove it yourself."
        )
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise IndexStoreError(
            f"No index at {folder}: build one with: qa index build PASSAGES.jsonl -o {folder}"
        )
    if not path.is_file():
        raise IndexStoreError(
            f"{folder} has no {MANIFEST}: it is not an index, or its build never finished; "
            + _rebuild_hint(folder)
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexStoreError(f"{path} is damaged ({exc}); " + _rebuild_hint(folder)) from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexStoreError(
            f"{folder} has index format {manifest.get('format_version')!r}, this version reads "
            f"{FORMAT_VERSION}; " + _rebuild_hint(folder, manifest)
        )
    return manifest


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise IndexStoreError(
                f"{folder} is missing {name}: the index is incomplete; "
                + _rebuild_hint(folder, manifest)
            )
        if sha256_file(path) != expected:
            raise IndexStoreError(
                f"{name} in {folder} is damaged (its checksum does not match the manifest); "
                + _rebuild_hint(folder, manifest)
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
    folder: Path
    manifest: dict[str, Any]
    profile: Profile
    passages: list[Passage]
    bm25: BM25Index
    dense: DenseIndex
    hybrid: HybridRetriever

    def retriever(self, mode: str = "hybrid") -> Searcher:
        """The retriever of one of :data:`~qa.types.RETRIEVAL_MODES`."""
        if mode not in RETRIEVAL_MODES:
            raise ValueError(f"Unknown retrieval mode {mode!r}: use {', '.join(RETRIEVAL_MODES)}.")
        return {"bm25": self.bm25, "dense": self.dense, "hybrid": self.hybrid}[mode]


def load_index(
    folder: str | Path,
    profile: Profile | None = None,
    *,
    device: str = "auto",
    verify: bool = True,
    mmap: bool = False,
    encoders: tuple[SentenceEncoder, SentenceEncoder] | None = None,
) -> LoadedIndex:
    """Load and check an index; with no profile, the one recorded in the manifest is used."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if verify:
        verify_files(folder, manifest)
    if profile is None:
        profile = profile_from_dict(
            manifest["profile"], source=manifest["profile"].get("source", "")
        )
    check_profile(folder, manifest, profile)
    try:
        passages = list(read_jsonl([folder / PASSAGES]))
    except CorpusFormatError as exc:
        raise IndexStoreError(f"{exc} " + _rebuild_hint(folder, manifest)) from exc
    if len(passages) != manifest["passages"]:
        raise IndexStoreError(
            f"{folder}/{PASSAGES} holds {len(passages)} passages, the manifest says "
            f"{manifest['passages']}; " + _rebuild_hint(folder, manifest)
        )
    try:
        bm25 = BM25Index.load(folder / BM25_DIR, passages, mmap=mmap)
    except (OSError, ValueError, KeyError) as exc:
        raise IndexStoreError(
            f"{folder}/{BM25_DIR} could not be read ({exc}); " + _rebuild_hint(folder, manifest)
        ) from exc
    # Questions need only the query encoder; an asymmetric passage encoder stays unloaded.
    query_enc = encoders[0] if encoders else _encoder(profile.embedder.model, profile, device)
    try:
        dense = DenseIndex.load(
            folder / FAISS_FILE,
            query_enc,
            passages,
            profile.index,
            query_max_length=profile.embedder.query_max_seq_length,
        )
    except RuntimeError as exc:
        raise IndexStoreError(
            f"{FAISS_FILE} in {folder} is damaged (FAISS could not read it); "
            + _rebuild_hint(folder, manifest)
        ) from exc
    hybrid = HybridRetriever([bm25, dense], profile.fusion)
    return LoadedIndex(folder, manifest, profile, passages, bm25, dense, hybrid)
