"""Relations a reader can trust: labels in words, a few good ones per passage, no non-entities.

The shipped MiniLM tagger and relation classifier run here, on passages like those of the
BioASQ 10B answers that showed "AMG → CPR:4 → NIH (gene)" and "bb2121 → CPR:4 → 420 (gene)".
"""

from __future__ import annotations

import re

import pytest

from qa.annotate.entity_filter import implausible, plausible_entities
from qa.annotate.relations import select_relations
from qa.config import load_profile
from qa.corpus.relations.examples import LABELS, NONE, PHRASES, relation_phrase
from qa.types import Annotations, Entity, Hit, Passage, QAResult, Relation

NER = "qa-models:ner-minilm-biomed"
RELATIONS = "qa-models:relations-minilm-biomed"
# A sentence of many chemicals and genes: every typed pair of it is a candidate.
CROWDED = (
    "Aspirin, ibuprofen, naproxen, celecoxib and diclofenac inhibit COX-1 and COX-2, while "
    "dexamethasone suppresses IL-6, TNF-alpha and IL-1beta expression in macrophages."
)
# A funding note and a trial size: NIH and 420 are neither genes nor chemicals.
FUNDED = (
    "In 420 patients, idecabtagene vicleucel (bb2121) targeting BCMA was funded by the NIH and "
    "approved by the FDA; the Johns Hopkins University trial used lenalidomide."
)


@pytest.fixture(scope="module")
def annotator():
    from qa.annotate.annotator import Annotator

    return Annotator(NER, RELATIONS, device="cpu")


def _pair(r: Relation) -> frozenset[str]:
    return frozenset((r.head.text.casefold(), r.tail.text.casefold()))


def test_every_relation_label_reads_as_words_never_as_a_corpus_code() -> None:
    assert set(PHRASES) == set(LABELS) - {NONE}
    for label in LABELS[1:]:
        phrase = relation_phrase(label)
        assert not re.search(r"CPR|:|-|_", phrase), (label, phrase)
    assert relation_phrase("chemical-gene:CPR:4") == "inhibits"
    assert relation_phrase("some-other-model:X") == "is related to"


def test_the_chat_shows_each_relation_as_a_sentence_without_the_raw_label(annotator) -> None:
    from qa.ui.render import render_reply

    found = annotator.annotate(CROWDED)
    assert found.relations
    assert {r.phrase for r in found.relations} <= set(PHRASES.values())
    passage = Passage("p", CROWDED, pmid="1")
    html = render_reply(
        QAResult("q?", "summary", [], [Hit(passage, 1.0)], annotations={"p": found})
    )
    assert "CPR" not in html and "chemical-gene:" not in html
    assert found.relations[0].phrase in html


def test_a_crowded_sentence_shows_at_most_five_relations_each_pair_once(annotator) -> None:
    everything = select_relations(
        annotator.relations.predict(CROWDED, annotator.tagger.tag([CROWDED])[0]), {}
    )
    assert len(everything) > 5  # the model relates most typed pairs of the sentence
    from qa.annotate.annotator import Annotator

    shown = Annotator(NER, RELATIONS, device="cpu", relations_per_passage=5).annotate(CROWDED)
    assert 0 < len(shown.relations) <= 5
    assert len({_pair(r) for r in shown.relations}) == len(shown.relations)
    assert [r.score for r in shown.relations] == sorted(
        (r.score for r in shown.relations), reverse=True
    )


def test_a_family_switched_off_is_not_even_classified(annotator, monkeypatch) -> None:
    from qa.annotate import relations as module
    from qa.annotate.annotator import Annotator

    seen = []
    real = module.predict_pairs
    monkeypatch.setattr(
        module,
        "predict_pairs",
        lambda m, t, pairs, **kw: seen.extend(pairs) or real(m, t, pairs, **kw),
    )
    off = {"chemical-gene": 1.0, "chemical-chemical": 1.0, "chemical-disease": 0.5}
    shown = Annotator(NER, RELATIONS, device="cpu", relation_min_scores=off).annotate(CROWDED)
    assert shown.entities and not shown.relations
    assert seen == []  # the crowded sentence holds chemical pairs only: none went to the model


