"""BC5CDR CID in PubTator format: document-level relations made sentence-level examples.

:func:`read_pubtator` reads any PubTator file (BioRED's too: :mod:`.biored` makes its examples).

BC5CDR CID is annotated per document (chemical MeSH id, disease MeSH id), not per mention. An
example is a chemical mention and a disease mention *in the same sentence* (the title is a
sentence of its own); it is positive when the document relates any of the chemical's ids to
any of the disease's ids. A CID relation whose chemical and disease never share a sentence (a
*cross-sentence* pair: 282 of 1038 in train, 245 of 1012 in dev, 317 of 1066 in test) yields
no positive example: it is not counted in sentence-level scores at all (neither as a miss nor
as a hit), and :func:`cid_coverage` says how many there are. Overlapping chemical and disease
mentions are not paired. Document-level scores (:mod:`qa.evaluate.relations`) do count them,
as misses. Mentions without a MeSH id (``-1``) are never positive; composite mentions
(``D1|D2``) carry all their ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qa.corpus.files import read_lines
from qa.corpus.relations.examples import (
    CHEMICAL,
    DISEASE,
    GENE,
    NONE,
    RelationExample,
    check_field_count,
    line_error,
    overlapping,
    sentence_groups,
    shifted,
    span_entity,
)
from qa.corpus.split import sentence_spans
from qa.types import Entity

_PUBTATOR_TYPES = {"Chemical": CHEMICAL, "Disease": DISEASE}
# BioRED's names of the same types (its variants, species and cell lines are not read).
BIORED_TYPES = {
    "ChemicalEntity": CHEMICAL,
    "DiseaseOrPhenotypicFeature": DISEASE,
    "GeneOrGeneProduct": GENE,
}
_TITLE_OR_ABSTRACT = re.compile(r"^([^|\t]+)\|([ta])\|(.*)$")


@dataclass(frozen=True)
class Mention:
    entity: Entity
    ids: tuple[str, ...]  # MeSH ids; empty for "-1" (no concept)


@dataclass(frozen=True)
class PubTatorDocument:
    pmid: str
    title: str
    abstract: str
    mentions: tuple[Mention, ...]
    relations: frozenset[tuple[str, str]]  # CID: (chemical id, disease id)
    source: str = ""
    # Other relation lines (BioRED's, of any type): the two concept ids, in either order.
    related: frozenset[frozenset[str]] = frozenset()

    @property
    def text(self) -> str:
        return f"{self.title} {self.abstract}"


@dataclass
class _Block:
    """The document being read: its title line opens it, a blank line or the next title ends it."""

    pmid: str
    title: str
    line: int
    abstract: str = ""
    mentions: list[Mention] = field(default_factory=list)
    relations: set[tuple[str, str]] = field(default_factory=set)
    related: set[frozenset[str]] = field(default_factory=set)

    def document(self, path: Path) -> PubTatorDocument:
        return PubTatorDocument(
            pmid=self.pmid,
            title=self.title,
            abstract=self.abstract,
            mentions=tuple(self.mentions),
            relations=frozenset(self.relations),
            related=frozenset(self.related),
            source=f"{path}:{self.line}",
        )


def _annotation(block: _Block | None, line: str, path: Path, lineno: int) -> None:
    """Add a tab-separated mention or relation line to its document's block."""
    parts = line.split("\t")
    if block is None or parts[0] != block.pmid:
        raise line_error(
            path,
            lineno,
            f"annotation for document {parts[0]!r} outside that document's block "
            "(expected 'PMID|t|title', 'PMID|a|abstract', then tab-separated "
            "annotations)",
        )
    if len(parts) in (4, 5) and not parts[1].isdigit():  # a relation line
        if parts[1] == "CID":
            block.relations.add((parts[2], parts[3]))
        else:
            block.related.add(frozenset(parts[2:4]))
        return
    check_field_count(
        parts,
        (6, 7),
        path,
        lineno,
        "a mention line has 6 or 7 (PMID, start, end, text, type, ids[, names]) "
        "and a relation line 4 or 5",
    )
    try:
        start, end = int(parts[1]), int(parts[2])
    except ValueError:
        raise line_error(
            path, lineno, f"offsets {parts[1]!r}, {parts[2]!r} are not integers"
        ) from None
    text = f"{block.title} {block.abstract}"
    if not 0 <= start < end <= len(text) or text[start:end] != parts[3]:
        raise line_error(
            path,
            lineno,
            f"mention {parts[3]!r} at {start}-{end} does not match the text there "
            f"({text[start:end]!r})",
        )
    label = _PUBTATOR_TYPES.get(parts[4]) or BIORED_TYPES.get(parts[4])
    if label:
        ids = tuple(i for i in re.split(r"[|,;]", parts[5]) if i and i != "-1")
        block.mentions.append(Mention(span_entity(text, start, end, label), ids))


