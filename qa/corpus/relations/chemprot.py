"""ChemProt as SciBERT ships it: JSON lines of positive pairs marked in the sentence.

The allenai/scibert copy holds *positive* pairs only, with the 13 fine-grained labels, which
are mapped onto the five evaluated groups (CPR:3 up-regulation, CPR:4 down-regulation, CPR:5
agonist, CPR:6 antagonist, CPR:9 substrate/product). Its ``<< >>`` and ``[[ ]]`` markers are
*positional* (``<<`` always marks the pair's first mention in the text, whichever is the
chemical), so the type of each mention is unknown and both get the label ``CHEMICAL|GENE``.
Negatives are derived, optionally: all positive pairs of a sentence form a bipartite graph
(every edge joins a chemical and a gene), and two mentions on opposite sides of one connected
component that are not related become a ``none`` example. These are far fewer than the
official corpus's negatives, so ChemProt figures here are not comparable with published ones
(BioBERT's 76.5 counts the official negatives).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import partial
from pathlib import Path

from qa.corpus.files import loads, read_lines
from qa.corpus.relations.examples import (
    CHEMICAL_OR_GENE,
    CPR_EVALUATED,
    NONE,
    RelationExample,
    line_error,
    overlapping,
    span_entity,
)
from qa.types import Entity

# ChemProt's fine-grained relations and the group each belongs to; only CPR:3/4/5/6/9 are
# evaluated in the shared task, so the others (should a fuller copy hold them) become none.
_CHEMPROT_GROUPS = {
    "UPREGULATOR": "CPR:3",
    "ACTIVATOR": "CPR:3",
    "INDIRECT-UPREGULATOR": "CPR:3",
    "DOWNREGULATOR": "CPR:4",
    "INHIBITOR": "CPR:4",
    "INDIRECT-DOWNREGULATOR": "CPR:4",
    "AGONIST": "CPR:5",
    "AGONIST-ACTIVATOR": "CPR:5",
    "AGONIST-INHIBITOR": "CPR:5",
    "ANTAGONIST": "CPR:6",
    "SUBSTRATE": "CPR:9",
    "PRODUCT-OF": "CPR:9",
    "SUBSTRATE-PRODUCT-OF": "CPR:9",
    "PART-OF": "CPR:1",
    "REGULATOR": "CPR:2",
    "DIRECT-REGULATOR": "CPR:2",
    "INDIRECT-REGULATOR": "CPR:2",
    "MODULATOR": "CPR:7",
    "MODULATOR-ACTIVATOR": "CPR:7",
    "MODULATOR-INHIBITOR": "CPR:7",
    "COFACTOR": "CPR:8",
    "NOT": "CPR:10",
}
_MARKERS = (("<< ", " >>"), ("[[ ", " ]]"))


def _unmark_chemprot(marked: str, path: Path, lineno: int) -> tuple[str, Entity, Entity]:
    """Remove SciBERT's ``<< >>`` / ``[[ ]]`` markers; the two mentions in the clean text."""
    cuts: list[tuple[int, int, int, str]] = []  # (position, marker length, mention, open/close)
    for which, (opening, closing) in enumerate(_MARKERS):
        a = marked.find(opening)
        b = marked.find(closing, a + len(opening)) if a >= 0 else -1
        if a < 0 or b < 0:
            raise line_error(
                path,
                lineno,
                f"no {opening.strip()} ... {closing.strip()} mention marker: ChemProt lines mark "
                "their two mentions as '<< first >>' and '[[ second ]]'",
            )
        cuts += [(a, len(opening), which, "open"), (b, len(closing), which, "close")]
    cuts.sort()
    pieces, where, removed = [], 0, 0
    bounds: dict[tuple[int, str], int] = {}
    for position, length, which, kind in cuts:
        if position < where:
            raise line_error(path, lineno, "the two mention markers overlap one another")
        pieces.append(marked[where:position])
        bounds[(which, kind)] = position - removed
        where = position + length
        removed += length
    pieces.append(marked[where:])
    text = "".join(pieces)
    first, second = (
        span_entity(text, bounds[(i, "open")], bounds[(i, "close")], CHEMICAL_OR_GENE)
        for i in (0, 1)
    )
    if not first.text.strip() or not second.text.strip():
        raise line_error(path, lineno, "an empty mention between markers")
    return text, first, second


def _chemprot_label(raw: str, path: Path, lineno: int) -> str:
    key = raw.strip().upper().replace("_", "-")
    if key in ("FALSE", "NONE", "0"):
        return NONE
    group = _CHEMPROT_GROUPS.get(key) or (key if re.fullmatch(r"CPR:\d+", key) else None)
    if group is None:
        raise line_error(
            path,
            lineno,
            f"unknown ChemProt label {raw!r}; expected one of {sorted(_CHEMPROT_GROUPS)}",
        )
    return f"chemical-gene:{group}" if group in CPR_EVALUATED else NONE


def _bipartite_negatives(pairs: set[frozenset[Entity]]) -> list[tuple[Entity, Entity]]:
    """Unrelated mentions on opposite sides of a sentence's chemical–gene graph."""
    neighbours: dict[Entity, set[Entity]] = defaultdict(set)
    for pair in pairs:
        a, b = tuple(pair)
        neighbours[a].add(b)
        neighbours[b].add(a)
    side: dict[Entity, int] = {}
    negatives: list[tuple[Entity, Entity]] = []
    for root in sorted(neighbours, key=lambda e: (e.start, e.end)):
        if root in side:
            continue
        side[root], component, queue, bipartite = 0, [root], [root], True
        while queue:
            node = queue.pop()
            for other in neighbours[node]:
                if other not in side:
                    side[other] = 1 - side[node]
                    component.append(other)
                    queue.append(other)
                elif side[other] == side[node]:
                    bipartite = False  # an odd cycle: the sides are not chemical/gene
        if not bipartite:
            continue
        component.sort(key=lambda e: (e.start, e.end))
        for i, a in enumerate(component):
            for b in component[i + 1 :]:
                if side[a] != side[b] and frozenset((a, b)) not in pairs and not overlapping(a, b):
                    negatives.append((a, b))
    return negatives


def read_chemprot(path: str | Path, *, negatives: bool = True) -> list[RelationExample]:
    """SciBERT's ChemProt JSON lines; ``negatives`` adds the derived ``none`` pairs."""
    path = Path(path)
    example = partial(RelationExample, family="chemical-gene", corpus="chemprot")
    examples: list[RelationExample] = []
    by_sentence: dict[str, set[frozenset[Entity]]] = defaultdict(set)
    first_line: dict[str, int] = {}
    for lineno, line in read_lines(path, universal_newlines=True):
        if not line.strip():
            continue
        try:
            record = loads(line, f"{path}, line {lineno}")
            marked, raw_label = record["text"], record["label"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise line_error(
                path, lineno, f'not a JSON object with "text" and "label" ({exc})'
            ) from exc
        text, first, second = _unmark_chemprot(str(marked), path, lineno)
        label = _chemprot_label(str(raw_label), path, lineno)
        source, meta = f"{path}:{lineno}", {"fine_label": str(raw_label)}
        examples.append(example(text, first, second, label, source=source, meta=meta))
        by_sentence[text].add(frozenset((first, second)))
        first_line.setdefault(text, lineno)
    if negatives:
        for text, pairs in by_sentence.items():
            source = f"{path}:{first_line[text]}"
            for a, b in _bipartite_negatives(pairs):
                meta = {"derived_negative": True}
                examples.append(example(text, a, b, NONE, source=source, meta=meta))
    return examples
