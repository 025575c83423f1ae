"""The answer type a question expects, and a prior that prefers spans of that type.

"Which gene is mutated in Rett syndrome?" wants a gene, "Which drug ..." a chemical, "How many
..." a number; a span reader scores "MECP2" and "girls" on the words around them only. So:

* :func:`span_type` names what a span is: ``number`` when it is one ("25%", "three"), else the
  type of the entity the NER tagger finds over most of it (``gene``, ``chemical``, ``disease``,
  ``species``), else ``other``;
* the expected type comes from a linear model over the question's words
  (:class:`~qa.read.qtype.QuestionTypeClassifier` with the labels of :data:`ANSWER_TYPES`),
  trained by ``qa train answer-type`` on the BioASQ training batches, whose gold answers were
  typed with the same two rules (:mod:`qa.train.answer_type`);
* :func:`prefer_expected` adds ``weight * ln P(span's type | question)`` to each answer's score,
  so a span of an unlikely type needs more evidence to lead. ``weight`` 0 is the plain reader.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence

from qa.corpus.split import sentence_spans
from qa.types import Answer, Entity

ANSWER_TYPES = ("gene", "chemical", "disease", "species", "number", "other")
# The NER model's entity types, as answer types.
ENTITY_ANSWER_TYPES = {"GENE": "gene", "CHEMICAL": "chemical", "DISEASE": "disease",
                       "SPECIES": "species"}  # fmt: skip
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    "hundred|thousand|million|billion|dozen"
)
# A number that stands alone ("25%", "2-3", "10-fold", "three"), not the start of a name such
# as "5-fluorouracil" or "3q26", and at most three words (a unit, "per cent") after it.
_NUMBER = re.compile(
    rf"^(?:[~<>≈≤≥±]\s*)?(?:\d[\d.,:/×^]*(?:[-–]\d[\d.,]*)?(?:%|-fold)?|(?:{_NUMBER_WORDS}))"
    r"(?=\s|$)(?:\s+\S+){0,3}$",
    re.IGNORECASE,
)
MIN_COVER = 0.5  # an entity must cover at least half of a span's characters to type it
PROBABILITY_FLOOR = 1e-3  # ln of a zero probability would rule a span out


def is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def span_type(text: str, start: int, end: int, entities: Sequence[Entity]) -> str:
    """The answer type of ``text[start:end]``, given the entities tagged in ``text``."""
    if is_number(text[start:end]):
        return "number"
    best, cover = "other", 0
    for e in entities:
        overlap = min(end, e.end) - max(start, e.start)
        if overlap > cover and e.label in ENTITY_ANSWER_TYPES:
            best, cover = ENTITY_ANSWER_TYPES[e.label], overlap
    return best if cover >= MIN_COVER * (end - start) else "other"


def answer_types(
    answers: Sequence[Answer], tag: Callable[[list[str]], list[list[Entity]]]
) -> list[str]:
    """The type of each answer at its best occurrence; ``tag`` tags texts with entities. Only
    the sentence holding the occurrence is tagged, which is all the tagger looks at anyway and
    a fraction of a passage's tokens."""
    sentences: dict[tuple[str, int, int], int] = {}
    where = []
    for a in answers:
        bounds = sentence_spans(a.passage.text) or [(0, len(a.passage.text))]
        s, e = next(((s, e) for s, e in bounds if s <= a.start < e), (0, len(a.passage.text)))
        where.append((sentences.setdefault((a.passage.text, s, e), len(sentences)), s))
    texts = [text[s:e] for text, s, e in sentences]
    tagged = tag(texts) if texts else []
    return [
        span_type(texts[i], a.start - s, a.end - s, tagged[i]) for a, (i, s) in zip(answers, where)
    ]


def prefer_expected(
    answers: Sequence[Answer],
    types: Sequence[str],
    expected: dict[str, float],
    weight: float,
    shares: dict[str, float] | None = None,
) -> list[Answer]:
    """The answers re-scored by ``weight * ln P(type)`` (``expected``: type -> probability),
    best first. With ``shares`` (each type's share of the training questions) the gain is
    ``weight * ln(P(type) / share)``: what this question says beyond how common the type is."""
    shares = shares or {}

    def gain(kind: str) -> float:
        p = max(expected.get(kind, 0.0), PROBABILITY_FLOOR)
        return weight * math.log(p / max(shares.get(kind, 1.0), PROBABILITY_FLOOR))

    rescored = [dataclasses.replace(a, score=a.score + gain(t)) for a, t in zip(answers, types)]
    return sorted(rescored, key=lambda a: -a.score)