def test_the_same_pair_is_listed_once_and_weak_relations_are_dropped_by_family() -> None:
    aspirin, cox = Entity(0, 7, "CHEMICAL", "Aspirin"), Entity(17, 22, "GENE", "COX-2")
    again, cox_lower = Entity(40, 47, "CHEMICAL", "aspirin"), Entity(60, 65, "GENE", "cox-2")
    rett, mecp2 = Entity(70, 83, "DISEASE", "Rett syndrome"), Entity(90, 95, "GENE", "MECP2")
    relations = [
        Relation(aspirin, cox, "chemical-gene:CPR:4", 0.7, "inhibits"),
        Relation(again, cox_lower, "chemical-gene:CPR:3", 0.9, "upregulates"),
        Relation(mecp2, rett, "gene-disease:association", 0.6, "is associated with"),
    ]
    kept = select_relations(relations, {"chemical-gene": 0.5, "gene-disease": 0.65})
    assert [(r.head.text, r.phrase) for r in kept] == [("aspirin", "upregulates")]
    assert len(select_relations(relations, {}, limit=1)) == 1
    # A family that reaches the target precision at no score is switched off with 1.0.
    assert select_relations(relations, {"chemical-gene": 1.0}) == [relations[2]]


def test_numbers_and_institutions_are_not_genes_nor_lone_modifiers_diseases() -> None:
    def span(text: str, label: str) -> Entity:
        return Entity(0, len(text), label, text)

    for text, label, why in [
        ("420", "GENE", "number"),
        ("2.5", "CHEMICAL", "number"),
        ("NIH", "GENE", "institution"),
        ("FDA", "CHEMICAL", "institution"),
        ("Johns Hopkins University", "GENE", "institution"),
        ("classic", "DISEASE", "modifier"),
    ]:
        assert implausible(span(text, label)) == why, text
    for text, label in [
        ("MECP2", "GENE"),
        ("IL-6", "GENE"),
        ("EMA", "GENE"),  # epithelial membrane antigen, also an agency's acronym
        ("5-FU", "CHEMICAL"),
        ("asthma", "DISEASE"),
        ("classic Bartter syndrome", "DISEASE"),
    ]:
        assert implausible(span(text, label)) == "", text
    assert plausible_entities([span("420", "GENE"), span("MECP2", "GENE")]) == [
        span("MECP2", "GENE")
    ]


def test_annotation_drops_numbers_and_institutions_before_relating_them(annotator) -> None:
    found = annotator.annotate(FUNDED)
    names = {e.text for e in found.entities}
    assert not names & {"420", "NIH", "FDA"}, found.entities
    assert not any("University" in n for n in names)
    for r in found.relations:
        assert not implausible(r.head) and not implausible(r.tail)


def test_the_thresholds_and_the_cap_come_from_the_profile() -> None:
    from qa.pipeline import QA

    settings = load_profile("embedded").annotate
    scores = settings.relation_min_scores()
    assert set(scores) == {"chemical-disease", "chemical-gene", "chemical-chemical", "gene-disease"}
    assert all(0.5 <= s <= 1 for s in scores.values())
    assert settings.relations_per_passage == 5
    built = QA(None, load_profile("embedded"), device="cpu").components.annotator
    assert built.relation_min_scores == scores
    assert built.relations_per_passage == 5


def test_annotations_keep_the_raw_label_for_evaluation_and_give_the_phrase_to_the_api() -> None:
    a, b = Entity(0, 3, "CHEMICAL", "NaCl"), Entity(4, 8, "GENE", "ENaC")
    shown = Annotations((a, b), (Relation(a, b, "chemical-gene:CPR:4", 0.9, "inhibits"),))
    (relation,) = shown.to_dict()["relations"]
    assert (relation["label"], relation["phrase"]) == ("chemical-gene:CPR:4", "inhibits")
