"""BioASQ task B measures, computed the way the official evaluator computes them.

The official scores come from the Java tool ``evaluation.EvaluatorTask1b`` of the repository
BioASQ/Evaluation-Measures (``flat/BioASQEvaluation/src``: ``evaluation/EvaluatorTask1b.java``,
``evaluation/QuestionAnswerEvaluator.java``, ``data/Task1bData.java``, ``data/ExactAnswer.java``,
``data/Snippet.java``, ``data/Question.java``, ``data/CalculatedMeasures.java``). Numbers we
report must be comparable with the leaderboard, so this module follows that code rule by rule,
quirks included, rather than the textbook definitions. The quirks that change numbers are listed beside the
code that follows them: reading in :mod:`.submission`,
phase A in :mod:`.phase_a`, phase B in :mod:`.phase_b`, Java's arithmetic in :mod:`.java`;
the files are parsed by :mod:`qa.corpus.bioasq`, as the corpus reader parses them.

Deliberate differences: input the Java tool would crash on (a list where a string belongs,
a flat list where a list of lists belongs, a question without an id, ...) raises
:class:`~qa.errors.CorpusFormatError` naming the file and the question; a factoid or list answer
given as a plain string, which Java would quietly score 0, raises as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from qa.corpus.bioasq import question_objects, read_questions
from qa.evaluate.bioasq.model import (
    CURRENT_VERSION,
    JAVA_DEFAULT_VERSION,
    VERSIONS,
    Question,
    check_version,
)
from qa.evaluate.bioasq.phase_a import phase_a
from qa.evaluate.bioasq.phase_b import phase_b
from qa.evaluate.bioasq.submission import build_questions

__all__ = [
    "CURRENT_VERSION",
    "JAVA_DEFAULT_VERSION",
    "VERSIONS",
    "evaluate_bioasq",
    "evaluate_phase_a",
    "evaluate_phase_b",
]

QuestionsInput = Sequence[Mapping] | Mapping


def _questions(data: QuestionsInput, name: str) -> list[Question]:
    return build_questions(question_objects(data, name), name)


def evaluate_phase_b(
    gold_questions: QuestionsInput,
    submission_questions: QuestionsInput,
    version: int = JAVA_DEFAULT_VERSION,
    *,
    max_factoid_answers: int | None = None,
    gold_name: str = "gold",
    submission_name: str = "submission",
) -> dict:
    """Phase B exact-answer measures, as ``EvaluatorTask1b -phaseB -e version`` reports them,
    and (``ideal``) the ROUGE-2 and ROUGE-SU4 of the ideal answers (:mod:`.rouge`).

    ``version`` defaults to 2, the Java tool's default when ``-e`` is not given; recent gold
    files need 5 or later (version 2 reads factoid answers as flat lists and scores nested
    ones 0). ``max_factoid_answers=5`` applies the guidelines' limit, which the Java does not.
    The names only label error messages.
    """
    gold = _questions(gold_questions, gold_name)
    submission = _questions(submission_questions, submission_name)
    return phase_b(gold, submission, version, max_factoid_answers, submission_name)


def evaluate_phase_a(
    gold_questions: QuestionsInput,
    submission_questions: QuestionsInput,
    version: int = JAVA_DEFAULT_VERSION,
    *,
    gold_name: str = "gold",
    submission_name: str = "submission",
) -> dict:
    """Phase A document and snippet measures, as ``EvaluatorTask1b -phaseA -e version``.

    Each section holds mean_precision, mean_recall, f_measure, map, gmap and the number of
    questions scored. Concepts and triples, which the Java also scores, are left out.
    """
    gold = _questions(gold_questions, gold_name)
    submission = _questions(submission_questions, submission_name)
    return phase_a(gold, submission, version)


def evaluate_bioasq(
    gold_paths: str | Path | Sequence[str | Path],
    submission_path: str | Path,
    version: int = JAVA_DEFAULT_VERSION,
    *,
    max_factoid_answers: int | None = None,
) -> dict:
    """Both phases of one submission file against one or more gold files (questions joined)."""
    check_version(version)
    if isinstance(gold_paths, (str, Path)):
        gold_paths = [gold_paths]
    raw_gold = [(str(p), read_questions(p)) for p in gold_paths]
    raw_sub = read_questions(submission_path)

    def gold() -> list[Question]:
        return [q for name, qs in raw_gold for q in build_questions(qs, name)]

    def submission() -> list[Question]:
        return build_questions(raw_sub, str(submission_path))

    # Fresh objects per phase: scoring changes them, as the Java does within one phase.
    return {
        "version": version,
        "gold_questions": sum(len(qs) for _, qs in raw_gold),
        "submitted_questions": len(raw_sub),
        "phase_a": phase_a(gold(), submission(), version),
        "phase_b": phase_b(
            gold(), submission(), version, max_factoid_answers, str(submission_path)
        ),
    }
