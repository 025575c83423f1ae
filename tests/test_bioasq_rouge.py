"""ROUGE-2 and ROUGE-SU4 of ideal answers against values worked out by hand."""

from __future__ import annotations

import pytest

from qa.errors import CorpusFormatError
from qa.evaluate.bioasq import evaluate_phase_b
from qa.evaluate.bioasq.rouge import (
    mean_rouge,
    rouge_scores,
    rouge_tokens,
    skip_bigrams_and_unigrams,
)

CAT = "the cat sat on the mat"
LAY = "the cat lay on the mat"


def test_tokens_are_lower_cased_alphanumeric_words_stemmed_when_longer_than_three_letters():
    # "Rett-Syndrome," splits on the hyphen and comma; Porter: syndrome -> syndrom,
    # genes -> gene, mutated and mutations -> mutat; "cats" (4 letters) -> cat, "was" stays.
    assert rouge_tokens("Rett-Syndrome, MECP2! Genes mutated; mutations was cats") == [
        "rett",
        "syndrom",
        "mecp2",
        "gene",
        "mutat",
        "mutat",
        "was",
        "cat",
    ]


def test_rouge_2_counts_shared_bigrams():
    # Bigrams, 5 on each side: the-cat, cat-sat / cat-lay, sat-on / lay-on, on-the, the-mat.
    # Shared: the-cat, on-the, the-mat = 3, so recall = precision = F1 = 3/5.
    scores = rouge_scores(CAT, [LAY])
    assert scores["rouge2_recall"] == pytest.approx(0.6)
    assert scores["rouge2_f1"] == pytest.approx(0.6)


def test_rouge_su4_adds_unigrams_to_skip_bigrams():
    # 6 words each, so every ordered pair is within 4 skipped words: 15 pairs + 6 unigrams = 21
    # units per side. Unigrams shared: the x2, cat, on, mat = 5. Pairs shared: the 10 pairs of
    # positions {0, 1, 3, 4, 5}, the same words in both; none with "sat" or "lay". Recall =
    # precision = F1 = 15/21 = 5/7.
    scores = rouge_scores(CAT, [LAY])
    assert scores["rougesu4_recall"] == pytest.approx(5 / 7)
    assert scores["rougesu4_f1"] == pytest.approx(5 / 7)


def test_skip_bigrams_skip_at_most_four_words():
    # 7 words: 21 ordered pairs, less (a, g) with 5 words between = 20, plus 7 unigrams = 27.
    units = skip_bigrams_and_unigrams(list("abcdefg"))
    assert sum(units.values()) == 27
    assert ("a", "f") in units and ("a", "g") not in units
    assert ("a",) in units


def test_counts_are_clipped():
    # System "a b a b": bigrams a-b x2, b-a. Reference "a b": a-b once. Hits = min(2, 1) = 1:
    # recall 1/1, precision 1/3, F1 = 2 * 1/3 / (4/3) = 0.5.
    scores = rouge_scores("a b a b", ["a b"])
    assert scores["rouge2_recall"] == pytest.approx(1.0)
    assert scores["rouge2_f1"] == pytest.approx(0.5)


def test_each_measure_takes_its_best_reference():
    # System "a b c" against "a b": ROUGE-2 hits 1 of 1 (R 1, P 1/2, F1 2/3); against
    # "a b c d": hits 2 of 3 (R 2/3, P 1, F1 0.8). Best recall comes from the first, best F1
    # from the second. SU4: "a b" has 3 units, all in "a b c" (6 units): R 1, P 1/2, F1 2/3;
    # "a b c d" has 4 + 6 = 10 units, 6 shared: R 0.6, P 1, F1 0.75.
    scores = rouge_scores("a b c", ["a b", "a b c d"])
    assert scores == pytest.approx(
        {"rouge2_recall": 1.0, "rouge2_f1": 0.8, "rougesu4_recall": 1.0, "rougesu4_f1": 0.75}
    )


def test_nothing_to_compare_scores_zero():
    zero = dict.fromkeys(("rouge2_recall", "rouge2_f1", "rougesu4_recall", "rougesu4_f1"), 0.0)
    assert rouge_scores("", [CAT]) == zero
    assert rouge_scores(CAT, []) == zero
    assert rouge_scores("dog", [CAT]) == zero


def test_mean_over_questions():
    # (CAT vs LAY: R2 0.6) and (CAT vs CAT: R2 1) -> 0.8; SU4 recall (5/7 + 1) / 2 = 6/7.
    means = mean_rouge([(CAT, [LAY]), (CAT, [CAT])])
    assert means["rouge2_recall"] == pytest.approx(0.8)
    assert means["rougesu4_recall"] == pytest.approx(6 / 7)
    assert means["questions"] == 2
    assert mean_rouge([])["questions"] == 0


def _q(qid: str, qtype: str, ideal=None, exact=None) -> dict:
    question = {"id": qid, "type": qtype}
    if ideal is not None:
        question["ideal_answer"] = ideal
    if exact is not None:
        question["exact_answer"] = exact
    return question


def test_phase_b_scores_summary_questions_and_all_questions_with_an_ideal_answer():
    gold = [
        _q("s1", "summary", [LAY, "unrelated words here"]),
        _q("s2", "summary", [CAT]),  # missing from the submission: 0 for summary, not in all
        _q("s3", "summary"),  # no gold ideal answer: not scored
        _q("y1", "yesno", [CAT], exact="yes"),
    ]
    sub = [_q("s1", "summary", CAT), _q("s3", "summary", CAT), _q("y1", "yesno", CAT, "yes")]
    ideal = evaluate_phase_b(gold, sub, 9)["ideal"]
    # summary: s1 (R2 0.6) and s2 (0) -> 0.3 over 2 questions.
    assert ideal["summary"]["questions"] == 2
    assert ideal["summary"]["rouge2_recall"] == pytest.approx(0.3)
    # all: s1 (0.6) and y1 (1.0) -> 0.8 over 2 questions.
    assert ideal["all"]["questions"] == 2
    assert ideal["all"]["rouge2_recall"] == pytest.approx(0.8)


def test_a_submitted_list_of_ideal_answers_is_scored_on_its_first():
    gold = [_q("s1", "summary", [CAT])]
    sub = [_q("s1", "summary", [LAY, CAT])]
    assert evaluate_phase_b(gold, sub, 9)["ideal"]["summary"]["rouge2_recall"] == pytest.approx(0.6)


def test_an_ideal_answer_that_is_not_text_is_refused():
    with pytest.raises(CorpusFormatError, match="question s1: 'ideal_answer' must be a string"):
        evaluate_phase_b([_q("s1", "summary", {"text": CAT})], [], 9)
