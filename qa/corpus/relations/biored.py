"""BioRED (PubTator format) as sentence-level pairs of every family, related or not.

BioRED annotates every relation an abstract states between its chemicals, diseases and genes,
so a pair of its concepts without a relation line is a real negative: the kind of pair the
chat meets and that ChemProt's copy in ../shared/data (related pairs almost only) cannot
teach. Its relation types are not ours, so a pair is labelled :data:`RELATED` when the
abstract relates the two concepts in any way and ``none`` otherwise. Training keeps only the
``none`` pairs (``related`` is no label of the model); threshold tuning
(``benchmarks/tune_relations.py``) scores "related or not" on the dev split.

Trained on beside this project's corpora, these negatives cost more than they gave (the
relation model's card, "Levers tried"): GAD's gene-disease positives are anonymised sentences,
so every plain-text gene-disease pair came to look unrelated.

Pairs are built as for BC5CDR CID: two mentions in one sentence (the title is one), not
overlapping, of two different concepts, whose types fit a family.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from qa.corpus.relations.examples import (
    NONE,
    RelationExample,
    overlapping,
    pair_family,
    sentence_groups,
    shifted,
)
from qa.corpus.relations.pubtator import PubTatorDocument, document_spans, read_pubtator

RELATED = "related"


def examples_from_biored(documents: Iterable[PubTatorDocument]) -> list[RelationExample]:
    """Every family's mention pairs of one sentence, labelled :data:`RELATED` or ``none``."""
    examples: list[RelationExample] = []
    for doc in documents:
        text = doc.text
        ids = {m.entity: frozenset(m.ids) for m in doc.mentions}
        groups = sentence_groups(text, [m.entity for m in doc.mentions], document_spans(doc))
        for start, end, members in groups:
            for n, a in enumerate(members):
                for b in members[n + 1 :]:
                    found = pair_family(a, b)
                    if found is None or overlapping(a, b) or ids[a] & ids[b]:
                        continue  # no family, or one concept named twice
                    family, head, tail = found
                    related = any(frozenset((x, y)) in doc.related for x in ids[a] for y in ids[b])
                    examples.append(
                        RelationExample(
                            text=text[start:end],
                            head=shifted(head, start),
                            tail=shifted(tail, start),
                            label=RELATED if related else NONE,
                            family=family,
                            corpus=f"biored-{family}",
                            source=doc.source,
                        )
                    )
    return examples


def read_biored(path: str | Path) -> list[RelationExample]:
    return examples_from_biored(read_pubtator(path))
