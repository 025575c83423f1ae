"""The chat UI's renderer: HTML from the pipeline's dataclasses, without Gradio or a browser
(tests/test_ui_server.py tests the app: its chat handler, and the served app in Chromium)."""

from __future__ import annotations

import math
import re

import pytest

from qa.read.confidence import confidences
from qa.types import Annotations, Answer, Entity, Hit, QAResult, Relation, YesNo
from qa.ui.render import highlight, passage_html, pubmed_link, render_reply

TAG = re.compile(r"<[^>]+>")


def visible(markup: str) -> str:
    """The text a browser shows for ``markup`` (tags dropped, entities decoded)."""
    import html

    return html.unescape(TAG.sub("", markup))


def test_highlight_escapes_every_piece_and_keeps_the_text() -> None:
    text = 'Drug <script>alert(1)</script> & "MECP2" in Rett syndrome.'
    entities = [
        Entity(text.index("MECP2"), text.index("MECP2") + 5, "GENE", "MECP2"),
        Entity(text.index("Rett"), text.index("Rett") + 13, "DISEASE", "Rett syndrome"),
    ]
    out = highlight(text, entities, [(text.index("MECP2"), text.index("MECP2") + 5)])
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert visible(out) == text
    assert 'class="qa-ent qa-ent-GENE"' in out and 'class="qa-ent qa-ent-DISEASE"' in out
    assert '<mark class="qa-answer-span">MECP2</mark>' in out


def test_an_answer_inside_an_entity_and_overlapping_entities_render_deterministically() -> None:
    text = "imatinib mesylate inhibits BCR-ABL"
    entities = [
        Entity(0, 17, "CHEMICAL", "imatinib mesylate"),
        Entity(9, 17, "CHEMICAL", "mesylate"),  # nested: the longer, earlier one wins
        Entity(27, 34, "GENE", "BCR-ABL"),
        Entity(24, 30, "DISEASE", "ts BCR"),  # crosses the gene, starts first: kept
        Entity(31, 34, "SPECIES", "ABL"),  # inside the gene, which is dropped: kept
    ]
    first = highlight(text, entities, [(0, 8)], [(0, 8)])
    assert first == highlight(text, list(reversed(entities)), [(0, 8)], [(0, 8)])
    assert visible(first) == text
    assert first.count("qa-ent-CHEMICAL") == 2  # one entity, cut where the answer mark ends
    assert "qa-ent-DISEASE" in first and "qa-ent-SPECIES" in first and "qa-ent-GENE" not in first
    assert '<mark class="qa-answer-span qa-top">imatinib</mark>' in first
    # Spans outside the text are ignored instead of breaking the page.
    assert visible(highlight(text, [Entity(30, 99, "GENE", "x")], [(-1, 4)])) == text


def test_pubmed_links_only_for_numeric_pmids() -> None:
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/12345/"' in pubmed_link("12345")
    assert pubmed_link("") == ""
    odd = pubmed_link('1" onmouseover="alert(1)')
    assert "href" not in odd and "&quot;" in odd


def test_confidences_are_a_softmax_over_the_shown_answers(sample_passages) -> None:
    p = sample_passages[0]
    answers = [Answer("MECP2", 3.0, p, 44, 49), Answer("X", 1.0, p, 0, 1)]
    # exp(3) : exp(1), divided by their sum.
    assert confidences(answers) == pytest.approx([1 / (1 + math.exp(-2)), 1 / (1 + math.exp(2))])
    assert confidences([]) == []


