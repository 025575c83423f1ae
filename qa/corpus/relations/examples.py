"""What every relation corpus reader shares: the label vocabulary and the example type.

One model is trained on corpora that each annotate one *family* of pairs, so every label is
named ``family:relation`` and a pair's family follows from its entity types. Keeping the
vocabulary, :class:`RelationExample` and the sentence grouping here lets each format's reader,
the classifier and its trainer agree on them without depending on one another.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qa.corpus.split import sentence_spans
from qa.errors import CorpusFormatError
from qa.types import Entity

NONE = "none"
CHEMICAL, DISEASE, GENE = "CHEMICAL", "DISEASE", "GENE"
CHEMICAL_OR_GENE = "CHEMICAL|GENE"  # a ChemProt mention: one of the two, which one is unknown

# Family -> (type of the head, type of the tail). Chemical–chemical pairs are symmetric.
FAMILIES: dict[str, tuple[str, str]] = {
    "chemical-disease": (CHEMICAL, DISEASE),
    "chemical-gene": (CHEMICAL, GENE),
    "chemical-chemical": (CHEMICAL, CHEMICAL),
    "gene-disease": (GENE, DISEASE),
}
LABELS: tuple[str, ...] = (
    NONE,
    "chemical-disease:induces",
    "chemical-gene:CPR:3",
    "chemical-gene:CPR:4",
    "chemical-gene:CPR:5",
    "chemical-gene:CPR:6",
    "chemical-gene:CPR:9",
    "chemical-chemical:advise",
    "chemical-chemical:effect",
    "chemical-chemical:int",
    "chemical-chemical:mechanism",
    "gene-disease:association",
)

# What each label says, as the words between head and tail ("aspirin inhibits COX-2"): the
# text the chat and the API show. The raw label stays on the Relation for evaluation, but a
# reader should never have to know that ChemProt's CPR:4 means "inhibits". The head is the
# chemical of a chemical–gene or chemical–disease pair and the gene of a gene–disease pair, so
# each phrase reads from head to tail; DDI pairs are symmetric, and so are their phrases.
PHRASES: dict[str, str] = {
    "chemical-disease:induces": "induces",  # BC5CDR CID: chemical-induced disease
    "chemical-gene:CPR:3": "upregulates",  # ChemProt: upregulator, activator
    "chemical-gene:CPR:4": "inhibits",  # downregulator, inhibitor
    "chemical-gene:CPR:5": "is an agonist of",
    "chemical-gene:CPR:6": "is an antagonist of",
    "chemical-gene:CPR:9": "is a substrate or product of",
    "chemical-chemical:advise": "needs caution with",  # DDI-2013: advice on the combination
    "chemical-chemical:effect": "changes the effect of",  # pharmacodynamic
    "chemical-chemical:mechanism": "changes the levels of",  # pharmacokinetic
    "chemical-chemical:int": "interacts with",
    "gene-disease:association": "is associated with",  # GAD, EU-ADR
}
UNKNOWN_PHRASE = "is related to"  # a label of another model's vocabulary


def relation_phrase(label: str) -> str:
    """The words shown for ``label``; never the raw code (``CPR:4``) of a corpus."""
    return PHRASES.get(label, UNKNOWN_PHRASE)


# Entity labels of other tag sets that mean the same type.
_TYPE_ALIASES = {
    "CHEMICAL": CHEMICAL,
    "CHEMICALENTITY": CHEMICAL,
    "DRUG": CHEMICAL,
    "SIMPLE_CHEMICAL": CHEMICAL,
    "DISEASE": DISEASE,
    "DISEASEORPHENOTYPICFEATURE": DISEASE,
    "GENE": GENE,
    "PROTEIN": GENE,
    "GENEORGENEPRODUCT": GENE,
    "GENE_OR_GENE_PRODUCT": GENE,
}


def entity_type(label: str) -> str | None:
    return _TYPE_ALIASES.get(label.strip().upper())


def pair_family(a: Entity, b: Entity) -> tuple[str, Entity, Entity] | None:
    """The family of two entities and which is the head, or None when no family fits.

    The head is the chemical of a chemical–disease or chemical–gene pair and the gene of a
    gene–disease pair; in a chemical–chemical pair it is the one that comes first.
    """
    ta, tb = entity_type(a.label), entity_type(b.label)
    if a.start > b.start:
        a, b, ta, tb = b, a, tb, ta
    for family, (head, tail) in FAMILIES.items():
        if (ta, tb) == (head, tail):
            return family, a, b
        if (tb, ta) == (head, tail):
            return family, b, a
    return None


# Only these ChemProt groups are evaluated in the shared task; the others become none.
CPR_EVALUATED = {"CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9"}
DDI_TYPES = {"advise", "effect", "int", "mechanism"}


def label_family(label: str) -> str:
    """The family a label belongs to (``""`` for ``none`` and for labels of other models)."""
    family = label.split(":", 1)[0]
    return family if family in FAMILIES else ""


@dataclass(frozen=True)
class RelationExample:
    """One entity pair in one sentence, with its gold label.

    ``family`` is set even when the label is ``none``: it says which labels the pair could
    have had. ``source`` is ``file:line`` of the annotation, for audits and error messages.
    """

    text: str
    head: Entity
    tail: Entity
    label: str
    family: str
    corpus: str = ""
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def line_error(path: Path | str, line: int, what: str) -> CorpusFormatError:
    """The error of a malformed line, naming the file and line as every reader does."""
    return CorpusFormatError(f"{path}, line {line}: {what}")


def check_field_count(
    fields: Sequence[str], counts: tuple[int, ...], path: Path | str, line: int, expected: str
) -> None:
    """Refuse a tab-separated line whose number of fields is not one of ``counts``."""
    if len(fields) not in counts:
        raise line_error(path, line, f"{len(fields)} tab-separated fields; {expected}")


def span_entity(text: str, start: int, end: int, label: str) -> Entity:
    return Entity(start=start, end=end, label=label, text=text[start:end])


def shifted(entity: Entity, offset: int) -> Entity:
    return replace(entity, start=entity.start - offset, end=entity.end - offset)


def overlapping(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def sentence_groups(
    text: str, entities: Sequence[Entity], spans: Sequence[tuple[int, int]] | None = None
) -> list[tuple[int, int, list[Entity]]]:
    """Sentences of ``text`` with the entities inside each, as ``(start, end, entities)``.

    Relations are only looked for within one of these, in training data and at prediction
    time alike. A sentence boundary that would cut an entity in two (an abbreviation the
    splitter mistook for a sentence end) is dropped, so every entity lies inside one group.
    """
    groups = [list(span) for span in (spans if spans is not None else sentence_spans(text))]
    if not groups:
        return []
    members: list[list[Entity]] = [[] for _ in groups]
    for entity in sorted(entities, key=lambda e: (e.start, e.end)):
        i = max(0, bisect.bisect_right([g[0] for g in groups], entity.start) - 1)
        while i + 1 < len(groups) and entity.end > groups[i][1]:
            groups[i][1] = groups[i + 1][1]  # the entity runs across a split point: undo it
            del groups[i + 1]
            members[i].extend(members.pop(i + 1))
        groups[i] = [min(groups[i][0], entity.start), max(groups[i][1], entity.end)]
        members[i].append(entity)
    return [(start, end, found) for (start, end), found in zip(groups, members)]
