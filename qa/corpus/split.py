"""Split long texts into overlapping passages on sentence boundaries.

Encoders truncate at a few hundred word pieces and BM25 favours short documents, so an
abstract is cut into windows of whole sentences under a token budget, each window sharing
``overlap_sentences`` with the previous one so that an answer spanning a cut is still whole
in one of them. Token counts are a cheap word/punctuation estimate, close to the word-piece
count of biomedical text divided by ~1.3, which is why the default budget (200) fits a
256-piece encoder.
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa.types import Passage

_TOKEN = re.compile(r"\w+|[^\w\s]")
# A sentence ends at . ! ? followed by space and an upper-case letter, digit or bracket;
# "e.g. the" and "Fig. 3a" mostly stay whole because the next word is lower case.
_SENTENCE_END = re.compile(r"(?<=[.!?])([\"')\]]?)\s+(?=[A-Z0-9(\[])")

# Case matters: "No. 5" is an abbreviation, "NO." (nitric oxide) ends a sentence.
_ABBREVIATION = re.compile(
    r"(?:\b(?:[Ff]ig|[Ff]igs|[Rr]ef|[Rr]efs|[Ee]q|[Ee]qs|No|Nos|vs|al|approx|ca|Dr|Drs|St|"
    r"[Tt]ab|[Ss]uppl|cf)|e\.g|i\.e)\.$"
)


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (whitespace between them excluded)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text, max(0, match.start() - 8), match.start()):
            continue
        end = match.end(1)  # keep a closing quote or bracket with its sentence
        if text[start:end].strip():
            spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def _hard_split(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces of ``max_tokens`` tokens."""
    tokens = list(_TOKEN.finditer(text, start, end))
    pieces = []
    for i in range(0, len(tokens), max_tokens):
        group = tokens[i : i + max_tokens]
        pieces.append((group[0].start(), group[-1].end()))
    return pieces


def window_spans(text: str, max_tokens: int, overlap_sentences: int = 1) -> list[tuple[int, int]]:
    """Character spans of windows of whole sentences, each at most ``max_tokens`` tokens."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    if overlap_sentences < 0:
        raise ValueError("overlap_sentences must be 0 or more")
    units: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        if count_tokens(text[start:end]) > max_tokens:
            units.extend(_hard_split(text, start, end, max_tokens))
        else:
            units.append((start, end))
    if not units:
        return []
    sizes = [count_tokens(text[s:e]) for s, e in units]
    windows: list[tuple[int, int]] = []
    first = 0
    while first < len(units):
        last, total = first, sizes[first]
        while last + 1 < len(units) and total + sizes[last + 1] <= max_tokens:
            last += 1
            total += sizes[last]
        windows.append((units[first][0], units[last][1]))
        if last + 1 >= len(units):
            break
        # Start the next window up to ``overlap_sentences`` units back, but only as far back
        # as still leaves room for the next new unit: a window made only of repeated
        # sentences would be a duplicate.
        nxt = last + 1
        back = min(overlap_sentences, last - first)
        while back > 0 and sum(sizes[nxt - back : nxt + 1]) > max_tokens:
            back -= 1
        first = nxt - back
    return windows


def split_passage(passage: Passage, max_tokens: int, overlap_sentences: int = 1) -> list[Passage]:
    """The passage itself when it fits the budget, else its windows (ids ``ID#0``, ``ID#1``…)."""
    if count_tokens(passage.text) <= max_tokens:
        return [passage]
    spans = window_spans(passage.text, max_tokens, overlap_sentences)
    return [
        replace(
            passage,
            id=f"{passage.id}#{i}",
            text=passage.text[start:end],
            meta={**passage.meta, "parent": passage.id, "char_offset": start},
        )
        for i, (start, end) in enumerate(spans)
    ]
