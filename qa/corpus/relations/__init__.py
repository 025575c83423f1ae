"""Relation corpora as sentence-level pair examples over one shared label vocabulary.

One model is trained on four corpora that each annotate one *family* of pairs, so every label
is named ``family:relation`` and the family is known for every pair (from its entity types):

==================  ===================================  =========================================
family              labels                               corpus (format as in ../shared/data)
==================  ===================================  =========================================
chemical-disease    ``chemical-disease:induces``         BC5CDR CID (PubTator, document-level)
chemical-gene       ``chemical-gene:CPR:3/4/5/6/9``      ChemProt (SciBERT JSON lines)
chemical-chemical   ``chemical-chemical:advise/effect/   DDI-2013 (the challenge's XML)
                    int/mechanism``
gene-disease        ``gene-disease:association``         GAD, EU-ADR (BioBERT TSV, anonymised)
==================  ===================================  =========================================

plus ``none``. BioRED (PubTator too) gives every family's pairs, related or not
(:mod:`.biored`). The classifier only lets a pair choose among its family's labels and
``none``, so one softmax serves four tasks without a chemical–gene pair ever being called an
interaction between drugs.

Each format has its reader, with the quirks of the copies in ../shared/data and what is done
about them in its docstring: :mod:`.pubtator` (BC5CDR CID), :mod:`.biored`, :mod:`.chemprot`,
:mod:`.ddi` and :mod:`.tsv` (GAD, EU-ADR, BLURB); :mod:`.examples` holds what they share. This module tells a
file's format and reads it. Every mention offset is a character offset into
``RelationExample.text`` and ``text[start:end] == entity.text`` holds. A malformed line raises
:class:`~qa.errors.CorpusFormatError` naming the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from qa.corpus.files import read_lines
from qa.corpus.relations.biored import read_biored
from qa.corpus.relations.chemprot import read_chemprot
from qa.corpus.relations.ddi import read_ddi
from qa.corpus.relations.examples import RelationExample
from qa.corpus.relations.pubtator import BIORED_TYPES, read_bc5cdr_cid
from qa.corpus.relations.tsv import read_tsv
from qa.errors import CorpusFormatError


def corpus_format(path: str | Path) -> str:
    """Which reader a file or folder needs, from its name and first line."""
    path = Path(path)
    if path.is_dir():
        if any(path.rglob("*.xml")):
            return "ddi"
        raise CorpusFormatError(f"{path} is a folder without DDI-2013 *.xml files.")
    if not path.is_file():
        raise CorpusFormatError(f"{path} does not exist.")
    if path.suffix.lower() == ".xml":
        return "ddi"
    if path.suffix.lower() == ".tsv":
        return "tsv"
    if "pubtator" in path.name.lower():
        return "biored" if _biored_types(path) else "pubtator"
    first = next(
        (line for _, line in read_lines(path, universal_newlines=True) if line.strip()), ""
    )
    if first.lstrip().startswith("{"):
        return "chemprot"
    if re.match(r"^[^|\t]+\|t\|", first):
        return "biored" if _biored_types(path) else "pubtator"
    raise CorpusFormatError(
        f"Cannot tell the format of {path}: give a BC5CDR or BioRED PubTator file, a ChemProt "
        "JSON-lines file, a DDI-2013 XML file or folder, or a BioBERT-style TSV (.tsv)."
    )


def _biored_types(path: Path, lines: int = 500) -> bool:
    """Whether the first ``lines`` of a PubTator file name a mention with a BioRED type."""
    for lineno, line in read_lines(path, universal_newlines=True):
        if lineno > lines:
            break
        parts = line.split("\t")
        if len(parts) >= 6 and parts[4] in BIORED_TYPES:
            return True
    return False


def read_relations(
    paths: Sequence[str | Path], *, chemprot_negatives: bool = True
) -> list[RelationExample]:
    """Examples from every file or folder, each read with the reader its format needs."""
    examples: list[RelationExample] = []
    for path in paths:
        kind = corpus_format(path)
        if kind == "pubtator":
            examples.extend(read_bc5cdr_cid(path))
        elif kind == "biored":
            examples.extend(read_biored(path))
        elif kind == "chemprot":
            examples.extend(read_chemprot(path, negatives=chemprot_negatives))
        elif kind == "ddi":
            examples.extend(read_ddi(path))
        else:
            examples.extend(read_tsv(path))
    return examples
