"""BioBERT / BLURB relation TSVs, whose two mentions are replaced by placeholders.

GAD and EU-ADR replace the two mentions by ``@GENE$`` and ``@DISEASE$``: the placeholders
themselves are the entity spans (``text[start:end] == "@GENE$"``); nothing is de-anonymised.
``test.tsv`` has a header and an index column, ``train.tsv`` neither, and the ``dev.tsv``
files are empty (10-fold cross-validation). BLURB-style TSVs with ``@CHEMICAL$``/``@DRUG$``
placeholders and ``CPR:n``/``DDI-type``/``false`` labels load too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from qa.corpus.files import read_lines
from qa.corpus.relations.examples import (
    CHEMICAL,
    CPR_EVALUATED,
    DDI_TYPES,
    DISEASE,
    FAMILIES,
    GENE,
    LABELS,
    NONE,
    RelationExample,
    check_field_count,
    label_family,
    line_error,
    span_entity,
)
from qa.types import Entity

_PLACEHOLDER = re.compile(r"@(GENE|DISEASE|CHEMICAL|DRUG|CHEM-GENE)\$")
_PLACEHOLDER_TYPES = {"GENE": GENE, "DISEASE": DISEASE, "CHEMICAL": CHEMICAL, "DRUG": CHEMICAL}


def _tsv_family(types: Sequence[str]) -> str | None:
    for family, pair in FAMILIES.items():
        if sorted(pair) == sorted(types):
            return family
    return None


def _tsv_label(raw: str, family: str) -> str | None:
    value = raw.strip()
    lowered = value.lower()
    if lowered in ("0", "false", "ddi-false", "none"):
        return NONE
    if lowered == "1":
        single = [lab for lab in LABELS if label_family(lab) == family]
        return single[0] if len(single) == 1 else None
    if family == "chemical-gene" and re.fullmatch(r"CPR:\d+", value.upper()):
        group = value.upper()
        return f"chemical-gene:{group}" if group in CPR_EVALUATED else NONE
    kind = lowered.removeprefix("ddi-")
    if family == "chemical-chemical" and kind in DDI_TYPES:
        return f"chemical-chemical:{kind}"
    return None


def _tsv_corpus(path: Path) -> str:
    name = str(path).lower()
    if "euadr" in name or "eu-adr" in name:
        return "eu-adr"
    if "gad" in name:
        return "gad"
    return "tsv"


def _pair(text: str, raw_label: str, path: Path, lineno: int) -> tuple[Entity, Entity, str, str]:
    """(head, tail, label, family) of one line's two placeholders."""
    found = list(_PLACEHOLDER.finditer(text))
    if len(found) != 2:
        raise line_error(
            path,
            lineno,
            f"{len(found)} entity placeholders; an anonymised line has exactly two "
            "(@GENE$, @DISEASE$, @CHEMICAL$ or @DRUG$)",
        )
    entities = [
        span_entity(text, m.start(), m.end(), _PLACEHOLDER_TYPES[m.group(1)]) for m in found
    ]
    family = _tsv_family([e.label for e in entities])
    label = _tsv_label(raw_label, family) if family else None
    if family is None or label is None:
        raise line_error(
            path,
            lineno,
            f"label {raw_label!r} does not fit a pair of {' and '.join(m.group(0) for m in found)}",
        )
    head_type = FAMILIES[family][0]
    head = next(e for e in entities if e.label == head_type)
    tail = next(e for e in entities if e is not head)
    return head, tail, label, family


def read_tsv(path: str | Path) -> list[RelationExample]:
    """``sentence<TAB>label`` or ``index<TAB>sentence<TAB>label`` lines with two placeholders.

    The placeholders are the mentions. A line whose two mentions are one span (BLURB's
    ``@CHEM-GENE$``) holds no pair that markers could show, and is skipped.
    """
    path = Path(path)
    corpus = _tsv_corpus(path)
    examples: list[RelationExample] = []
    for lineno, raw in read_lines(path, universal_newlines=True):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        fields = line.split("\t")
        if lineno == 1 and fields[0].strip().lower() in ("index", "sentence"):
            continue  # the header of test.tsv
        expected = "expected 'sentence<TAB>label' or 'index<TAB>sentence<TAB>label'"
        check_field_count(fields, (2, 3), path, lineno, expected)
        text, raw_label = fields[-2], fields[-1]
        if "@CHEM-GENE$" in text:
            continue
        head, tail, label, family = _pair(text, raw_label, path, lineno)
        source = f"{path}:{lineno}"
        examples.append(RelationExample(text, head, tail, label, family, corpus, source))
    return examples
