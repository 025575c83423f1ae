"""Cutting long passages into overlapping windows of whole sentences."""

from __future__ import annotations

from itertools import pairwise

import pytest

from qa.corpus.split import count_tokens, sentence_spans, split_passage, window_spans
from qa.types import Passage

# Sentence lengths in tokens vary so that windows hold different numbers of sentences.
_LENGTHS = [12, 7, 25, 9, 18, 4, 30, 11, 16, 8, 21, 13, 6, 27, 10]


def _sentence(i: int, n_tokens: int) -> str:
    """A sentence of exactly ``n_tokens`` tokens (words plus the final full stop)."""
    words = ["Patients"] + [f"w{i}x{k}" for k in range(n_tokens - 2)]
    return " ".join(words) + "."


def _abstract() -> str:
    return " ".join(_sentence(i, n) for i, n in enumerate(_LENGTHS))


def _passage(text: str) -> Passage:
    return Passage(id="doc1", text=text, title="A title", pmid="123", meta={"source": "test"})


def _sentence_index(text: str) -> dict[int, int]:
    """Start offset of each sentence of ``text`` -> its index."""
    return {start: i for i, (start, _) in enumerate(sentence_spans(text))}


def test_the_helper_sentences_have_the_intended_token_counts() -> None:
    text = _abstract()
    assert [count_tokens(text[s:e]) for s, e in sentence_spans(text)] == _LENGTHS


def test_short_passage_is_returned_unchanged() -> None:
    passage = _passage("Aspirin inhibits COX-1. It is widely used.")
    result = split_passage(passage, max_tokens=200)
    assert result == [passage]
    assert result[0] is passage
    assert "parent" not in result[0].meta


@pytest.mark.parametrize(("max_tokens", "expected"), [(30, 11), (45, 8), (64, 5), (100, 3)])
def test_windows_never_exceed_the_token_budget(max_tokens: int, expected: int) -> None:
    text = _abstract()
    windows = split_passage(_passage(text), max_tokens=max_tokens)
    assert len(windows) == expected
    for window in windows:
        assert count_tokens(window.text) <= max_tokens, window.id


def test_every_sentence_ends_up_in_some_window() -> None:
    text = _abstract()
    windows = split_passage(_passage(text), max_tokens=40)
    for start, end in sentence_spans(text):
        assert any(
            w.meta["char_offset"] <= start and end <= w.meta["char_offset"] + len(w.text)
            for w in windows
        ), text[start:end]


def test_a_sentence_longer_than_the_budget_is_cut_into_pieces_that_fit() -> None:
    long_sentence = " ".join(f"token{k}" for k in range(95)) + "."
    text = f"Short opening sentence. {long_sentence} Short closing sentence."
    windows = split_passage(_passage(text), max_tokens=40, overlap_sentences=0)
    assert all(count_tokens(w.text) <= 40 for w in windows)
    # No token is lost or duplicated: the windows together hold every token once.
    assert sum(count_tokens(w.text) for w in windows) == count_tokens(text)


def test_consecutive_windows_share_exactly_one_sentence() -> None:
    # Ten sentences of 10 tokens and a budget of 35: three sentences per window, and the
    # overlap sentence plus the next one always fit, so every step overlaps by one.
    text = " ".join(_sentence(i, 10) for i in range(10))
    starts = _sentence_index(text)
    spans = window_spans(text, max_tokens=35, overlap_sentences=1)
    assert len(spans) == 5
    sentences = sentence_spans(text)
    for (prev_start, prev_end), (next_start, _) in pairwise(spans):
        last_of_prev = next(i for i, (s, e) in enumerate(sentences) if e == prev_end)
        assert starts[next_start] == last_of_prev
        assert next_start > prev_start


def test_no_overlap_when_overlap_sentences_is_zero() -> None:
    text = " ".join(_sentence(i, 10) for i in range(10))
    spans = window_spans(text, max_tokens=35, overlap_sentences=0)
    for (_, prev_end), (next_start, _) in pairwise(spans):
        assert next_start > prev_end
    assert sum(count_tokens(text[s:e]) for s, e in spans) == count_tokens(text)


def test_no_window_is_contained_in_the_previous_one() -> None:
    text = " ".join(_sentence(i, n) for i, n in enumerate([50, 100, 150]))
    spans = window_spans(text, max_tokens=200, overlap_sentences=1)
    for (prev_start, prev_end), (next_start, next_end) in pairwise(spans):
        assert not (prev_start <= next_start and next_end <= prev_end)


def test_every_window_is_the_parent_text_at_its_char_offset() -> None:
    text = _abstract()
    for window in split_passage(_passage(text), max_tokens=50):
        offset = window.meta["char_offset"]
        assert text[offset : offset + len(window.text)] == window.text


def test_windows_keep_title_pmid_and_meta_and_point_to_their_parent() -> None:
    windows = split_passage(_passage(_abstract()), max_tokens=50)
    assert [w.id for w in windows] == [f"doc1#{i}" for i in range(len(windows))]
    for window in windows:
        assert window.title == "A title"
        assert window.pmid == "123"
        assert window.meta["parent"] == "doc1"
        assert window.meta["source"] == "test"


def test_unicode_text_keeps_offsets_right() -> None:
    sentences = [
        "The Wnt/β-catenin pathway drives αβ T-cell growth in 5′-UTR variants.",
        "Levels of TNF-α rose ≥2-fold (p < 0.05) at 37 °C in Δ mutants.",
        "Mutations of the 5′-UTR reduced β-catenin by 40 % in μg/mL doses.",
        "Κ-opioid receptors and γ-secretase were unaffected.",
        "These effects were confirmed in Müller glia and naïve cells.",
    ]
    text = " ".join(sentences * 3)
    windows = split_passage(_passage(text), max_tokens=40)
    assert len(windows) == 10
    for window in windows:
        offset = window.meta["char_offset"]
        assert text[offset : offset + len(window.text)] == window.text
        assert window.text.endswith(".")
    # Each sentence is whole in at least one window: nothing was cut inside a multi-byte word.
    for sentence in sentences:
        assert any(sentence in w.text for w in windows), sentence


def test_abbreviations_fig_and_et_al_do_not_split_a_sentence() -> None:
    text = (
        "As shown in Fig. 3 the tumours shrank. "
        "Smith et al. (2010) reported the same effect. "
        "Jones et al. Reported it earlier in Fig. 2B. "
        "The effect was lost, e.g. In knockout mice."
    )
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        "As shown in Fig. 3 the tumours shrank.",
        "Smith et al. (2010) reported the same effect.",
        "Jones et al. Reported it earlier in Fig. 2B.",
        "The effect was lost, e.g. In knockout mice.",
    ]


def test_windows_start_on_sentence_boundaries_not_after_abbreviations() -> None:
    text = " ".join(
        f"Smith et al. {i} described the effect shown in Fig. {i} in detail." for i in range(12)
    )
    starts = _sentence_index(text)
    windows = split_passage(_passage(text), max_tokens=40)
    assert len(windows) == 11
    for window in windows:
        assert window.meta["char_offset"] in starts
        assert window.text.startswith("Smith")


def test_nitric_oxide_at_the_end_of_a_sentence_still_ends_it() -> None:
    text = "Macrophages produced NO. This was blocked by L-NAME."
    assert len(sentence_spans(text)) == 2
