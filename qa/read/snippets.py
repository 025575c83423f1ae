"""Evidence snippets at sentence level: the run of sentences of a passage that best answers.

BioASQ scores a snippet by the characters it shares with the gold snippets, so a whole
200-token window submitted for one relevant sentence pays for all the others in precision.
Each passage is cut to its best run of ``sentences`` consecutive sentences (split by
:func:`qa.corpus.split.sentence_spans`, the splitter that cut the windows). A sentence scores
its cosine to the question with the retrieval embedder (as the ideal answer's sentences do,
:mod:`qa.read.summary`), plus ``lexical_weight`` times the share of the question's content
words it holds, plus ``answer_bonus`` when it holds one of the reader's answers; a run scores
the sum of its sentences. A passage of no more sentences than the run is kept whole, and
``sentences = 0`` keeps every passage whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.corpus.split import sentence_spans
from qa.read.clean import normalise_answer
from qa.read.summary import content_terms
from qa.types import Passage

if TYPE_CHECKING:
    from qa.retrieve.encoder import SentenceEncoder


@dataclass(frozen=True)
class SnippetSelection:
    """How many consecutive sentences a snippet keeps (0: the whole passage), and what a
    sentence earns beside its cosine to the question."""

    sentences: int = 1
    lexical_weight: float = 0.0
    answer_bonus: float = 0.0

    def __post_init__(self) -> None:
        if self.sentences < 0:
            raise ValueError(f"sentences must be 0 (whole passages) or more, got {self.sentences}.")


@dataclass(frozen=True)
class ScoredSentence:
    """One sentence of a passage (``start``/``end`` into its text) and what it is scored on."""

    start: int
    end: int
    cosine: float
    lexical: float  # share of the question's content words the sentence holds
    holds_answer: bool

    def score(self, selection: SnippetSelection) -> float:
        bonus = selection.answer_bonus if self.holds_answer else 0.0
        return self.cosine + selection.lexical_weight * self.lexical + bonus


def scored_sentences(
    question: str, passages: Sequence[Passage], encoder: SentenceEncoder, answers: Sequence[str]
) -> list[list[ScoredSentence]]:
    """The sentences of each passage, scored against the question in one encoder call."""
    spans = [sentence_spans(p.text) for p in passages]
    texts = [p.text[s:e] for p, found in zip(passages, spans) for s, e in found]
    vectors = encoder.encode([question, *texts], max_length=128)
    cosines = iter((vectors[1:] @ vectors[0]).tolist())
    asked = content_terms(question)
    wanted = [w for w in map(normalise_answer, answers) if w]
    out = []
    for passage, found in zip(passages, spans):
        sentences = []
        for start, end in found:
            text = passage.text[start:end]
            held = len(asked & content_terms(text)) / len(asked) if asked else 0.0
            holds = any(w in text.lower() for w in wanted)
            sentences.append(ScoredSentence(start, end, next(cosines), held, holds))
        out.append(sentences)
    return out


def best_run(
    passage: Passage, sentences: Sequence[ScoredSentence], selection: SnippetSelection
) -> tuple[int, int]:
    """(start, end) in ``passage.text`` of its best run of ``selection.sentences`` sentences;
    the whole passage when it has no more sentences than that. Ties go to the earlier run."""
    n = selection.sentences
    if n == 0 or len(sentences) <= n:
        return 0, len(passage.text)
    scores = [s.score(selection) for s in sentences]
    first = max(range(len(scores) - n + 1), key=lambda i: sum(scores[i : i + n]))
    return sentences[first].start, sentences[first + n - 1].end


def snippet_spans(
    question: str,
    passages: Sequence[Passage],
    encoder: SentenceEncoder,
    selection: SnippetSelection,
    answers: Sequence[str] = (),
) -> list[tuple[int, int]]:
    """(start, end) of each passage's snippet inside its text, in the passages' order."""
    if selection.sentences == 0:  # whole passages: nothing to encode
        return [(0, len(p.text)) for p in passages]
    scored = scored_sentences(question, passages, encoder, answers)
    return [best_run(p, s, selection) for p, s in zip(passages, scored)]
