"""Clean answer spans: none across a sentence, one answer per entity, enumerations folded."""

from __future__ import annotations

import pytest

from qa.read.clean import (
    answer_key,
    balanced,
    fold_enumerations,
    within_sentences,
    without_echoes,
)
from qa.read.reader import Span, aggregate
from qa.types import Answer, Passage

from .conftest import BIOASQ

TEXT = (
    "Rett syndrome is caused by mutations in the MECP2 gene on the X chromosome. "
    "MECP2 encodes methyl-CpG binding protein 2 (MeCP2). Some patients carry MECP2 or CDKL5 "
    "mutations."
)
PASSAGE = Passage("p1", TEXT)


def span_of(text: str, score: float, nth: int = 0) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(text, start + 1)
    return Span(0, start, start + len(text), score)


def test_a_span_across_a_sentence_boundary_is_dropped():
    crossing = span_of("MECP2 gene on the X chromosome. MECP2 encodes", 9.0)
    inside = span_of("MECP2 gene on the X chromosome", 8.0)
    assert within_sentences([crossing, inside], [PASSAGE]) == [inside]


def test_names_of_the_same_thing_share_a_key():
    assert answer_key("MECP2 gene") == answer_key("MeCP2") == "mecp2"
    assert answer_key("methyl-CpG binding protein 2 (MeCP2)") == "mecp2"
    assert answer_key("BRCA1 mutations") == answer_key("brca1") == "brca1"
    assert answer_key("HER2 receptor.") == "her2"
    assert answer_key("gene") == "gene"  # nothing but the kind word: kept as it is
    assert answer_key("Imatinib") != answer_key("imatinib mesylate")


def test_spans_of_one_entity_merge_into_one_answer_with_all_their_support():
    spans = [
        span_of("MECP2", 7.0),
        span_of("MECP2 gene", 6.5),
        span_of("MeCP2", 5.0),
        span_of("X chromosome", 4.0),
    ]
    answers = aggregate(spans, [PASSAGE], 5)
    assert [a.text for a in answers] == ["MECP2", "X chromosome"]
    assert len(answers[0].support) == 3
    assert answers[0].score > 7.0  # the occurrences add up


def test_an_enumeration_holding_a_better_answer_is_folded_into_it():
    def answer(text: str, score: float) -> Answer:
        start = TEXT.index(text)
        return Answer(
            text, score, PASSAGE, start, start + len(text), support=(("p1", start, 0, score),)
        )

    best, enumeration, other = (
        answer("MECP2", 9.0),
        answer("MECP2 or CDKL5", 8.0),
        answer("CDKL5", 7.0),
    )
    folded = fold_enumerations([enumeration, other, best])
    assert [a.text for a in folded] == ["MECP2", "CDKL5"]
    assert len(folded[0].support) == 2
    # Nothing better to fold into: the enumeration stays an answer of its own.
    assert [a.text for a in fold_enumerations([enumeration, other])] == ["MECP2 or CDKL5", "CDKL5"]


@pytest.mark.integration
def test_the_shipped_reader_answers_a_real_batch_without_repeats_or_sentence_crossing(
    shared_file,
):
    from qa.corpus.bioasq import load_golden, snippet_passages
    from qa.corpus.split import sentence_spans
    from qa.pipeline import QA

    qa = QA.load(None, "embedded", device="cpu")
    asked = 0
    for q in load_golden([shared_file(BIOASQ)]):
        if q.type not in ("factoid", "list"):
            continue
        result = qa.answer(q.body, list(snippet_passages(q.snippets)), q.type, annotate=False)
        keys = [answer_key(a.text) for a in result.answers]
        assert len(keys) == len(set(keys)), [a.text for a in result.answers]
        for a in result.answers:
            bounds = sentence_spans(a.passage.text)
            assert any(s <= a.start and a.end <= e for s, e in bounds), a.text
        asked += 1
    assert asked > 40


