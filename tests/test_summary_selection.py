"""Ideal-answer sentences: relevant, covering the question, never repeated (no model needed)."""

from __future__ import annotations

from qa.read.summary import Selection, content_terms, pick_sentences

RELEVANCE_ONLY = Selection(mmr_lambda=1.0, coverage_weight=0.0, duplicate_cosine=0.9)
MMR = Selection(mmr_lambda=0.7, coverage_weight=0.2, duplicate_cosine=0.9)


def test_the_question_s_content_words_are_what_it_asks_about():
    question = "Which genes are mutated in Rett syndrome? Describe the role of IL-6 and p53."
    assert content_terms(question) == {"gene", "mutat", "rett", "syndrom", "il-6", "p53"}


def test_a_near_duplicate_of_a_picked_sentence_is_never_taken():
    relevance = [0.9, 0.89, 0.5]
    similarity = [[1.0, 0.95, 0.2], [0.95, 1.0, 0.2], [0.2, 0.2, 1.0]]
    covers = [frozenset()] * 3
    assert pick_sentences(relevance, similarity, covers, frozenset(), 3, RELEVANCE_ONLY) == [0, 2]
    assert pick_sentences(relevance, similarity, covers, frozenset(), 3, MMR) == [0, 2]


def test_the_second_sentence_covers_what_the_first_left_out():
    # Question terms {a, b}. s0 (relevance 0.8) and s1 (0.75) cover a; s2 (0.7) covers b.
    # Relevance alone takes s0 then s1. With lambda 0.7 and coverage 0.2: first step s0
    # 0.7*0.8 + 0.2*(1/2) = 0.66 beats s1 0.625 and s2 0.59. Second step s1: 0.525 - 0.3*0.5
    # (its cosine to s0) + 0 = 0.375; s2: 0.49 - 0.3*0.3 + 0.2*(1/2) = 0.5, so s2.
    relevance = [0.8, 0.75, 0.7]
    similarity = [[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]]
    covers = [frozenset({"a"}), frozenset({"a", "x"}), frozenset({"b"})]
    terms = frozenset({"a", "b"})
    assert pick_sentences(relevance, similarity, covers, terms, 2, RELEVANCE_ONLY) == [0, 1]
    assert pick_sentences(relevance, similarity, covers, terms, 2, MMR) == [0, 2]


def test_fewer_candidates_than_asked_for():
    assert pick_sentences([0.3], [[1.0]], [frozenset()], frozenset(), 3) == [0]
    assert pick_sentences([], [], [], frozenset(), 3) == []
