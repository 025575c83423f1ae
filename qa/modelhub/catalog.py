"""The models shipped in ``qa/models/``: what each one does, over which base, how big it is on
disk and its headline figures, for ``qa models list``.

The figures come from each model card's ``**Headline figures**:`` line, written by hand from
the card's own tables, so the list never shows a number the card does not.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.modelhub import MODELS_DIR, OVERLAY_FILE

CARD = "README.md"
# What marks a question classifier (qa.read.qtype.META_FILE): the question-type model, or with
# "kind": "answer-type" in it, the expected-answer-type model.
QTYPE_FILE = "qtype.json"
_HEADLINE = re.compile(r"^\*\*Headline figures\*\*:\s*(.+?)\s*$", re.M)
# What each kind of model does, in words for the list.
PURPOSE = {
    "reader": "extractive QA (answer spans)",
    "yesno": "yes/no answers",
    "sentence-encoder": "dense retrieval (embedder)",
    "ner": "named entities (BIO)",
    "relations": "relations between entities",
    "qtype": "question type",
    "answer-type": "expected answer type",
}


@dataclass(frozen=True)
class ShippedModel:
    name: str  # the folder name; ``qa-models:NAME`` in a profile
    kind: str  # a key of PURPOSE
    base: str  # the model an overlay sits on; empty for the question-type classifier
    size_bytes: int  # the folder on disk (an overlay holds only the changed weights)
    headline: str  # from the card; empty when it has no headline line
    path: str

    @property
    def purpose(self) -> str:
        return PURPOSE.get(self.kind, self.kind)

    def to_dict(self) -> dict:
        return {**asdict(self), "spec": f"qa-models:{self.name}", "purpose": self.purpose}


def headline(card: str) -> str:
    """The text of a card's ``**Headline figures**:`` line, or "" when it has none."""
    found = _HEADLINE.search(card)
    return found.group(1) if found else ""


def describe(folder: Path) -> ShippedModel | None:
    """A shipped model's entry, or None for a folder that holds no model."""
    if (folder / OVERLAY_FILE).is_file():
        info = json.loads((folder / OVERLAY_FILE).read_text(encoding="utf-8"))
        kind, base = info.get("kind", ""), info.get("base", "")
    elif (folder / QTYPE_FILE).is_file():
        meta = json.loads((folder / QTYPE_FILE).read_text(encoding="utf-8"))
        kind, base = meta.get("kind", "qtype"), ""
    else:
        return None
    card = folder / CARD
    return ShippedModel(
        name=folder.name,
        kind=kind,
        base=base,
        size_bytes=sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()),
        headline=headline(card.read_text(encoding="utf-8")) if card.is_file() else "",
        path=str(folder),
    )


def shipped_models(models_dir: Path = MODELS_DIR) -> list[ShippedModel]:
    """Every model in ``qa/models/``, by name."""
    folders = sorted(p for p in models_dir.iterdir() if p.is_dir()) if models_dir.is_dir() else []
    return [m for m in map(describe, folders) if m is not None]
