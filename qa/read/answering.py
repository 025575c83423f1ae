"""Answering a question of each BioASQ type from passages that are already at hand.

Factoid and list questions go to the extractive reader (a list keeps the spans close to the
best, see ``select_list``), yes/no questions to the yes/no classifier, and summary questions
(or any question when an ideal answer is asked for) to the sentence picker. When no window of
the passages makes a factoid or list question answerable (below ``[reader] abstain_below``,
see :class:`qa.read.reader.Reading`), or, for a question of any type, its best passage is far
from it (below ``abstain_similarity_below``, see :func:`evidence_similarity`), the result says
it abstained, and the chat, the CLI and the API show the evidence instead of answers (the
answers stay in the result, for a BioASQ submission). The passages behind
the top answers can then be annotated, their entities marked inside each answer.

The models come from an object with ``reader``, ``yesno``, ``qtype``, ``answer_type``,
``encoder`` and ``annotator`` attributes (``qa.components.Components``), touched only when a
question needs them, so a yes/no question never loads the span reader.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from qa.config import AnnotateConfig, ReaderConfig
from qa.errors import check_choice
from qa.types import (
    QUESTION_TYPES,
    SPAN_TYPES,
    Annotations,
    Answer,
    Entity,
    Hit,
    Passage,
    QAResult,
    YesNo,
)

if TYPE_CHECKING:
    from qa.read.qtype import QuestionTypeClassifier
    from qa.read.reader import Reader, Reading
    from qa.read.yesno import YesNoClassifier
    from qa.retrieve.encoder import SentenceEncoder


class PassageAnnotator(Protocol):
    def annotate_passages(self, passages: Sequence[Passage]) -> dict[str, Annotations]: ...
    def entities(self, texts: Sequence[str]) -> list[list[Entity]]: ...


class AnswerModels(Protocol):
    """The models answering needs, each loaded on first use by whoever provides them."""

    @property
    def reader(self) -> Reader: ...
    @property
    def yesno(self) -> YesNoClassifier: ...
    @property
    def qtype(self) -> QuestionTypeClassifier: ...
    @property
    def answer_type(self) -> QuestionTypeClassifier: ...
    @property
    def encoder(self) -> SentenceEncoder: ...
    @property
    def annotator(self) -> PassageAnnotator: ...


@contextmanager
def timed(timings: dict[str, float], key: str) -> Iterator[None]:
    """Record the milliseconds the block takes as ``timings[key]`` (two decimals)."""
    started = time.perf_counter()
    yield
    timings[key] = round((time.perf_counter() - started) * 1000, 2)


def answer_passages(
    question: str,
    hits: Sequence[Hit],
    models: AnswerModels,
    reader: ReaderConfig,
    annotate: AnnotateConfig | None,
    qtype: str | None = None,
    ideal: bool | None = None,
    ranked: bool = False,
) -> QAResult:
    """The answer of the question's type (predicted when ``qtype`` is None) from ``hits``.

    ``ranked`` says the hits come best first from a retriever, so ``rank_prior`` applies to
    factoid answers. ``annotate`` (the [annotate] settings, or None for no annotation) tags the
    passages behind the top answers.
    """
    texts = [h.passage for h in hits]
    timings: dict[str, float] = {}
    qtype, source, probability = question_type(question, qtype, models, timings)
    result = QAResult(
        question, qtype, [], list(hits), timings, qtype_source=source, qtype_probability=probability
    )
    if qtype in SPAN_TYPES:
        with timed(timings, "read_ms"):
            found = read_spans(question, texts, qtype, models, reader, ranked)
        result.answers, result.answerability = found.answers, round(found.answerability, 4)
        result.abstained = found.answerability < reader.abstain_below
    elif qtype == "yesno":
        with timed(timings, "yesno_ms"):
            result.yesno = models.yesno.predict(question, texts)
    if qtype == "summary" or ideal:
        with timed(timings, "summary_ms"):
            result.ideal_answer = write_ideal(
                question, texts, models.encoder, reader, result.answers, result.yesno
            )
    if reader.abstain_similarity_below > float("-inf"):  # costs one more encoder call
        with timed(timings, "evidence_ms"):
            similarity = evidence_similarity(question, texts, models.encoder, ranked)
        result.evidence_similarity = round(similarity, 4)
        result.abstained |= similarity < reader.abstain_similarity_below
    if annotate is not None:
        # An abstained result shows the top passages, not the ones behind its answers.
        shown = [] if result.abstained else result.answers
        with timed(timings, "annotate_ms"):
            marked, result.annotations = annotate_answers(
                models.annotator, shown, texts, annotate.passages
            )
        result.answers = result.answers if result.abstained else marked
    return result


def question_type(
    question: str, qtype: str | None, models: AnswerModels, timings: dict[str, float]
) -> tuple[str, str, float | None]:
    """(type, "given" or "predicted", its probability when predicted); an unknown type is refused."""
    if qtype is None:
        with timed(timings, "qtype_ms"):
            predicted, probability = models.qtype.predict(question)
        return predicted, "predicted", probability
    check_choice("question type", qtype, QUESTION_TYPES, none_ok="to have it predicted")
    return qtype, "given", None


def read_spans(
    question: str,
    passages: Sequence[Passage],
    qtype: str,
    models: AnswerModels,
    cfg: ReaderConfig,
    ranked: bool,
) -> Reading:
    """Factoid: the best ``factoid_answers`` spans that do not echo the question; list: the
    items ``select_list`` keeps; with the passages' answerability either way. Candidates of the
    type the question expects are preferred first (``answer_type_weight``).

    Lists keep their echoes: on 9B, dropping them cost 0.002 list F1 (an echo at the top also
    sets the bar of ``list_delta``), while factoids gained 0.0005 MRR
    (``benchmarks/question_echoes.py``)."""
    from qa.read.clean import fold_enumerations, without_echoes
    from qa.read.reader import Reading, select_list

    if qtype == "factoid":
        prior = cfg.rank_prior if ranked else 0.0
        # More candidates than slots: an enumeration folded into a better answer, or an echo of
        # the question, frees one.
        pool = models.reader.reading(question, passages, 4 * cfg.factoid_answers, rank_prior=prior)
        answers = without_echoes(question, pool.answers)
        answers = fold_enumerations(expected_first(question, answers, models, cfg))
        return Reading(answers[: cfg.factoid_answers], pool.answerability)
    candidates = models.reader.reading(question, passages, top_k=max(20, cfg.list_max_items))
    answers = expected_first(question, candidates.answers, models, cfg)
    chosen = select_list(answers, cfg.list_delta, cfg.list_max_items, cfg.list_split)
    return Reading(chosen, candidates.answerability)


def expected_first(
    question: str, answers: Sequence[Answer], models: AnswerModels, cfg: ReaderConfig
) -> list[Answer]:
    """The answers re-scored by the answer-type prior (:mod:`qa.read.answer_type`), best
    first; as they are when the profile has no answer-type model or a weight of 0."""
    if not (cfg.answer_type_model and cfg.answer_type_weight and answers):
        return list(answers)
    from qa.read.answer_type import answer_types, prefer_expected

    classifier = models.answer_type
    expected = dict(zip(classifier.labels, classifier.probabilities([question])[0].tolist()))
    types = answer_types(answers, models.annotator.entities)
    shares = classifier.label_shares if cfg.answer_type_form == "lift" else None
    return prefer_expected(answers, types, expected, cfg.answer_type_weight, shares)


def evidence_similarity(
    question: str, passages: Sequence[Passage], encoder: SentenceEncoder, ranked: bool
) -> float:
    """The cosine of the question and the closest sentence of its best passage (the first of
    ``ranked`` passages, the retriever's best; else of any passage); -1 for none. Sentences,
    not whole passages, so that a long abstract scores as its one answering sentence does.

    It tells a question the index holds evidence for from one it does not far better than the
    reader's null margin, which always finds some span (``benchmarks/abstention.py``).
    """
    from qa.read.snippets import scored_sentences

    chosen = passages[:1] if ranked else passages
    found = scored_sentences(question, chosen, encoder)
    return max((cosine for sentences in found for _, _, cosine in sentences), default=-1.0)


def write_ideal(
    question: str,
    passages: Sequence[Passage],
    encoder: SentenceEncoder,
    cfg: ReaderConfig,
    answers: Sequence[Answer],
    yesno: YesNo | None,
) -> str:
    """A few best sentences of the top passages, after "Yes." or "No." for a yes/no question."""
    from qa.read.summary import best_sentences, ideal_answer

    prefix = {"yes": "Yes.", "no": "No."}.get(yesno.label, "") if yesno else ""
    chosen = best_sentences(
        question,
        passages[: cfg.summary_passages],
        encoder,
        answers=[a.text for a in answers],
        max_sentences=cfg.summary_sentences,
    )
    return ideal_answer(chosen, prefix)


def annotate_answers(
    annotator: PassageAnnotator,
    answers: Sequence[Answer],
    passages: Sequence[Passage],
    top: int,
) -> tuple[list[Answer], dict[str, Annotations]]:
    """Annotations of the passages behind the top answers (or the ``top`` first passages when
    there are no answers), and the answers with the entities inside their span marked."""
    chosen = list({a.passage.id: a.passage for a in answers}.values())[:top]
    if not chosen:
        chosen = list(passages[:top])
    annotations = annotator.annotate_passages(chosen)
    marked = []
    for a in answers:
        found = annotations.get(a.passage.id)
        inside = tuple(
            e for e in (found.entities if found else ()) if e.start < a.end and a.start < e.end
        )
        marked.append(dataclasses.replace(a, entities=inside) if inside else a)
    return marked, annotations
