"""The demo: an index over the bundled corpus, built on first start, and questions to ask it.

``qa demo`` and the quickstart need an index before a user has one; this builds it from
``qa/data/demo_passages.jsonl`` once and reuses it, rebuilding only when it is missing,
damaged, or was built with other models than the profile's.

Only the demo's own index is ever (re)built: its manifest says it was built by ``qa demo``
(an index built before that mark existed is told by its corpus checksum). Any other folder
given as ``--index`` (a user's index, however it fails to load, or a folder of other files)
is refused with the command to use instead, and left as it is.
"""

from __future__ import annotations

import sys
import tempfile
from functools import cache
from pathlib import Path

from qa.config import Profile
from qa.errors import IndexStoreError
from qa.index.manifest import MANIFEST, is_index_manifest, parsed_manifest
from qa.pipeline import QA

DEMO_CORPUS = Path(__file__).parent / "data" / "demo_passages.jsonl"
DEMO_QUESTIONS = (
    "Which gene is mutated in Rett syndrome?",
    "What does imatinib inhibit?",
    "Is metformin used to treat type 2 diabetes?",
)
BUILT_BY = "qa demo"  # the manifest's ``built_by`` of the demo index


@cache
def _demo_corpus_sha256() -> str:
    """The ``corpus_sha256`` a demo index of this version records (its passages file's)."""
    from qa.atomic import sha256_file
    from qa.corpus import read_corpus
    from qa.corpus.jsonl import write_jsonl

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "passages.jsonl"
        write_jsonl(read_corpus("jsonl", [DEMO_CORPUS]), path)
        return sha256_file(path)


def is_demo_index(folder: Path) -> bool:
    """Whether ``folder`` holds the demo index (damaged or stale, perhaps): the only index
    :func:`load_demo` (re)builds."""
    manifest = parsed_manifest(Path(folder))
    if not is_index_manifest(manifest):
        return False
    if "built_by" in manifest:
        return manifest["built_by"] == BUILT_BY
    # Built before the mark: the demo index is the one over the demo corpus.
    return manifest.get("corpus_sha256") == _demo_corpus_sha256()


def _refuse_unless_demo(index_dir: Path) -> bool:
    """True when ``index_dir`` holds the demo index, False when there is nothing there yet
    (missing, or an empty folder); refuses anything else."""
    if not index_dir.exists() and not index_dir.is_symlink():
        return False
    if index_dir.is_dir() and not index_dir.is_symlink():
        if not any(index_dir.iterdir()):
            return False
        if is_demo_index(index_dir):
            return True
        if is_index_manifest(parsed_manifest(index_dir)):
            raise IndexStoreError(
                f"{index_dir} is not the demo index: serve it with qa serve --index {index_dir}, "
                "or give qa demo another --index folder."
            )
    raise IndexStoreError(
        f"{index_dir} is not the demo index (it holds no index {MANIFEST}): give qa demo "
        "another --index folder; it is left as it is."
    )


def load_demo(index_dir: str | Path, profile: Profile, device: str = "auto") -> QA:
    """The demo index over the bundled corpus: built on first start (or when stale), then reused.

    Refuses, before touching it, an ``index_dir`` that holds anything but the demo index."""
    index_dir = Path(index_dir)
    from qa.corpus import read_corpus
    from qa.index.store import build_index

    if _refuse_unless_demo(index_dir):
        try:
            return QA.load(index_dir, profile=profile, device=device)
        except IndexStoreError as exc:
            # Damaged, or built with other models (say, before an upgrade): rebuild it.
            reason = str(exc).split(":")[0]
    else:
        reason = "first start"
    print(f"Building the demo index in {index_dir} ({reason})…", file=sys.stderr)
    corpus = read_corpus("jsonl", [DEMO_CORPUS])
    build_index(
        corpus, index_dir, profile, device=device, built_by=BUILT_BY, replaces=is_demo_index
    )
    return QA.load(index_dir, profile=profile, device=device)
