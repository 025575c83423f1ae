"""An index on disk: passages, BM25, FAISS and a manifest that vouches for them.

``indexes/NAME/`` holds

* ``manifest.json``: the format marker and version (see :mod:`qa.index.manifest`), the profile it was built with (models, their
  revisions, chunking, BM25 and fusion parameters), passage count, corpus checksum, build
  time, and the sha256 of every other file;
* ``passages.jsonl``: the passages, in index order;
* ``bm25/``: the bm25s index in its own numpy/JSON files;
* ``dense.faiss``: the FAISS index written by ``faiss.write_index``.

Nothing is pickled, so loading an index cannot run code. A build writes into a temporary
folder beside the target and renames it into place at the end (:func:`qa.atomic.staged_folder`):
an interrupted build, even one killed outright, leaves the previous index untouched, and the
next build removes what it left. Only an index this project wrote (or an empty folder) is ever
replaced. Loading checks the manifest against its schema, verifies the checksums and names the
damaged file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from qa.atomic import sha256_file, staged_folder, write_text
from qa.config import Profile, profile_from_dict
from qa.corpus.jsonl import read_jsonl, write_jsonl
from qa.errors import CorpusFormatError, IndexStoreError
from qa.index.manifest import (
    BM25_DIR,
    FAISS_FILE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    PASSAGES,
    is_index,
    rebuild_hint,
    validate_manifest,
)
from qa.retrieve.base import Searcher
from qa.retrieve.bm25 import BM25Index
from qa.retrieve.dense import DenseIndex
from qa.retrieve.encoder import SentenceEncoder
from qa.retrieve.hybrid import HybridRetriever
from qa.types import RETRIEVAL_MODES, Passage


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
) -> dict[str, Any]:
    """Build every part of an index into a temporary folder, then move it into place.

    An existing ``out`` is replaced only when ``replaces(out)`` (by default: it is an index this
    project wrote) or it is empty; anything else is refused before the passages are read.
    ``built_by`` is recorded in the manifest (``qa demo`` marks its own index so).
    """
    from qa.modelhub.trained import require_trained

    require_trained(profile)  # an index for a profile that cannot answer yet is wasted work
    out = Path(out)
    with staged_folder(out, replaces, "an index") as tmp:
        return _build_into(
            tmp, out.name, passages, profile, device, show_progress, encoders, built_by
        )


def _build_into(
    tmp: Path,
    name: str,
    passages: Iterable[Passage],
    profile: Profile,
    device: str,
    show_progress: bool,
    encoders: tuple[SentenceEncoder, SentenceEncoder] | None,
    built_by: str,
) -> dict[str, Any]:
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
    stages = tqdm(total=3, desc=f"Building {name}", unit="stage", disable=not show_progress)
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
        bf16=profile.runtime.bf16_passages(passage_enc.device),
    )
    dense.save(tmp / FAISS_FILE)
    stages.update(2)
    stages.close()
    files = _checksums(tmp)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "built_by": built_by,
        "profile": profile.to_dict(),
        "embedder": {**embedder_identity(profile), "dim": int(dense.index.d)},
        "passages": len(items),
        "corpus_sha256": files[PASSAGES],
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(time.time() - started, 1),
        "files": files,
    }
    write_text(tmp / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return manifest


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


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise IndexStoreError(
                f"{folder} is missing {name}: the index is incomplete; "
                + rebuild_hint(folder, manifest)
            )
        if sha256_file(path) != expected:
            raise IndexStoreError(
                f"{name} in {folder} is damaged (its checksum does not match the manifest); "
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
        raise IndexStoreError(f"{exc} " + rebuild_hint(folder, manifest)) from exc
    if len(passages) != manifest["passages"]:
        raise IndexStoreError(
            f"{folder}/{PASSAGES} holds {len(passages)} passages, the manifest says "
            f"{manifest['passages']}; " + rebuild_hint(folder, manifest)
        )
    try:
        bm25 = BM25Index.load(folder / BM25_DIR, passages, mmap=mmap)
    except (OSError, ValueError, KeyError) as exc:
        raise IndexStoreError(
            f"{folder}/{BM25_DIR} could not be read ({exc}); " + rebuild_hint(folder, manifest)
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
            + rebuild_hint(folder, manifest)
        ) from exc
    hybrid = HybridRetriever([bm25, dense], profile.fusion)
    return LoadedIndex(folder, manifest, profile, passages, bm25, dense, hybrid)
