"""Phase B: exact answers, scored as ``QuestionAnswerEvaluator`` and ``EvaluatorTask1b`` do.

* a gold factoid, list or yes/no question missing from the submission is left out of every
  mean under version 9; under the other versions the Java fails (a NullPointerException: its
  skip test sits inside the version-9 condition), so we raise. Version 9 also leaves out gold
  questions without an exact answer;
* factoid (version >= 3): strict = the first submitted item holds a synonym of a gold item,
  lenient = any submitted item does, MRR = 1/rank of the first such item; every submitted item
  counts (the guidelines' limit of 5 is *not* applied; ``max_factoid_answers=5`` applies it);
  version 2 compares flat string lists and its strict accuracy only looks at the first gold
  synonym;
* list: a submitted item that matches a gold item removes that gold item (so a duplicate
  scores as a false positive); a gold item left over is a false negative unless some
  submitted item shares a string with it, and each submitted item can save one such item;
* yes/no: the confusion matrix of label L counts every wrong answer on a gold-L question as a
  miss and every wrong answer on another question as a false L; F1 of a label that is never
  gold and never wrongly predicted is 0, so a perfect run on all-"yes" questions has
  macro-F1 0.5;
* ideal answers (``ideal``): ROUGE-2 and ROUGE-SU4 recall and F1, which the Java does not
  compute (BioASQ runs ROUGE separately), from :mod:`.rouge`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qa.errors import CorpusFormatError
from qa.evaluate.bioasq import java
from qa.evaluate.bioasq.model import (
    FACTOID,
    JAVA_DEFAULT_VERSION,
    LIST,
    SUMMARY,
    ExactAnswer,
    Question,
    check_version,
    first_by_id,
)
from qa.evaluate.bioasq.rouge import ideal_answer_rouge
from qa.evaluate.bioasq.submission import exact_answer
from qa.types import QUESTION_TYPES


def _holds_synonym(items: list[list[str]], candidate: list[str], remove: bool) -> bool:
    """``ExactAnswer.containsAnswerSynonym``: does an item share a string with ``candidate``?

    The first such item (in order) is removed when ``remove`` is set.
    """
    for i, synonyms in enumerate(items):
        if any(s in candidate for s in synonyms):
            if remove:
                del items[i]
            return True
    return False


@dataclass
class FactoidScore:
    strict: float = 0.0
    lenient: float = 0.0
    reciprocal_rank: float = 0.0


def factoid_score(
    gold: ExactAnswer,
    submitted: ExactAnswer | None,
    version: int = JAVA_DEFAULT_VERSION,
    max_answers: int | None = None,
) -> FactoidScore:
    """Strict accuracy, lenient accuracy and reciprocal rank of one factoid answer."""
    score = FactoidScore()
    if submitted is None:
        return score
    if version == 2:
        system = submitted.answers[:max_answers]
        if system and gold.answers and system[0] == gold.answers[0]:
            score.strict = 1.0
        for rank, answer in enumerate(system, start=1):
            if answer in gold.answers:
                score.lenient, score.reciprocal_rank = 1.0, 1.0 / rank
                break
        return score
    candidates = submitted.items[:max_answers]
    if candidates and _holds_synonym(gold.items, candidates[0], remove=False):
        score.strict = 1.0
    for rank, candidate in enumerate(candidates, start=1):
        if _holds_synonym(gold.items, candidate, remove=False):
            score.lenient, score.reciprocal_rank = 1.0, 1.0 / rank
            break
    return score


def list_prf(gold: ExactAnswer, submitted: ExactAnswer | None) -> tuple[float, float, float]:
    """Precision, recall, F1 of one list answer (``calculatePRFforListQuestions``).

    Both answers are consumed: matched gold items are removed from ``gold.items`` and gold items
    saved in the second pass remove a submitted item, as in the Java.
    """
    if submitted is None or not submitted.items:
        return 0.0, 0.0, 0.0
    tp = fp = fn = 0
    for item in list(submitted.items):
        if _holds_synonym(gold.items, item, remove=True):
            tp += 1
        else:
            fp += 1
    for item in gold.items:
        if not _holds_synonym(submitted.items, item, remove=True):
            fn += 1
    precision = tp / (tp + fp)
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    return precision, recall, f1


def _label_f1(pairs: Sequence[tuple[bool, bool]], label: bool) -> float:
    """F1 of the label "yes" (``True``) or "no" from (gold is yes, answer right) pairs."""
    if not pairs:
        return 0.0
    tp = sum(1 for is_yes, right in pairs if is_yes == label and right)
    missed = sum(1 for is_yes, right in pairs if is_yes == label and not right)
    false_alarm = sum(1 for is_yes, right in pairs if is_yes != label and not right)
    denominator = 2 * tp + missed + false_alarm
    return 2 * tp / denominator if denominator else 0.0


def phase_b(
    gold: Sequence[Question],
    submission: Sequence[Question],
    version: int,
    max_factoid_answers: int | None,
    submission_name: str,
) -> dict:
    """Mean exact-answer measures per type over the gold questions the Java would score."""
    check_version(version)
    if max_factoid_answers is not None and max_factoid_answers < 1:
        raise ValueError(f"max_factoid_answers must be at least 1, got {max_factoid_answers}.")
    by_id = first_by_id(submission)
    factoids: list[FactoidScore] = []
    lists: list[tuple[float, float, float]] = []
    yesno: list[tuple[bool, bool]] = []  # (gold is "yes", answer right)
    for g in gold:
        if g.type not in QUESTION_TYPES:
            raise CorpusFormatError(
                f"{g.where()}: 'type' must be one of {', '.join(QUESTION_TYPES)}, got {g.type!r}."
            )
        if g.type == SUMMARY:
            continue  # no exact-answer measure
        resp = by_id.get(g.id)
        if resp is None:
            if version == 9:
                continue
            raise CorpusFormatError(
                f"{submission_name}, question {g.id}: this {g.type} question of the gold is "
                f"missing; the official evaluator fails on this under version {version} and "
                "leaves such questions out under version 9."
            )
        gold_answer = exact_answer(g, g.type, version, is_gold=True)
        if gold_answer is None or gold_answer.is_empty():
            if version == 9:
                continue
            if gold_answer is None:
                raise CorpusFormatError(
                    f"{g.where()}: a {g.type} question has no 'exact_answer'; the official "
                    "evaluator fails on this unless version 9 is used, which skips such questions."
                )
        answer = exact_answer(resp, g.type, version, is_gold=False)
        if g.type == FACTOID:
            factoids.append(factoid_score(gold_answer, answer, version, max_factoid_answers))
        elif g.type == LIST:
            lists.append(list_prf(gold_answer, answer))
        else:
            right = answer is not None and answer.label == gold_answer.label
            yesno.append((gold_answer.label == "yes", right))
    f1_yes, f1_no = _label_f1(yesno, True), _label_f1(yesno, False)
    return {
        "factoid": {
            "strict_accuracy": java.mean([s.strict for s in factoids]),
            "lenient_accuracy": java.mean([s.lenient for s in factoids]),
            "mrr": java.mean([s.reciprocal_rank for s in factoids]),
            "questions": len(factoids),
        },
        "list": {
            "mean_precision": java.mean([p for p, _, _ in lists]),
            "mean_recall": java.mean([r for _, r, _ in lists]),
            "mean_f1": java.mean([f for _, _, f in lists]),
            "questions": len(lists),
        },
        "yesno": {
            "accuracy": java.mean([1.0 if right else 0.0 for _, right in yesno]),
            "macro_f1": (f1_yes + f1_no) / 2,
            "f1_yes": f1_yes,
            "f1_no": f1_no,
            "questions": len(yesno),
        },
        "ideal": ideal_answer_rouge(gold, by_id),
    }
