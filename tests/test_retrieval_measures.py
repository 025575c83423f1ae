"""Retrieval measures against values worked out by hand."""

from __future__ import annotations

import pytest

from qa.corpus.bioasq import GoldQuestion, Snippet, snippet_passage_id
from qa.evaluate.retrieval import average_precision, gold_passages, retrieval_metrics


def test_measures_on_two_hand_made_rankings() -> None:
    ranked = {"q1": ["x", "a", "y", "b"], "q2": ["z"] * 10 + ["c"]}
    gold = {"q1": {"a", "b", "c"}, "q2": {"c"}}
    m = retrieval_metrics(ranked, gold)
    assert m["hit@10"] == 0.5  # q1 has a in the top 10; q2's c is 11th
    assert m["mrr@10"] == pytest.approx((1 / 2 + 0) / 2, abs=1e-4)
    assert m["recall@100"] == pytest.approx((2 / 3 + 1) / 2, abs=1e-4)
    assert m["questions"] == 2


def test_a_question_never_answered_counts_as_zero() -> None:
    m = retrieval_metrics({}, {"q1": {"a"}})
    assert (m["hit@10"], m["mrr@10"], m["recall@100"]) == (0.0, 0.0, 0.0)


def test_average_precision_divides_by_min_of_gold_and_ten() -> None:
    # hits at ranks 1 and 3: (1/1 + 2/3) / min(4, 10)
    assert average_precision(["a", "x", "b", "y"], {"a", "b", "c", "d"}) == pytest.approx(
        (1 + 2 / 3) / 4
    )
    # 12 gold documents, all 10 retrieved ones relevant: sum of precisions = 10, divisor 10
    gold = {str(i) for i in range(12)}
    assert average_precision([str(i) for i in range(10)], gold) == pytest.approx(1.0)


def test_document_map_uses_each_pmid_once_in_rank_order() -> None:
    ranked = {"q": ["p1", "p2", "p3"]}
    docs = {"q": ["111", "111", "222"]}  # two passages of 111: the document ranks first, once
    m = retrieval_metrics(ranked, {"q": {"p3"}}, ranked_docs=docs, gold_docs={"q": {"222"}})
    assert m["map@10"] == pytest.approx(1 / 2)  # 222 is the 2nd distinct document


def test_gold_passages_include_every_window_of_a_split_snippet() -> None:
    text = "A long snippet."
    base = snippet_passage_id(text)
    q = GoldQuestion(
        "q", "?", "factoid", snippets=(Snippet(text, "1"), Snippet("Missing one.", "2"))
    )
    gold = gold_passages([q], [f"{base}#0", f"{base}#1", "other"])
    assert gold["q"] == {f"{base}#0", f"{base}#1", snippet_passage_id("Missing one.")}
