"""Answer spans a reader of the answers accepts at a glance: inside one sentence, one per entity.

A span model scores every (start, end) pair, so beside "MECP2" it proposes "MECP2 gene",
"MECP2 gene on the X chromosome. MECP2 encodes methyl-CpG binding protein 2" and "MECP2 or
CDKL5"; left alone they take the answer slots other candidates should have. Here:

* a span that runs across a sentence boundary is dropped: an answer is a phrase, not prose;
  a bracket the span opens or closes without its pair is cut off ("galcanezumab)");
* spans that name the same thing share one key (:func:`answer_key`), whatever their case, a
  leading article, a trailing "gene", "protein", "mutation(s)", a parenthesised abbreviation,
  a hyphen or space before a number ("IL-6", "IL 6", "IL6") or a Greek letter spelled out
  ("TNF-α", "TNF-alpha"), so the reader merges them into one answer that keeps all their
  support;
* a long form and the abbreviation a passage defines for it ("methyl-CpG binding protein 2
  (MeCP2)", :mod:`qa.read.abbreviations`) share the abbreviation's key
  (:func:`synonym_keys`), so the answer lists the other as its synonym;
* a factoid answer that enumerates ("MECP2 or CDKL5") an item already answered with a better
  score is folded into that answer (:func:`fold_enumerations`); a list question keeps its
  enumerations, which it cuts into items;
* a factoid answer all of whose names are a phrase of the question ("Rett syndrome" for
  "Which gene is mutated in Rett syndrome?") names the question's subject, not its answer, and
  goes (:func:`without_echoes`), unless the question offers a choice ("A or B?").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from qa.corpus.split import sentence_spans
from qa.read.abbreviations import abbreviation_pairs
from qa.types import Answer, Passage

if TYPE_CHECKING:
    from qa.read.reader import Span

_PUNCT_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_ITEM_SEPARATOR = re.compile(r"\s*(?:,|;|/|\band\b|\bor\b)\s*")
# Words that name what kind of thing the answer is, not which one: "MECP2 gene" is "MECP2".
_KIND_SUFFIX = re.compile(
    r"\s+(?:genes?|proteins?|mutations?|variants?|alleles?|enzymes?|receptors?|kinases?)$"
)
# "methyl-CpG binding protein 2 (MeCP2)": a short word in brackets at the end, an abbreviation.
_ABBREVIATION = re.compile(r"^(?P<long>.+?)\s*\((?P<short>[^()\s]{2,12})\)$")
# "Are enhancers or promoters evolving faster?": the answer is one of the question's phrases.
_CHOICE = re.compile(r"\bor\b", re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:the|a|an)\s+")  # "the MECP2 gene" is "MECP2"
# "IL-6", "IL 6" and "IL6" are one name; so are "TNF-α" and "TNF-alpha".
_BEFORE_NUMBER = re.compile(r"(?<=[a-z])[\s-]+(?=\d)")
_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "κ": "kappa"}
_BEFORE_GREEK = re.compile(r"(?<=[a-z0-9])[\s-]+(?=(?:alpha|beta|gamma|delta|kappa)\b)")


def normalise_answer(text: str) -> str:
    """Lower case, unicode-normalised, whitespace collapsed, edge punctuation removed."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _PUNCT_EDGES.sub("", " ".join(text.split()))


def split_items(answer: Answer) -> list[Answer]:
    """An enumeration read as one span ("BRCA1, BRCA2 and PALB2") as one answer per item.

    Each item keeps the span's score and points at its own characters in the passage.
    """
    text = answer.text
    pieces, start = [], 0
    for match in _ITEM_SEPARATOR.finditer(text):
        pieces.append((start, match.start()))
        start = match.end()
    pieces.append((start, len(text)))
    items = [(s, e) for s, e in pieces if len(normalise_answer(text[s:e])) >= 2]
    if len(items) < 2:
        return [answer]
    return [
        replace(answer, text=text[s:e], start=answer.start + s, end=answer.start + e)
        for s, e in items
    ]