def test_a_reply_shows_answers_evidence_entities_relations_links_and_timings(
    sample_passages,
) -> None:
    rett, imatinib = sample_passages[0], sample_passages[1]
    gene = Entity(44, 49, "GENE", "MECP2")
    disease = Entity(0, 13, "DISEASE", "Rett syndrome")
    result = QAResult(
        question="Which gene is mutated in Rett syndrome?",
        qtype="factoid",
        answers=[
            Answer("MECP2", 5.0, rett, 44, 49, entities=(gene,)),
            Answer("BCR", 1.0, imatinib, 23, 26),
        ],
        hits=[Hit(imatinib, 0.9, {"bm25": 1}), Hit(rett, 0.8, {"bm25": 2, "dense": 1})],
        timings={"retrieve_ms": 12.0, "read_ms": 80.0, "annotate_ms": 20.0, "total_ms": 112.0},
        qtype_source="predicted",
        qtype_probability=0.91,
        annotations={
            rett.id: Annotations(
                (disease, gene),
                (Relation(gene, disease, "gene-disease:association", 0.8, "is associated with"),),
            )
        },
    )
    assert rett.text[44:49] == "MECP2"
    out = render_reply(result)
    shown = visible(out)
    assert "factoid (predicted, p=0.91)" in shown
    assert re.search(r"MECP2\s+98%", shown)  # softmax of 5.0 against 1.0
    # The passage behind the best answer comes first, with its retrieval ranks and link.
    assert shown.index("[2]") < shown.index("[1]")
    assert "bm25 #2, dense #1" in shown
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/1001/"' in out
    # A relation reads as a sentence, its label in words; the model's raw label is not shown.
    assert "MECP2 (gene) is associated with Rett syndrome (disease) 0.80" in shown
    assert "gene-disease:association" not in out
    assert "retrieve 12 ms · read 80 ms · annotate 20 ms · total 112 ms" in shown
    assert '<mark class="qa-answer-span qa-top">MECP2</mark>' in out


def test_yes_no_empty_and_retrieval_only_replies(sample_passages) -> None:
    hit = Hit(sample_passages[2], 1.0)
    evidence = "Evidence (1 of 1 passages):[1] PMID 1003 p3" + sample_passages[2].text
    yes = QAResult(
        "Is metformin used in type 2 diabetes?", "yesno", [], [hit], yesno=YesNo("yes", 0.87)
    )
    assert visible(render_reply(yes)) == (
        "Question type: yesnoYes (probability of yes 0.87)" + evidence
    )
    none = QAResult("Which gene?", "factoid", [], [hit])
    assert visible(render_reply(none)) == (
        "Question type: factoidNo answer was found in the retrieved passages." + evidence
    )
    # What QA.answer gives when the profile names no reader: the passages it retrieved.
    passages = QAResult("Which gene?", "passages", [], [hit], qtype_source="retrieval only")
    assert visible(render_reply(passages)) == (
        "Retrieval only: this profile has no reader." + evidence
    )
    assert visible(passage_html(1, hit, [], None)) == "[1] PMID 1003 p3" + sample_passages[2].text


def test_an_abstaining_reply_says_so_and_shows_evidence_without_answers(sample_passages) -> None:
    passage = sample_passages[0]
    start = passage.text.index("MECP2")
    answer = Answer("MECP2", 3.0, passage, start, start + 5, synonyms=("MeCP2 gene",))
    hits = [Hit(passage, 1.0)]
    answered = QAResult("Which gene?", "factoid", [answer], hits, answerability=4.2)
    shown = visible(render_reply(answered))
    assert "MECP2 (also MeCP2 gene)" in shown
    abstained = QAResult(
        "Which gene?", "factoid", [answer], hits, answerability=-1.5, abstained=True
    )
    out = render_reply(abstained)
    assert "The index holds no confident answer to this question: the best evidence is below." in (
        visible(out)
    )
    assert "qa-answers" not in out and "qa-answer-span" not in out
    assert passage.text in visible(out)


def test_a_yes_no_or_summary_reply_far_from_its_evidence_shows_only_the_evidence(
    sample_passages,
) -> None:
    from qa.types import YesNo

    hits = [Hit(sample_passages[0], 1.0)]
    verdict = YesNo("no", 0.2)
    for abstained in (False, True):
        result = QAResult(
            "Is Paris the capital of France?",
            "yesno",
            [],
            hits,
            yesno=verdict,
            ideal_answer="No. Rett syndrome is caused by MECP2.",
            evidence_similarity=0.1,
            abstained=abstained,
        )
        shown = visible(render_reply(result))
        assert ("No (probability of yes 0.20)" in shown) is not abstained
        assert ("No. Rett syndrome is caused by MECP2." in shown) is not abstained
        assert ("The index holds no confident answer" in shown) is abstained
        assert sample_passages[0].text in shown
