"""Small relation corpora, written as the real files are, shared by the reader and model tests."""

from __future__ import annotations

import json
from pathlib import Path

from qa.types import Entity

TITLE = "Lidocaine-induced cardiac asystole."
ABSTRACT = (
    "Intravenous lidocaine caused profound bradycardia in a man. "
    "Naloxone was given. He later developed seizures."
)
PUBTATOR = f"""354896|t|{TITLE}
354896|a|{ABSTRACT}
354896\t0\t9\tLidocaine\tChemical\tD008012
354896\t18\t34\tcardiac asystole\tDisease\tD006323
354896\t48\t57\tlidocaine\tChemical\tD008012
354896\t74\t85\tbradycardia\tDisease\tD001919
354896\t96\t104\tNaloxone\tChemical\t-1
354896\t135\t143\tseizures\tDisease\tD012640
354896\tCID\tD008012\tD006323
354896\tCID\tD008012\tD001919
354896\tCID\tD008012\tD012640

"""

BIORED_TITLE = "Tamoxifen and CYP2D6 in breast cancer."
BIORED_ABSTRACT = (
    "Tamoxifen lowers ESR1 signalling. CYP2D6 variants do not change breast cancer risk."
)
BIORED = f"""1001|t|{BIORED_TITLE}
1001|a|{BIORED_ABSTRACT}
1001\t0\t9\tTamoxifen\tChemicalEntity\tD013629
1001\t14\t20\tCYP2D6\tGeneOrGeneProduct\t1565
1001\t24\t37\tbreast cancer\tDiseaseOrPhenotypicFeature\tD001943
1001\t39\t48\tTamoxifen\tChemicalEntity\tD013629
1001\t56\t60\tESR1\tGeneOrGeneProduct\t2099
1001\t73\t79\tCYP2D6\tGeneOrGeneProduct\t1565
1001\t103\t116\tbreast cancer\tDiseaseOrPhenotypicFeature\tD001943
1001\tNegative_Correlation\tD013629\t2099\tNovel
1001\tAssociation\tD013629\tD001943\tNo

"""

CHEMPROT = [
    {"text": "<< Aspirin >> irreversibly inhibits [[ COX-1 ]] and COX-2.", "label": "INHIBITOR"},
    {"text": "<< Aspirin >> irreversibly inhibits COX-1 and [[ COX-2 ]].", "label": "INHIBITOR"},
    {"text": "Aspirin irreversibly inhibits << COX-1 >> and [[ COX-2 ]]x.", "label": "INHIBITOR"},
    {"text": "<< Dopamine >> is an [[ D2 receptor ]] agonist and L-dopa.", "label": "AGONIST"},
    {"text": "<< Dopamine >> is an D2 receptor agonist and [[ L-dopa ]].", "label": "PRODUCT-OF"},
]

DDI = """<?xml version="1.0" encoding="UTF-8"?>
<document id="DDI-DrugBank.d1">
    <sentence id="DDI-DrugBank.d1.s0" text="Warfarin with aspirin or beta blocking and calcium channel agents raises bleeding.&#xd;&#xa;">
        <entity id="DDI-DrugBank.d1.s0.e0" charOffset="0-7"
            type="drug" text="Warfarin"/>
        <entity id="DDI-DrugBank.d1.s0.e1" charOffset="14-20"
            type="brand" text="aspirin"/>
        <entity id="DDI-DrugBank.d1.s0.e2" charOffset="25-37;59-64"
            type="group" text="beta blocking agents"/>
        <pair id="DDI-DrugBank.d1.s0.p0" e1="DDI-DrugBank.d1.s0.e0"
            e2="DDI-DrugBank.d1.s0.e1" ddi="true" type="effect"/>
        <pair id="DDI-DrugBank.d1.s0.p1" e1="DDI-DrugBank.d1.s0.e0"
            e2="DDI-DrugBank.d1.s0.e2" ddi="false"/>
    </sentence>
    <sentence id="DDI-DrugBank.d1.s1" text="No interactions were seen.">
    </sentence>
</document>
"""

GAD_TRAIN = (
    "A/A genotype in @GENE$ predicts @DISEASE$ development.\t1\n"
    "No link between @DISEASE$ and the @GENE$ gene was found.\t0\n"
)
GAD_TEST = "index\tsentence\tlabel\n0\tVariants of @GENE$ raise the risk of @DISEASE$.\t1\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def chemprot_file(folder: Path, records=CHEMPROT) -> Path:
    return write(folder / "chemprot.txt", "".join(json.dumps(r) + "\n" for r in records))


def mention(text: str, words: str, label: str = "DISEASE") -> Entity:
    start = text.index(words)
    return Entity(start, start + len(words), label, words)


def assert_offsets_hold(examples) -> None:
    for e in examples:
        assert e.text[e.head.start : e.head.end] == e.head.text
        assert e.text[e.tail.start : e.tail.end] == e.tail.text