def test_a_bracket_without_its_pair_is_cut_off():
    text = "Antibodies: TEV-48125 (fremanezumab), LY2951742 (galcanezumab) and [ALD403."
    passage = Passage("p", text)

    def trimmed(piece: str) -> str:
        start = text.index(piece)
        (span,) = balanced([Span(0, start, start + len(piece), 1.0)], [passage])
        return text[span.start : span.end]

    assert trimmed("galcanezumab)") == "galcanezumab"
    assert trimmed("TEV-48125 (fremanezumab") == "TEV-48125"
    assert trimmed("LY2951742 (galcanezumab)") == "LY2951742 (galcanezumab)"
    assert trimmed("[ALD403") == "ALD403"
    assert balanced([Span(0, text.index(")"), text.index(")") + 1, 1.0)], [passage]) == []


def test_an_abbreviation_defined_in_a_passage_is_found_with_its_long_form():
    from qa.read.abbreviations import abbreviation_pairs

    found = abbreviation_pairs(
        "Imatinib treats chronic myeloid leukemia (CML). Levels of tumor necrosis factor "
        "alpha (TNF-alpha; a cytokine) rose in 2010 (n = 5) and in heat shock protein 90 "
        "(Hsp90) assays (see below)."
    )
    assert found == {
        "CML": "chronic myeloid leukemia",
        "TNF-alpha": "tumor necrosis factor alpha",
        "Hsp90": "heat shock protein 90",
    }


def test_a_bracket_whose_letters_do_not_line_up_is_no_abbreviation():
    from qa.read.abbreviations import abbreviation_pairs

    assert abbreviation_pairs("Patients were treated with imatinib (STI) daily.") == {}


def test_a_long_form_and_its_abbreviation_merge_into_one_answer_listing_both():
    spans = [span_of("MeCP2", 4.0), span_of("methyl-CpG binding protein 2", 3.0)]
    [answer] = aggregate(spans, [PASSAGE], top_k=5)
    assert answer.text == "MeCP2"
    assert answer.synonyms == ("methyl-CpG binding protein 2",)
    assert len(answer.support) == 2
    # The submission lists the synonyms after the answer, as the BioASQ format allows.
    from qa.types import QAResult

    result = QAResult("q", "factoid", [answer], [])
    assert result.exact_answer() == [["MeCP2", "methyl-CpG binding protein 2"]]


@pytest.mark.parametrize(
    "variants", [("IL-6", "IL 6", "IL6", "il-6"), ("TNF-α", "TNF-alpha", "TNF alpha")]
)
def test_spelling_variants_share_a_key(variants):
    assert len({answer_key(v) for v in variants}) == 1


def test_a_leading_article_or_a_kind_word_makes_no_second_answer_and_no_synonym():
    assert answer_key("the MECP2 gene") == answer_key("MECP2")
    spans = [span_of("MECP2", 5.0), span_of("MECP2 gene", 4.0)]
    [answer] = aggregate(spans, [PASSAGE], top_k=5)
    assert answer.text == "MECP2" and answer.synonyms == ()


def _answer(text: str, synonyms: tuple[str, ...] = ()) -> Answer:
    start = TEXT.index(text)
    return Answer(text, 1.0, PASSAGE, start, start + len(text), synonyms=synonyms)


def test_an_answer_naming_the_questions_subject_goes_and_the_others_stay():
    answers = [_answer("Rett syndrome"), _answer("MECP2"), _answer("X chromosome")]
    kept = without_echoes("Which gene is mutated in Rett syndrome?", answers)
    assert [a.text for a in kept] == ["MECP2", "X chromosome"]
    # Whole words only ("MeCP2" is no phrase of "MeCP2E1"), and every name must echo.
    asked = "Which cells express the MeCP2E1 isoform?"
    assert [a.text for a in without_echoes(asked, [_answer("MeCP2")])] == ["MeCP2"]
    long_form = _answer("MECP2", synonyms=("methyl-CpG binding protein 2",))
    assert without_echoes("What is MECP2?", [long_form]) == [long_form]
    assert without_echoes("What does MECP2 stand for?", [_answer("MECP2")]) == []


def test_a_choice_question_keeps_the_answers_it_names():
    answers = [_answer("MECP2"), _answer("CDKL5")]
    assert without_echoes("Is Rett syndrome caused by MECP2 or CDKL5?", answers) == answers
