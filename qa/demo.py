"""The demo: an index over the bundled corpus, built on first start, and questions to ask it.

``qa demo`` and the quickstart need an index before a user has one; this builds it from
``qa/data/demo_passages.jsonl`` once and reuses it, rebuilding only when it is missing,
damaged, or was built with other models than the profile's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from qa.config import Profile
from qa.pipeline import QA

DEMO_CORPUS = Path(__file__).parent / "data" / "demo_passages.jsonl"
DEMO_QUESTIONS = (
    "Which gene is mutated in Rett syndrome?",
    "What does imatinib inhibit?",
    "Is metformin used to treat type 2 diabetes?",
)


def load_demo(index_dir: str | Path, profile: Profile, device: str = "auto") -> QA:
    """The demo index over the bundled corpus: built on first start (or when stale), then reused."""
    index_dir = Path(index_dir)
    from qa.corpus import read_corpus
    from qa.errors import IndexStoreError
    from qa.index.store import build_index

    try:
        return QA.load(index_dir, profile=profile, device=device)
    except IndexStoreError as exc:
        # Missing, damaged, or built with other models (say, before an upgrade): rebuild it.
        reason = "first start" if not index_dir.exists() else str(exc).split(":")[0]
        print(f"Building the demo index in {index_dir} ({reason})…", file=sys.stderr)
        build_index(read_corpus("jsonl", [DEMO_CORPUS]), index_dir, profile, device=device)
        return QA.load(index_dir, profile=profile, device=device)
