"""Ideal answers: the passages' best sentences, chosen by meaning and by the answers found.

BioASQ asks for a short paragraph beside every exact answer, and a summary question has only
that. An extractive summary keeps every word traceable to a passage: sentences of the top
passages are ranked by their cosine similarity to the question (the retrieval embedder), with a
bonus for a sentence that holds one of the exact answers, and near-duplicates are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from qa.corpus.split import sentence_spans
from qa.read.clean import normalise_answer
from qa.types import Passage

ANSWER_BONUS = 0.1
DUPLICATE_COSINE = 0.9


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
) -> list[Sentence]:
    """The top sentences by similarity to the question (+ answer bonus), without repeats."""
    sentences = candidate_sentences(passages)
    if not sentences:
        return []
    with torch.inference_mode():
        vectors = encoder.embed([question] + [s.text for s in sentences], max_length=128)
    scores = (vectors[1:] @ vectors[0]).tolist()
    wanted = [normalise_answer(a) for a in answers if normalise_answer(a)]
    for i, sentence in enumerate(sentences):
        lowered = sentence.text.lower()
        if any(a in lowered for a in wanted):
            scores[i] += ANSWER_BONUS
    chosen: list[int] = []
    for i in sorted(range(len(sentences)), key=lambda j: -scores[j]):
        if all(float(vectors[1 + i] @ vectors[1 + j]) < DUPLICATE_COSINE for j in chosen):
            chosen.append(i)
        if len(chosen) == max_sentences:
            break
    return [
        Sentence(s.passage_id, s.start, s.end, s.text, round(scores[i], 4))
        for i in chosen
        for s in [sentences[i]]
    ]


def ideal_answer(chosen: Sequence[Sentence], prefix: str = "") -> str:
    """The ideal answer: the chosen sentences (from :func:`best_sentences`) as one paragraph,
    after ``prefix`` ("Yes." for a yes/no question)."""
    text = " ".join(s.text.strip() for s in chosen)
    return f"{prefix} {text}".strip() if prefix else text
