"""BM25 on bm25s ranks like the reference implementation, rank-bm25."""

from __future__ import annotations

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from qa.config import IndexConfig
from qa.corpus.bioasq import load_golden, read_bioasq
from qa.retrieve.bm25 import BM25Index, tokenize

from .conftest import BIOASQ


@pytest.mark.integration
def test_rankings_match_rank_bm25_on_a_small_real_corpus(shared_file) -> None:
    path = shared_file(BIOASQ)
    passages = list(read_bioasq([path]))[:400]
    questions = [q.body for q in load_golden([path])][:40]
    config = IndexConfig(bm25_method="robertson", bm25_k1=1.5, bm25_b=0.75)
    ours = BM25Index.build(passages, config)
    reference = BM25Okapi(tokenize([p.text for p in passages]), k1=1.5, b=0.75, epsilon=0.25)
    compared = 0
    for question in questions:
        hits = ours.search(question, k=10)
        expected = reference.get_scores(tokenize([question])[0])
        if not hits:
            assert expected.max() <= 0
            continue
        index_of = {p.id: i for i, p in enumerate(passages)}
        # rank-bm25 multiplies every term by (k1 + 1); bm25s leaves that constant out.
        got = np.array([expected[index_of[h.passage.id]] for h in hits]) / (1.5 + 1)
        expected = expected / (1.5 + 1)
        # Same scores for the passages we return, and nothing better left out.
        assert np.allclose([h.score for h in hits], got, rtol=1e-4, atol=1e-4)
        assert np.sort(expected)[::-1][: len(hits)] == pytest.approx(got, rel=1e-4, abs=1e-4)
        compared += 1
    assert compared == 40  # every question shares a word with some passage


def test_a_query_with_no_known_word_finds_nothing(sample_passages) -> None:
    index = BM25Index.build(sample_passages, IndexConfig())
    assert index.search("zzzz qqqq", k=5) == []


def test_the_passage_sharing_the_rare_words_ranks_first(sample_passages) -> None:
    index = BM25Index.build(sample_passages, IndexConfig())
    hits = index.search("Which gene is mutated in Rett syndrome?", k=3)
    assert hits[0].passage.id == "p1"
    assert hits[0].sources == {"bm25": 1}
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


def test_saved_index_loads_memory_mapped_with_the_same_results(sample_passages, tmp_path) -> None:
    index = BM25Index.build(sample_passages, IndexConfig())
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25", sample_passages, mmap=True)
    for q in ["HER2 antibody", "malaria parasite", "cholesterol"]:
        assert [(h.passage.id, h.score) for h in loaded.search(q, 5)] == [
            (h.passage.id, h.score) for h in index.search(q, 5)
        ]


def test_queries_are_tokenised_as_the_index_was_built(sample_passages, tmp_path) -> None:
    index = BM25Index.build(sample_passages, IndexConfig(bm25_stopwords="en"))
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25", sample_passages)
    assert loaded.stopwords == "en"
    # "which" is a word under the short list and a stop word under en_plus.
    assert "which" in tokenize(["Which gene?"], "en")[0]
    assert "which" not in tokenize(["Which gene?"], "en_plus")[0]
