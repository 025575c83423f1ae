"""BM25 from sharded postings scores exactly like bm25s, whatever the number of shards."""

from __future__ import annotations

import hashlib
import json

import bm25s
import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from qa.config import IndexConfig
from qa.corpus.bioasq import load_golden, read_bioasq
from qa.errors import IndexStoreError, InvalidInput
from qa.retrieve.bm25 import (
    BM25Index,
    BM25Shard,
    PostingsWriter,
    merge_stats,
    passage_text,
    read_stats,
    term_hashes,
    tokenize,
    write_stats,
)
from qa.types import Passage

from .conftest import BIOASQ

QUERIES = [
    "Which gene is mutated in Rett syndrome?",
    "HER2 antibody",
    "malaria parasite",
    "cholesterol",
    "cancer cancer treatment",
    "protein",
]


def sharded(passages, config, folder, cuts, hidden_global=(), **kwargs) -> BM25Index:
    """The index the lead's builder makes: one PostingsWriter per shard, merged statistics."""
    bounds = [0, *cuts, len(passages)]
    stats, shards = [], []
    for s, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        writer = PostingsWriter(folder / f"{s:05d}" / "bm25", config.bm25_stopwords)
        for start in range(lo, hi, 7):  # several small chunks per shard
            writer.add(passages[start : min(start + 7, hi)])
        stats.append(writer.close())
        shards.append(BM25Shard.load(folder / f"{s:05d}" / "bm25"))
    merged = merge_stats(stats)
    write_stats(merged, folder / "bm25-stats-1")
    merged = read_stats(folder / "bm25-stats-1", merged.docs, merged.tokens)
    offsets = np.array(bounds[:-1], dtype=np.int64)
    hidden = []
    for shard, off in zip(shards, offsets):
        mask = np.zeros(shard.rows, dtype=bool)
        local = np.array([r - off for r in hidden_global if off <= r < off + shard.rows], int)
        mask[local] = True
        hidden.append(mask)
    return BM25Index(shards, merged, passages, config, config.bm25_stopwords, offsets, hidden,
                     **kwargs)  # fmt: skip


def ranked(index: BM25Index, query: str, k: int = 10) -> list[tuple[str, float]]:
    return [(h.passage.id, h.score) for h in index.search(query, k)]


def assert_like_bm25s(index: BM25Index, passages, queries, method, k1, b, stopwords) -> int:
    """Our scores equal bm25s's for the passages we return, and nothing better is left out."""
    reference = bm25s.BM25(method=method, k1=k1, b=b)
    reference.index(tokenize([passage_text(p) for p in passages], stopwords), show_progress=False)
    row_of = {p.id: i for i, p in enumerate(passages)}
    compared = 0
    for query in queries:
        known = [t for t in tokenize([query], stopwords)[0] if t in reference.vocab_dict]
        hits = index.search(query, k=10)
        if not known:
            assert hits == []
            continue
        expected = reference.get_scores(known)
        got = np.array([h.score for h in hits])
        assert got == pytest.approx(expected[[row_of[h.passage.id] for h in hits]], abs=1e-5)
        best = np.sort(expected[expected > 0])[::-1][:10]
        assert got == pytest.approx(best, abs=1e-5)
        compared += 1
    return compared


@pytest.mark.parametrize("method", ["lucene", "robertson", "atire"])
def test_scores_equal_bm25s_on_the_sample_passages(sample_passages, tmp_path, method) -> None:
    config = IndexConfig(bm25_method=method, bm25_k1=1.3, bm25_b=0.6)
    index = BM25Index.from_passages(sample_passages, config, tmp_path)
    assert assert_like_bm25s(index, sample_passages, QUERIES, method, 1.3, 0.6, "en_plus") >= 5


