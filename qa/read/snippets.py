"""Evidence snippets at sentence level: the run of sentences of a passage that best answers.

BioASQ scores a snippet by the characters it shares with the gold snippets, so a whole
200-token window submitted for one relevant sentence pays for all the others in precision.
Each passage is cut to its best run of ``sentences`` consecutive sentences (split by
:func:`qa.corpus.split.sentence_spans`, the splitter that cut the windows). A sentence scores
its cosine to the question with the retrieval embedder, as the ideal answer's sentences do
(:mod:`qa.read.summary`); a run scores the sum of its sentences. A passage of no more sentences
than the run is kept whole, and ``sentences = 0`` keeps every passage whole. (Adding the share
of the question's words a sentence holds, or a bonus for holding a reader answer, moved 9B
snippet F1 by under 0.002, so neither is here.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa.corpus.split import sentence_spans
from qa.types import Passage

if TYPE_CHECKING:
    from qa.retrieve.encoder import SentenceEncoder

ScoredSentence = tuple[int, int, float]  # (start, end) in the passage's text, cosine


def scored_sentences(
    question: str, passages: Sequence[Passage], encoder: SentenceEncoder
) -> list[list[ScoredSentence]]:
    """The sentences of each passage, scored against the question in one encoder call."""
    spans = [sentence_spans(p.text) for p in passages]
    texts = [p.text[s:e] for p, found in zip(passages, spans) for s, e in found]
    vectors = encoder.encode([question, *texts], max_length=128)
    cosines = iter((vectors[1:] @ vectors[0]).tolist())
    return [[(start, end, next(cosines)) for start, end in found] for found in spans]


def best_run(passage: Passage, sentences: Sequence[ScoredSentence], run: int) -> tuple[int, int]:
    """(start, end) in ``passage.text`` of its best run of ``run`` sentences; the whole passage
    when it has no more sentences than that. Ties go to the earlier run."""
    if run == 0 or len(sentences) <= run:
        return 0, len(passage.text)
    scores = [cosine for _, _, cosine in sentences]
    first = max(range(len(scores) - run + 1), key=lambda i: sum(scores[i : i + run]))
    return sentences[first][0], sentences[first + run - 1][1]


def snippet_spans(
    question: str, passages: Sequence[Passage], encoder: SentenceEncoder, run: int
) -> list[tuple[int, int]]:
    """(start, end) of each passage's snippet inside its text, in the passages' order."""
    if run < 0:
        raise ValueError(f"sentences must be 0 (whole passages) or more, got {run}.")
    if run == 0:  # whole passages: nothing to encode
        return [(0, len(p.text)) for p in passages]
    scored = scored_sentences(question, passages, encoder)
    return [best_run(p, s, run) for p, s in zip(passages, scored)]
