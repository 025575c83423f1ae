"""PubMedQA (``ori_pqal.json`` and the same-shaped ``ori_pqau``/``ori_pqaa``) as passages.

The file maps a PMID to ``{"QUESTION", "CONTEXTS", "LABELS", "MESHES", "YEAR",
"LONG_ANSWER", "final_decision", ...}``. ``CONTEXTS`` are the abstract's sections without its
conclusion (the conclusion is the ``LONG_ANSWER``), so joining them gives the passage the
question was written against. Answers are deliberately not copied into ``meta``: a passage
must not carry the label an evaluation is scored on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from qa.corpus.files import load_json
from qa.errors import CorpusFormatError
from qa.types import Passage

_FORMAT = "PubMedQA format: an object mapping each PMID to an entry with a 'CONTEXTS' list"


def _load(path: Path) -> dict[str, Any]:
    data = load_json(path, "PubMedQA ori_pqal.json")
    if not isinstance(data, dict):
        raise CorpusFormatError(f"{path}: expected {_FORMAT}, got a JSON {type(data).__name__}.")
    return data


def _passage(path: Path, pmid: str, entry: Any) -> Passage:
    where = f"{path}, PMID {pmid}"
    if not isinstance(entry, dict):
        # The test_ground_truth.json file maps PMIDs to bare labels; this is its signature.
        raise CorpusFormatError(
            f"{where}: expected an object with 'QUESTION' and 'CONTEXTS', got {entry!r:.40}. "
            f"Pass ori_pqal.json (or ori_pqau/ori_pqaa), not a ground-truth file."
        )
    contexts = entry.get("CONTEXTS")
    if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
        raise CorpusFormatError(f"{where}: 'CONTEXTS' must be a list of strings ({_FORMAT}).")
    text = " ".join(c.strip() for c in contexts if c.strip())
    if not text:
        raise CorpusFormatError(f"{where}: 'CONTEXTS' is empty; the entry has no abstract text.")
    labels = entry.get("LABELS")
    return Passage(
        id=f"pubmedqa:{pmid}",
        text=text,
        title="",
        pmid=pmid,
        meta={
            "source": "pubmedqa",
            "question": entry.get("QUESTION", ""),
            "labels": list(labels) if isinstance(labels, list) else [],
            "year": entry.get("YEAR"),
        },
    )


def read_pubmedqa(paths: Iterable[str | Path]) -> Iterator[Passage]:
    """One passage per PMID; a PMID already read from an earlier file is skipped.

    Skipping rather than failing on a repeat lets PQA-L and PQA-U be passed together even
    when a user's copies overlap; the entries of one PMID share the same abstract.
    """
    seen: set[str] = set()
    for path in map(Path, paths):
        for pmid, entry in _load(path).items():
            passage = _passage(path, str(pmid), entry)
            if passage.id in seen:
                continue
            seen.add(passage.id)
            yield passage


def read_pubmedqa_labels(path: str | Path) -> dict[str, str]:
    """PMID -> "yes"/"no"/"maybe" from a PubMedQA file: ``test_ground_truth.json`` (PMID ->
    label) or an ``ori_pqal.json`` (its ``final_decision``)."""
    path = Path(path)
    labels = {}
    for pmid, entry in _load(path).items():
        label = entry.get("final_decision") if isinstance(entry, dict) else entry
        if str(label).lower() not in ("yes", "no", "maybe"):
            raise CorpusFormatError(
                f"{path}, PMID {pmid}: expected a yes/no/maybe label, got {label!r:.40}; pass "
                f"PubMedQA's test_ground_truth.json or a labelled ori_pqal.json."
            )
        labels[str(pmid)] = str(label).lower()
    return labels
