"""Drop tagged spans that cannot be the entity they are tagged as, before relations are sought.

The MiniLM tagger learned from corpora whose sentences rarely hold funding notes, trial
numbers or institutions, so on BioASQ passages it tags "420" (of "420 patients") or "NIH" as a
gene and "classic" (of "classic Bartter's syndrome") as a disease; the relation classifier then
pairs them with every chemical of the sentence ("bb2121 inhibits 420"). Three rules, each a
kind of span the gold corpora hardly tag (on the dev splits they would drop 0 of 9,593 BC5CDR,
0 of 787 NCBI-disease and 0 of 3,061 BC2GM mentions, and 8 of 8,575 JNLPBA ones: promoter
positions such as "- 73"), so dropping them costs almost no true entity:

* a span without a letter ("420", "2.5", "1-3") is a number, not a gene, chemical or disease;
* an institution (an acronym such as NIH, FDA, WHO, or a name with a word such as University,
  Institute, Hospital) is not an entity of any of our types;
* a lone lower-case modifier ("classic", "severe", "familial") is part of a disease's name at
  most, never a disease by itself.

Lists are kept short and explicit on purpose: an acronym that is also a gene symbol (EMA, the
epithelial membrane antigen; ACC, acetyl-CoA carboxylase) is not on them. This runs when
passages are annotated (``Annotator``), not inside ``EntityTagger``, so ``qa eval ner`` still
scores the model's own output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.types import Entity

INSTITUTION_ACRONYMS = frozenset(
    {
        "NIH", "FDA", "WHO", "CDC", "NCI", "NHLBI", "NIAID", "NIMH", "NINDS", "NIDDK", "NHGRI",
        "NLM", "NICE", "NHS", "USDA", "EPA", "ECDC", "IARC", "NCCN", "ASCO", "ESMO", "UNICEF",
        "AHRQ", "NSF", "MRC", "EU", "USA", "UK",
    }
)  # fmt: skip
INSTITUTION_WORDS = frozenset(
    {
        "University", "Universities", "Institute", "Institutes", "Hospital", "Clinic",
        "College", "School", "Department", "Ministry", "Agency", "Administration",
        "Organization", "Organisation", "Foundation", "Association", "Society", "Council",
        "Consortium", "Center", "Centre", "Inc", "Ltd", "Corporation", "Pharmaceuticals",
    }
)  # fmt: skip
MODIFIERS = frozenset(
    {
        "classic", "classical", "typical", "atypical", "severe", "mild", "moderate", "acute",
        "chronic", "familial", "hereditary", "inherited", "congenital", "primary", "secondary",
        "sporadic", "juvenile", "infantile", "adult", "early", "late", "onset", "malignant",
        "benign", "rare", "common", "type", "syndrome", "disease", "disorder", "deficiency",
    }
)  # fmt: skip
_WORD = re.compile(r"[A-Za-z]+")


def implausible(entity: Entity) -> str:
    """Why ``entity`` cannot be what it is tagged as (``number``, ``institution``,
    ``modifier``), or ``""`` when nothing speaks against it."""
    text = entity.text.strip()
    if not any(ch.isalpha() for ch in text):
        return "number"
    if text.strip(".,;:()") in INSTITUTION_ACRONYMS:
        return "institution"
    if any(word in INSTITUTION_WORDS for word in _WORD.findall(text)):
        return "institution"
    if text.lower() == text and text in MODIFIERS:
        return "modifier"
    return ""


def plausible_entities(entities: Sequence[Entity]) -> list[Entity]:
    """``entities`` without the spans :func:`implausible` rules out, in the same order."""
    return [e for e in entities if not implausible(e)]
