"""ROUGE-2 and ROUGE-SU4 of ideal answers, the automatic measures of the BioASQ leaderboard.

The leaderboard reports recall and F1 of ROUGE-2 (bigram overlap) and ROUGE-SU4 (skip-bigrams
with at most four words between the pair, plus unigrams). BioASQ computes them with the Perl
ROUGE-1.5.5, which the Java evaluator does not include; this module is our own Python version:

* text is lower-cased, every run of characters other than a-z and 0-9 becomes a space, and the
  words are split on spaces (the tokenisation of the ``rouge-score`` package, modelled on
  ROUGE-1.5.5);
* words longer than three characters are Porter-stemmed (ROUGE-1.5.5's ``-m``), with the
  original Porter algorithm of PyStemmer (already a dependency, for BM25; NLTK is not
  installed). Shorter words are left alone, as ``rouge-score`` does;
* counts are clipped: a bigram twice in the answer and once in the reference matches once;
* F1 is the harmonic mean of precision and recall (ROUGE-1.5.5's F with alpha 0.5), 0 when
  nothing matches;
* a question has several gold ideal answers (up to 14 in 9B). Each measure is the **best over
  the references**, taken separately for each measure, like ROUGE-1.5.5's ``-f B`` ("best
  model"). ROUGE-1.5.5's default, ``-f A``, pools the matches over every reference instead;
  which of the two BioASQ's runs use is not published with its evaluator, so the figures here
  are comparable between our runs and close to, not equal to, the leaderboard's. The best
  reference is the choice that does not penalise an answer for agreeing with one annotator,
  and it does not move when a question carries near-copies of one reference;
* an answer or a reference too short for a bigram scores 0 on that unit, never an error.

No sentence markers or stop-word removal are applied (ROUGE-1.5.5 keeps stop words by default).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import Stemmer

from qa.evaluate.bioasq.model import SUMMARY, Question

#: The most words a ROUGE-SU4 skip-bigram may skip between its two words.
MAX_SKIP = 4

#: The keys of :func:`rouge_scores` and :func:`mean_rouge`, in the leaderboard's column order.
MEASURES = ("rouge2_recall", "rouge2_f1", "rougesu4_recall", "rougesu4_f1")

_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
_STEMMER = Stemmer.Stemmer("porter")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _STEMMER.stemWord(word) if len(word) > 3 else word


def rouge_tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric words, those of more than three letters Porter-stemmed."""
    return [_stem(w) for w in _NOT_ALPHANUMERIC.sub(" ", text.lower()).split()]


def bigrams(tokens: Sequence[str]) -> Counter:
    """Adjacent word pairs and how often each occurs (ROUGE-2's units)."""
    return Counter(zip(tokens, tokens[1:]))


def skip_bigrams_and_unigrams(tokens: Sequence[str], max_skip: int = MAX_SKIP) -> Counter:
    """ROUGE-SU4's units: ordered pairs with at most ``max_skip`` words between, and every word.

    A unigram is kept as a 1-tuple so that it never equals a pair.
    """
    units: Counter = Counter((t,) for t in tokens)
    for i, first in enumerate(tokens):
        for second in tokens[i + 1 : i + 2 + max_skip]:
            units[(first, second)] += 1
    return units


def _recall_f1(system: Counter, reference: Counter) -> tuple[float, float]:
    """Recall and F1 of the clipped overlap of two unit counts."""
    hits = sum((system & reference).values())
    if not hits:
        return 0.0, 0.0
    recall = hits / sum(reference.values())
    precision = hits / sum(system.values())
    return recall, 2 * precision * recall / (precision + recall)


def rouge_scores(system: str, references: Sequence[str]) -> dict[str, float]:
    """ROUGE-2 and ROUGE-SU4 recall and F1 of ``system`` against its best reference (each
    measure on its own); all 0 when there is no reference or no system text."""
    words = rouge_tokens(system)
    system_units = (bigrams(words), skip_bigrams_and_unigrams(words))
    best = dict.fromkeys(MEASURES, 0.0)
    for reference in references:
        ref_words = rouge_tokens(reference)
        r2 = _recall_f1(system_units[0], bigrams(ref_words))
        su4 = _recall_f1(system_units[1], skip_bigrams_and_unigrams(ref_words))
        for key, value in zip(MEASURES, (*r2, *su4)):
            best[key] = max(best[key], value)
    return best


def mean_rouge(pairs: Iterable[tuple[str, Sequence[str]]]) -> dict[str, float | int]:
    """Each measure's mean over (system answer, gold ideal answers) pairs, and their number."""
    scores = [rouge_scores(system, references) for system, references in pairs]
    means: dict[str, float | int] = {
        key: sum(s[key] for s in scores) / len(scores) if scores else 0.0 for key in MEASURES
    }
    means["questions"] = len(scores)
    return means


def ideal_answer_rouge(gold: Sequence[Question], by_id: Mapping[str, Question]) -> dict[str, dict]:
    """Mean ROUGE of the submitted ideal answers, over two sets of gold questions.

    ``summary``: every summary question with a gold ideal answer; one the submission leaves
    out or leaves blank scores 0, since the ideal answer is all a summary question asks for.
    ``all``: questions of every type with a gold ideal answer and a submitted one (the pipeline
    writes one for every question; exact-answer-only runs are not penalised). A submission
    that gives a list of ideal answers is scored on its first.
    """
    summary: list[tuple[str, Sequence[str]]] = []
    every: list[tuple[str, Sequence[str]]] = []
    for g in gold:
        if not g.ideal:
            continue
        submitted = by_id.get(g.id)
        answer = submitted.ideal[0] if submitted is not None and submitted.ideal else ""
        if g.type == SUMMARY:
            summary.append((answer, g.ideal))
        if answer:
            every.append((answer, g.ideal))
    return {"summary": mean_rouge(summary), "all": mean_rouge(every)}