def read_pubtator(path: str | Path) -> list[PubTatorDocument]:
    """Documents of a PubTator file (``pmid|t|``, ``pmid|a|``, mention and relation lines)."""
    path = Path(path)
    documents: list[PubTatorDocument] = []
    block: _Block | None = None
    for lineno, raw in read_lines(path, universal_newlines=True):
        line = raw.rstrip("\r\n")
        head = _TITLE_OR_ABSTRACT.match(line) if line.strip() else None
        if not line.strip() or (head and head.group(2) == "t"):
            if block is not None:
                documents.append(block.document(path))
            block = _Block(head.group(1), head.group(3), lineno) if head else None
        elif head:
            pmid = head.group(1)
            if block is None or block.pmid != pmid:
                raise line_error(path, lineno, f"abstract of {pmid} without its title line")
            block.abstract = head.group(3)
        else:
            _annotation(block, line, path, lineno)
    if block is not None:
        documents.append(block.document(path))
    return documents


def document_spans(doc: PubTatorDocument) -> list[tuple[int, int]]:
    offset = len(doc.title) + 1
    return sentence_spans(doc.title) + [
        (s + offset, e + offset) for s, e in sentence_spans(doc.abstract)
    ]


def examples_from_cid(
    documents: Iterable[PubTatorDocument], corpus: str = "bc5cdr-cid"
) -> list[RelationExample]:
    """Sentence-level chemical–disease mention pairs, labelled from the document's CID set."""
    examples: list[RelationExample] = []
    for doc in documents:
        text = doc.text
        ids = {m.entity: m.ids for m in doc.mentions}
        groups = sentence_groups(text, [m.entity for m in doc.mentions], document_spans(doc))
        for index, (start, end, members) in enumerate(groups):
            chemicals = [e for e in members if e.label == CHEMICAL]
            diseases = [e for e in members if e.label == DISEASE]
            for chemical in chemicals:
                for disease in diseases:
                    if overlapping(chemical, disease):
                        continue
                    pairs = {(c, d) for c in ids[chemical] for d in ids[disease]}
                    positive = bool(pairs & doc.relations)
                    examples.append(
                        RelationExample(
                            text=text[start:end],
                            head=shifted(chemical, start),
                            tail=shifted(disease, start),
                            label="chemical-disease:induces" if positive else NONE,
                            family="chemical-disease",
                            corpus=corpus,
                            source=doc.source,
                            meta={
                                "document": doc.pmid,
                                "sentence": index,
                                "head_ids": ids[chemical],
                                "tail_ids": ids[disease],
                            },
                        )
                    )
    return examples


def cid_coverage(documents: Iterable[PubTatorDocument]) -> dict[str, int]:
    """How many CID relations a sentence-level model can find at all.

    ``within_sentence``: relations whose chemical and disease share at least one sentence;
    ``cross_sentence``: the rest, which yield no positive sentence-level example.
    """
    documents = list(documents)
    found: set[tuple[str, str, str]] = set()
    for e in examples_from_cid(documents):
        if e.label != NONE:
            for c in e.meta["head_ids"]:
                for d in e.meta["tail_ids"]:
                    found.add((e.meta["document"], c, d))
    gold = {(doc.pmid, c, d) for doc in documents for c, d in doc.relations}
    return {
        "documents": len(documents),
        "relations": len(gold),
        "within_sentence": len(gold & found),
        "cross_sentence": len(gold - found),
    }


def read_bc5cdr_cid(path: str | Path) -> list[RelationExample]:
    return examples_from_cid(read_pubtator(path))