@pytest.mark.integration
@pytest.mark.parametrize("method", ["lucene", "robertson", "atire"])
def test_scores_equal_bm25s_on_a_small_real_corpus(shared_file, tmp_path, method) -> None:
    path = shared_file(BIOASQ)
    passages = list(read_bioasq([path]))[:400]
    questions = [q.body for q in load_golden([path])][:40]
    config = IndexConfig(bm25_method=method)
    index = sharded(passages, config, tmp_path, cuts=[130, 260])
    assert assert_like_bm25s(index, passages, questions, method, 1.2, 0.75, "en_plus") == 40


@pytest.mark.integration
def test_rankings_match_rank_bm25_on_a_small_real_corpus(shared_file, tmp_path) -> None:
    path = shared_file(BIOASQ)
    passages = list(read_bioasq([path]))[:400]
    questions = [q.body for q in load_golden([path])][:40]
    config = IndexConfig(bm25_method="robertson", bm25_k1=1.5, bm25_b=0.75)
    ours = BM25Index.from_passages(passages, config, tmp_path)
    reference = BM25Okapi(tokenize([passage_text(p) for p in passages]), k1=1.5, b=0.75)
    index_of = {p.id: i for i, p in enumerate(passages)}
    compared = 0
    for question in questions:
        hits = ours.search(question, k=10)
        # rank-bm25 multiplies every term by (k1 + 1); bm25s leaves that constant out.
        expected = reference.get_scores(tokenize([question])[0]) / (1.5 + 1)
        if not hits:
            assert expected.max() <= 0
            continue
        got = np.array([expected[index_of[h.passage.id]] for h in hits])
        assert np.allclose([h.score for h in hits], got, rtol=1e-4, atol=1e-4)
        assert np.sort(expected)[::-1][: len(hits)] == pytest.approx(got, rel=1e-4, abs=1e-4)
        compared += 1
    assert compared == 40  # every question shares a word with some passage


def many_passages(sample_passages, n: int = 60) -> list[Passage]:
    """Passages with repeated texts (so scores tie across shards) and some titles."""
    out = []
    for i in range(n):
        p = sample_passages[i % len(sample_passages)]
        title = "cancer study" if i % 4 == 0 else ""
        out.append(Passage(id=f"d{i}", text=p.text, title=title, pmid=str(i)))
    return out


@pytest.mark.parametrize("method", ["lucene", "robertson", "atire"])
def test_three_shards_rank_exactly_like_one(sample_passages, tmp_path, method) -> None:
    passages = many_passages(sample_passages)
    config = IndexConfig(bm25_method=method)
    one = sharded(passages, config, tmp_path / "one", cuts=[])
    three = sharded(passages, config, tmp_path / "three", cuts=[17, 40])
    for query in [*QUERIES, "study", "cancer study gene"]:
        for k in (1, 3, 10, 100):
            assert ranked(three, query, k) == ranked(one, query, k)  # ids and scores, exactly
    assert len(ranked(one, "cancer study", 100)) > 10


def test_ties_are_broken_by_global_row(sample_passages, tmp_path) -> None:
    passages = many_passages(sample_passages)
    index = sharded(passages, IndexConfig(), tmp_path, cuts=[10, 31])
    hits = index.search("study", k=100)
    assert len({h.score for h in hits}) < len(hits)  # ties exist
    rows = [int(h.passage.id[1:]) for h in hits]
    for (a, ra), (b, rb) in zip(zip(hits, rows), zip(hits[1:], rows[1:])):
        assert a.score > b.score or (a.score == b.score and ra < rb)


def test_hidden_rows_never_come_back(sample_passages, tmp_path) -> None:
    passages = many_passages(sample_passages)
    hidden = {0, 4, 16, 17, 18, 40, 59}
    index = sharded(passages, IndexConfig(), tmp_path, cuts=[17, 40], hidden_global=hidden)
    full = sharded(passages, IndexConfig(), tmp_path / "full", cuts=[])
    for query in [*QUERIES, "cancer study"]:
        got = ranked(index, query, 100)
        assert not {f"d{r}" for r in hidden} & {pid for pid, _ in got}
        # Hiding removes rows; it does not change the others' scores or order.
        assert got == [h for h in ranked(full, query, 100) if int(h[0][1:]) not in hidden]