def within_sentences(spans: Sequence[Span], passages: Sequence[Passage]) -> list[Span]:
    """The spans that start and end in the same sentence of their passage."""
    bounds: dict[int, list[tuple[int, int]]] = {}
    kept = []
    for span in spans:
        if span.passage_index not in bounds:
            bounds[span.passage_index] = sentence_spans(passages[span.passage_index].text)
        if any(s <= span.start and span.end <= e for s, e in bounds[span.passage_index]):
            kept.append(span)
    return kept


def balanced(spans: Sequence[Span], passages: Sequence[Passage]) -> list[Span]:
    """The spans with unpaired brackets cut off: "galcanezumab)" is "galcanezumab", "TEV-48125
    (fremanezumab" is "TEV-48125"; a span left empty is dropped."""
    kept = []
    for span in spans:
        text = passages[span.passage_index].text
        start, end = _without_unpaired(text, span.start, span.end)
        if end > start:
            kept.append(replace(span, start=start, end=end))
    return kept


def _without_unpaired(text: str, start: int, end: int) -> tuple[int, int]:
    for opening, closing in ("()", "[]"):
        piece = text[start:end]
        depth, first_open = 0, None
        for i, char in enumerate(piece):
            if char == opening:
                depth, first_open = depth + 1, i if depth == 0 else first_open
            elif char == closing:
                if depth == 0:  # closes something outside the span: cut from here
                    end = start + i
                    break
                depth -= 1
        if depth > 0 and first_open is not None:  # opens something the span does not close
            if first_open == 0:
                start += 1
            else:
                end = start + first_open
        while end > start and text[end - 1].isspace():
            end -= 1
        while start < end and text[start].isspace():
            start += 1
    return start, end


def answer_key(text: str) -> str:
    """The key under which spans merge into one answer (see the module's docstring)."""
    text = " ".join(text.split()).rstrip(" .,;:")
    found = _ABBREVIATION.match(text)
    if found:  # the abbreviation is what other spans name it by
        text = found["short"]
    key = _one_spelling(_ARTICLE.sub("", normalise_answer(text)))
    stripped = _KIND_SUFFIX.sub("", key)
    return stripped if len(stripped) >= 2 else key


def _one_spelling(text: str) -> str:
    """Normalised ``text`` with Greek letters spelled out and no break before a number or a
    Greek letter's name ("IL-6" as "il6", "TNF-α" as "tnfalpha")."""
    for letter, name in _GREEK.items():
        text = text.replace(letter, name)
    return _BEFORE_GREEK.sub("", _BEFORE_NUMBER.sub("", text))


def _words(text: str) -> str:
    """``text`` as the words its key is made of, space-delimited at both ends, so that a
    phrase is found in it only as whole words."""
    return " " + " ".join(re.findall(r"\w+", _one_spelling(normalise_answer(text)))) + " "


def without_echoes(question: str, answers: Sequence[Answer]) -> list[Answer]:
    """``answers`` less those whose text and synonyms are all phrases of ``question`` (see the
    module's docstring); all of them when the question offers a choice."""
    if _CHOICE.search(question):
        return list(answers)
    asked = _words(question)

    def echoes(answer: Answer) -> bool:
        keys = [k for k in map(answer_key, (answer.text, *answer.synonyms)) if k]
        return bool(keys) and all(_words(k) in asked for k in keys)

    return [a for a in answers if not echoes(a)]


def synonym_keys(passages: Sequence[Passage]) -> dict[str, str]:
    """The key of each long form the passages define an abbreviation for -> the key of the
    abbreviation, so that both merge under the abbreviation's key."""
    keys = {}
    for passage in passages:
        for short, long in abbreviation_pairs(passage.text).items():
            long_key, short_key = answer_key(long), answer_key(short)
            if long_key and short_key and long_key != short_key:
                keys.setdefault(long_key, short_key)
    return keys


def fold_enumerations(answers: Sequence[Answer]) -> list[Answer]:
    """Answers best first, an enumeration that holds a better-scored answer folded into it."""
    ranked = sorted(answers, key=lambda a: -a.score)
    kept: list[Answer] = []
    for answer in ranked:
        items = {answer_key(item.text) for item in split_items(answer)}
        if len(items) < 2:
            kept.append(answer)
            continue
        better = next((i for i, a in enumerate(kept) if answer_key(a.text) in items), None)
        if better is None:
            kept.append(answer)
        else:
            kept[better] = replace(kept[better], support=kept[better].support + answer.support)
    return kept
