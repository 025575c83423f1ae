"""Ideal answers: the passages' best sentences, chosen by meaning and by the answers found.

BioASQ asks for a short paragraph beside every exact answer, and a summary question has only
that. An extractive summary keeps every word traceable to a passage. Sentences of the top
passages are picked one at a time by maximal marginal relevance: each pick is the sentence
whose relevance (cosine similarity to the question with the retrieval embedder, plus a bonus
for holding one of the exact answers) is highest once its similarity to the sentences already
picked is taken off, with a bonus for the question's content words (genes, diseases, drugs:
any word that is not a function word) it is the first to cover. A near-duplicate of a picked
sentence is never taken. Weights are chosen on the summary questions of BioASQ 9B (run
``benchmarks/tune_ideal.py``; 10B is the development split, scored once); :data:`SELECTION`
says what was found and why the shipped weights are relevance alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import Stemmer
import torch

from qa.corpus.split import sentence_spans
from qa.read.clean import normalise_answer
from qa.types import Passage


@dataclass(frozen=True)
class Selection:
    """How sentences are picked: the relevance bonus for holding an exact answer, the MMR
    weight of relevance against similarity to the picked sentences (1: relevance alone), the
    bonus for the share of the question's content words a sentence newly covers, and the
    cosine at which a sentence counts as a near-duplicate of a picked one."""

    answer_bonus: float = 0.1
    mmr_lambda: float = 1.0
    coverage_weight: float = 0.0
    duplicate_cosine: float = 0.9


#: The shipped setting is relevance alone with near-duplicates (cosine >= 0.9) skipped, the
#: selection before MMR. On the 120 summary questions of BioASQ 9B (``benchmarks/tune_ideal.py``,
#: the profile's 5 passages and 3 sentences) the best setting by ROUGE-SU4 F1 was
#: ``Selection(mmr_lambda=1.0, coverage_weight=0.1, duplicate_cosine=0.75)``: SU4 F1 0.455 ->
#: 0.487, R2 F1 0.464 -> 0.498, mostly by dropping a third sentence too close to the first two.
#: On 10B summary questions, scored once, it lost: SU4 F1 0.469 -> 0.460, SU4 recall 0.653 ->
#: 0.602. A likely reason: 9B questions carry many gold answers (up to 14), and scoring against
#: the best of them rewards short answers, while most 10B questions have one. So it is not the
#: default; pass it to :func:`best_sentences` to try it.
SELECTION = Selection()

# Question and function words; what is left of a question are the things it asks about.
_STOPWORD_TEXT = """
    a about above after against all also an and any are as at be been being between both but
    by can could did do does during each either for from had has have how however i if in into is it its itself may might more most much no nor not of on or other our out over
    own same should so some such than that the their them then there these they this those
    through to under until up very was we were what when where whether which while who whom
    whose why will with within would you your describe list name please tell explain give
    known main role type types used use using kind kinds common associated"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")
_STEMMER = Stemmer.Stemmer("english")


def content_terms(text: str) -> frozenset[str]:
    """Stems of the words of ``text`` that are neither function words nor single letters."""
    words = (w.lower() for w in _WORD.findall(text))
    return frozenset(
        _STEMMER.stemWord(w) for w in words if w not in _STOPWORDS and (len(w) > 1 or w.isdigit())
    )


@dataclass(frozen=True)
class Sentence:
    passage_id: str
    start: int
    end: int
    text: str
    score: float


def candidate_sentences(passages: Sequence[Passage], limit: int = 40) -> list[Sentence]:
    """Sentences of the passages in reading order, the first ``limit`` distinct ones."""
    seen: set[str] = set()
    out: list[Sentence] = []
    for passage in passages:
        for start, end in sentence_spans(passage.text):
            text = passage.text[start:end]
            key = normalise_answer(text)
            if len(key) < 20 or key in seen:
                continue
            seen.add(key)
            out.append(Sentence(passage.id, start, end, text, 0.0))
            if len(out) >= limit:
                return out
    return out


def best_sentences(
    question: str,
    passages: Sequence[Passage],
    encoder,
    *,
    answers: Sequence[str] = (),
    max_sentences: int = 3,
    selection: Selection = SELECTION,
) -> list[Sentence]:
    """Up to ``max_sentences`` relevant sentences that together cover the question, in the
    order picked, never two near-duplicates; ``score`` is each one's relevance."""
    sentences = candidate_sentences(passages)
    if not sentences:
        return []
    with torch.inference_mode():
        vectors = encoder.embed([question] + [s.text for s in sentences], max_length=128)
    relevance = relevance_scores(sentences, vectors, answers, selection.answer_bonus)
    similarity = (vectors[1:] @ vectors[1:].T).tolist()
    # Content words matter only to the coverage bonus, off in the shipped selection.
    covering = selection.coverage_weight > 0
    covers = [content_terms(s.text) if covering else frozenset() for s in sentences]
    asked = content_terms(question) if covering else frozenset()
    chosen = pick_sentences(relevance, similarity, covers, asked, max_sentences, selection)
    return [
        Sentence(s.passage_id, s.start, s.end, s.text, round(relevance[i], 4))
        for i in chosen
        for s in [sentences[i]]
    ]


def relevance_scores(
    sentences: Sequence[Sentence], vectors: torch.Tensor, answers: Sequence[str], bonus: float
) -> list[float]:
    """Cosine of each sentence to the question (``vectors[0]``), plus ``bonus`` for a sentence
    that holds one of the ``answers``."""
    scores = (vectors[1:] @ vectors[0]).tolist()
    wanted = [normalise_answer(a) for a in answers if normalise_answer(a)]
    return [
        score + (bonus if any(a in s.text.lower() for a in wanted) else 0.0)
        for s, score in zip(sentences, scores)
    ]


def pick_sentences(
    relevance: Sequence[float],
    similarity: Sequence[Sequence[float]],
    covers: Sequence[frozenset[str]],
    question_terms: frozenset[str],
    max_sentences: int,
    selection: Selection = SELECTION,
) -> list[int]:
    """Indices picked greedily by maximal marginal relevance with a coverage bonus.

    Each step takes the sentence with the highest ``lambda * relevance - (1 - lambda) *
    (its highest cosine to a picked sentence) + coverage_weight * (share of the question's
    terms it covers that no picked sentence covers)``; a sentence at ``duplicate_cosine`` or
    above to a picked one is never taken. Ties go to the earlier sentence.
    """
    chosen: list[int] = []
    covered: set[str] = set()
    lam = selection.mmr_lambda
    while len(chosen) < max_sentences:
        best, best_score = -1, float("-inf")
        for i, rel in enumerate(relevance):
            redundancy = max((similarity[i][j] for j in chosen), default=0.0)
            if i in chosen or redundancy >= selection.duplicate_cosine:
                continue
            new_terms = len((covers[i] & question_terms) - covered)
            gain = new_terms / len(question_terms) if question_terms else 0.0
            score = lam * rel - (1 - lam) * redundancy + selection.coverage_weight * gain
            if score > best_score:
                best, best_score = i, score
        if best < 0:
            break
        chosen.append(best)
        covered |= covers[best]
    return chosen


def ideal_answer(chosen: Sequence[Sentence], prefix: str = "") -> str:
    """The ideal answer: the chosen sentences (from :func:`best_sentences`) as one paragraph,
    after ``prefix`` ("Yes." for a yes/no question)."""
    text = " ".join(s.text.strip() for s in chosen)
    return f"{prefix} {text}".strip() if prefix else text