def test_fan_out_is_pluggable(sample_passages, tmp_path) -> None:
    calls = []

    def serial(tasks):
        calls.append(len(tasks))
        return [task() for task in tasks]

    passages = many_passages(sample_passages)
    index = sharded(passages, IndexConfig(), tmp_path, cuts=[20, 40], fan_out=serial)
    assert ranked(index, "malaria parasite")
    assert calls and set(calls) == {3}


def test_a_query_with_no_known_word_finds_nothing(sample_passages, tmp_path) -> None:
    index = BM25Index.from_passages(sample_passages, IndexConfig(), tmp_path)
    assert index.search("zzzz qqqq", k=5) == []
    assert index.search("", k=5) == []
    assert index.batch_search(["zzzz", "malaria"], k=5)[0] == []


def test_the_passage_sharing_the_rare_words_ranks_first(sample_passages, tmp_path) -> None:
    index = BM25Index.from_passages(sample_passages, IndexConfig(), tmp_path)
    hits = index.search("Which gene is mutated in Rett syndrome?", k=3)
    assert hits[0].passage.id == "p1"
    assert hits[0].sources == {"bm25": 1}
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


def test_postings_load_memory_mapped_with_the_same_results(sample_passages, tmp_path) -> None:
    mapped = BM25Index.from_passages(sample_passages, IndexConfig(), tmp_path / "a")
    in_ram = BM25Index.build(sample_passages, IndexConfig())
    shard = mapped.shards[0]
    for array in (shard.terms, shard.indptr, shard.docs, shard.tfs, shard.lengths):
        assert isinstance(array.base, np.memmap)  # a view of the file, not a copy
    assert isinstance(mapped.stats.terms, np.memmap)
    assert (shard.terms.dtype, shard.docs.dtype, shard.tfs.dtype) == (
        np.uint64,
        np.int32,
        np.uint16,
    )
    assert np.all(shard.terms[1:] > shard.terms[:-1])  # sorted, unique
    for q in QUERIES:
        assert ranked(mapped, q, 5) == ranked(in_ram, q, 5)


def test_queries_are_tokenised_as_the_index_was_built(sample_passages, tmp_path) -> None:
    BM25Index.from_passages(sample_passages, IndexConfig(bm25_stopwords="en"), tmp_path)
    settings = json.loads((tmp_path / "bm25" / "tokenizer.json").read_text())
    assert settings == {"stopwords": "en", "stemmer": "english"}
    shard = BM25Shard.load(tmp_path / "bm25")
    assert shard.stopwords == "en"
    # "which" is a word under the short list and a stop word under en_plus.
    assert "which" in tokenize(["Which gene?"], "en")[0]
    assert "which" not in tokenize(["Which gene?"], "en_plus")[0]
    stats = read_stats(tmp_path / "bm25-stats", len(sample_passages), 1)
    with pytest.raises(IndexStoreError, match="stop words"):
        BM25Index([shard], stats, sample_passages, IndexConfig(), "en_plus", np.zeros(1, int))


def test_term_hashes_are_stable() -> None:
    hashes = term_hashes(["gene", "cancer", "gene"])
    assert hashes.dtype == np.uint64 and hashes[0] == hashes[2] != hashes[1]
    assert int(term_hashes(["gene"])[0]) == int.from_bytes(
        hashlib.blake2b(b"gene", digest_size=8).digest(), "little"
    )


def test_methods_without_postings_only_scoring_are_refused(sample_passages, tmp_path) -> None:
    for method in ("bm25l", "bm25+"):
        with pytest.raises(InvalidInput, match="lucene, robertson, atire"):
            BM25Index.from_passages(sample_passages, IndexConfig(bm25_method=method), tmp_path)
