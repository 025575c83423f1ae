"""BioASQ task B measures, computed the way the official evaluator computes them.

The official scores come from the Java tool ``evaluation.EvaluatorTask1b`` of the repository
BioASQ/Evaluation-Measures (``flat/BioASQEvaluation/src``: ``evaluation/EvaluatorTask1b.java``,
``evaluation/QuestionAnswerEvaluator.java``, ``data/Task1bData.java``, ``data/ExactAnswer.java``,
``data/Snippet.java``, ``data/Question.java``, ``data/CalculatedMeasures.java``). Numbers we
report must be comparable with the leaderboard, so this module follows that code rule by rule,
quirks included, rather than the textbook definitions. The quirks that change numbers:

Reading (``Task1bData``)
  * exact answers are lower-cased but *not* trimmed; a yes/no answer becomes ``"yes"`` if the
    lower-cased text contains "yes", else ``"no"`` if it contains "no" (so "not known" reads as
    "no"), else ``"none"``;
  * from version 5 on, only the first string of each submitted item counts (participants no
    longer send synonyms); gold items keep all their synonyms;
  * documents are de-duplicated (first occurrence kept) and compared as exact strings (full
    PubMed URLs); nothing is cut to 10 documents or snippets;
  * a snippet section name keeps what follows its first dot ("sections.0" -> "0").

Phase B (``QuestionAnswerEvaluator``, ``EvaluatorTask1b``)
  * a gold factoid, list or yes/no question missing from the submission is left out of every
    mean under version 9; under the other versions the Java fails (a NullPointerException:
    its skip test sits inside the version-9 condition), so we raise. Version 9 also leaves out
    gold questions without an exact answer. (Phase A leaves missing questions out under every
    version, and version 9 also gold questions without documents, resp. snippets.);
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
    macro-F1 0.5.

Phase A
  * AP of documents divides by |gold| (version 2), 10 (versions 3, 5) or min(10, |gold|)
    (versions 8, 9); a submission longer than the divisor can score AP above 1;
  * snippets of one document and section that overlap are first merged (gold and submission);
    precision and recall are overlapping characters over submitted and gold characters, with
    inclusive offsets (a snippet spans end - begin + 1 characters); documents are matched on
    the last path segment for precision/recall but on the full string for AP;
  * snippet AP: precision at r is the character precision of the first r snippets, and a
    snippet counts as relevant when *any* gold snippet comes from the same document (a stray
    semicolon in the Java skips the overlap test); divisors as for documents, taken over the
    merged gold snippets;
  * GMAP adds 0.00001 to every AP; a NaN AP counts as log(0.00001) for documents but is skipped
    (adds log 1) for snippets, and a snippet log-sum of exactly 0 gives GMAP 0;
  * means over zero questions follow Java's arithmetic: document F1, MAP, GMAP and snippet
    precision, recall, F1, MAP come out NaN, the others 0.

Deliberate differences: input the Java tool would crash on (a list where a string belongs,
a flat list where a list of lists belongs, a question without an id, ...) raises
:class:`~qa.errors.CorpusFormatError` naming the file and the question; a factoid or list answer
given as a plain string, which Java would quietly score 0, raises as well.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.corpus.files import load_json
from qa.errors import CorpusFormatError

#: Values of the Java tool's ``-e`` flag: 2 for BioASQ1-2, 3 for BioASQ3-4, 5 for BioASQ5-7,
#: 8 for BioASQ8, 9 since BioASQ9. The Java ``main`` rejects nothing but computes no AP for
#: other values, so we refuse them.
VERSIONS = (2, 3, 5, 8, 9)

#: What the Java tool uses when ``-e`` is not given (``EvaluatorTask1b.main``).
JAVA_DEFAULT_VERSION = 2

#: The version BioASQ uses for its current editions (BioASQ9 and later).
CURRENT_VERSION = 9

#: Added to every average precision before the logarithm of GMAP (``epsilon`` in the Java).
GMAP_EPSILON = 0.00001

FACTOID, YESNO, SUMMARY, LIST = "factoid", "yesno", "summary", "list"
_TYPES = (FACTOID, YESNO, SUMMARY, LIST)

_MISSING: Any = object()


# ----------------------------------------------------------------------------------------------
# Data model
# ----------------------------------------------------------------------------------------------


@dataclass
class ExactAnswer:
    """An exact answer as the Java reads it: one of the three fields is filled.

    ``label`` holds a yes/no answer ("yes", "no" or "none"), ``answers`` a flat list of strings
    (the BioASQ1-2 factoid format, read only under version 2) and ``items`` a list of items, each
    a list of synonyms. Everything is lower-cased.
    """

    label: str | None = None
    answers: list[str] = field(default_factory=list)
    items: list[list[str]] = field(default_factory=list)

    def is_empty(self) -> bool:
        return self.label is None and not self.answers and not self.items


@dataclass
class Snippet:
    """A snippet with inclusive character offsets inside one section of one document."""

    document: str
    begin_section: str
    end_section: str
    begin: int
    end: int

    @property
    def size(self) -> int:
        """Characters covered; the Java counts both ends (``end - begin + 1``)."""
        return self.end - self.begin + 1

    @property
    def document_id(self) -> str:
        """Last path segment of the document, as Java's ``split("/")`` gives it."""
        parts = self.document.split("/")
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()  # Java's split drops trailing empty strings
        return parts[-1]

    def _comparable(self, other: Snippet) -> bool:
        # Same sections, or the asymmetric rule: a section "0" (from "sections.0") of this
        # snippet may meet an "abstract" of the other one, never the reverse.
        return (
            self.begin_section == other.begin_section and self.end_section == other.end_section
        ) or (self.begin_section == "0" and other.begin_section == "abstract")

    def overlap(self, other: Snippet) -> int:
        """Characters shared with ``other`` (``Snippet.overlap``; documents are not checked)."""
        if not self._comparable(other):
            return 0
        if self.begin > other.end or self.end < other.begin:
            return 0
        return min(self.end, other.end) - max(self.begin, other.begin) + 1

    def overlaps(self, other: Snippet) -> bool:
        return self._comparable(other) and not (self.begin > other.end or self.end < other.begin)

    def merged(self, other: Snippet) -> Snippet:
        """The span of both, keeping this snippet's document and sections."""
        return Snippet(
            self.document,
            self.begin_section,
            self.end_section,
            min(self.begin, other.begin),
            max(self.end, other.end),
        )


@dataclass
class _Question:
    """One question of a gold file or a submission, mutable like the Java ``Question``.

    The Java evaluator changes these lists while it scores (merged snippets, documents cut down
    to the relevant ones, matched list items removed), and later steps see the changes; keeping
    one mutable object per question lets us reproduce that.
    """

    id: str
    type: str | None
    documents: list[str]
    snippets: list[Snippet]
    raw_exact: Any
    source: str
    parsed_exact: Any = _MISSING

    def where(self) -> str:
        return f"{self.source}, question {self.id}"


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


def _read_json(path: str | Path) -> Any:
    return load_json(path, "a BioASQ JSON file ({'questions': [...]})")


def _question_dicts(data: Any, source: str) -> list[dict]:
    """The question objects of a BioASQ file, checked for what every question needs: an id."""
    if isinstance(data, Mapping):
        if "questions" not in data:
            raise CorpusFormatError(
                f'{source}: no "questions" list; a BioASQ file is {{"questions": [...]}}.'
            )
        data = data["questions"]
    if not isinstance(data, list):
        raise CorpusFormatError(
            f'{source}: "questions" must be a list of question objects, got a {type(data).__name__}.'
        )
    for n, q in enumerate(data, start=1):
        if not isinstance(q, Mapping):
            raise CorpusFormatError(
                f"{source}, question #{n}: expected an object, got a {type(q).__name__}."
            )
        qid = q.get("id")
        if not isinstance(qid, str) or not qid:
            raise CorpusFormatError(f"{source}, question #{n}: no 'id' string.")
    return list(data)


def load_questions(path: str | Path) -> list[dict]:
    """Question objects of a BioASQ JSON file (gold or submission), ids checked."""
    return _question_dicts(_read_json(path), str(path))


def load_submission(path: str | Path) -> list[dict]:
    """Question objects of a submission file; answers are checked when they are scored."""
    return load_questions(path)


def _text(value: Any, where: str, what: str) -> str:
    # gson's nextString also accepts a number and gives its literal.
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise CorpusFormatError(f"{where}: {what} must be a string, got {json.dumps(value)[:60]}.")


def _offset(value: Any, where: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise CorpusFormatError(
            f"{where}: {what} must be an integer, got {json.dumps(value)[:60]}."
        )
    return int(value)


def _section(name: str) -> str:
    # "sections.0" -> "0", "abstract" -> "abstract": what follows the first dot, if any.
    return name[name.find(".") + 1 :]


def _build(raw: Sequence[Mapping], source: str) -> list[_Question]:
    questions = []
    for q in raw:
        qid = q["id"]
        where = f"{source}, question {qid}"
        qtype = q.get("type")
        docs_raw = q.get("documents", [])
        if not isinstance(docs_raw, list):
            raise CorpusFormatError(f"{where}: 'documents' must be a list of strings.")
        documents: list[str] = []
        for d in docs_raw:
            d = _text(d, where, "each document")
            if d not in documents:
                documents.append(d)
        snips_raw = q.get("snippets", [])
        if not isinstance(snips_raw, list):
            raise CorpusFormatError(f"{where}: 'snippets' must be a list of objects.")
        snippets = []
        for s in snips_raw:
            if not isinstance(s, Mapping):
                raise CorpusFormatError(f"{where}: each snippet must be an object.")
            snippets.append(
                Snippet(
                    document=_text(s.get("document", ""), where, "a snippet's 'document'"),
                    begin_section=_section(
                        _text(s.get("beginSection", ""), where, "'beginSection'")
                    ),
                    end_section=_section(_text(s.get("endSection", ""), where, "'endSection'")),
                    begin=_offset(
                        s.get("offsetInBeginSection", 0), where, "'offsetInBeginSection'"
                    ),
                    end=_offset(s.get("offsetInEndSection", 0), where, "'offsetInEndSection'"),
                )
            )
        questions.append(
            _Question(
                id=qid,
                type=qtype if isinstance(qtype, str) else None,
                documents=documents,
                snippets=snippets,
                raw_exact=q.get("exact_answer", _MISSING),
                source=source,
            )
        )
    return questions


def _yesno_label(text: str) -> str:
    text = text.lower()
    if "yes" in text:
        return "yes"
    if "no" in text:
        return "no"
    return "none"


def _exact_answer(q: _Question, qtype: str, version: int, is_gold: bool) -> ExactAnswer | None:
    """Parse (once) the exact answer of ``q``, scored as a ``qtype`` question."""
    if q.parsed_exact is _MISSING:
        q.parsed_exact = _parse_exact(q.raw_exact, qtype, version, is_gold, q.where())
    return q.parsed_exact


def _parse_exact(
    raw: Any, qtype: str, version: int, is_gold: bool, where: str
) -> ExactAnswer | None:
    if raw is _MISSING:
        return None
    if qtype == YESNO:
        if not isinstance(raw, str):
            raise CorpusFormatError(
                f'{where}: \'exact_answer\' must be a string ("yes" or "no") for a yesno question.'
            )
        return ExactAnswer(label=_yesno_label(raw))
    nested = f"{where}: 'exact_answer' must be a list of lists for a {qtype} question"
    if not isinstance(raw, list):
        raise CorpusFormatError(f"{nested}, got {json.dumps(raw)[:60]}.")
    if not raw:
        return ExactAnswer()
    if all(isinstance(x, list) for x in raw):
        items = []
        for item in raw:
            synonyms = [_text(s, where, "each answer").lower() for s in item]
            if not is_gold and version >= 5:
                synonyms = synonyms[:1]  # since BioASQ5 submitted synonyms are ignored
            items.append(synonyms)
        return ExactAnswer(items=items)
    if version == 2 and not any(isinstance(x, (list, Mapping)) for x in raw):
        # the BioASQ1-2 flat factoid list
        return ExactAnswer(answers=[_text(x, where, "each answer").lower() for x in raw])
    raise CorpusFormatError(
        f'{nested} (e.g. [["answer", "synonym"], ["other answer"]]), got {json.dumps(raw)[:60]}.'
    )


def _check_version(version: int) -> None:
    if version not in VERSIONS:
        raise ValueError(
            f"version must be one of {VERSIONS} (the Java tool's -e values: 2 for BioASQ1-2, "
            f"3 for BioASQ3-4, 5 for BioASQ5-7, 8 for BioASQ8, 9 since BioASQ9), got {version!r}."
        )


def _first_by_id(questions: Iterable[_Question]) -> dict[str, _Question]:
    found: dict[str, _Question] = {}
    for q in questions:
        found.setdefault(q.id, q)  # Task1bData.getQuestion returns the first match
    return found


# ----------------------------------------------------------------------------------------------
# Java arithmetic
# ----------------------------------------------------------------------------------------------


def _div(a: float, b: float) -> float:
    """Java double division: x/0 is NaN or an infinity instead of an exception."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * (math.copysign(1.0, b))
    return a / b


def _log(x: float) -> float:
    if math.isnan(x) or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    return math.log(x)


def _exp(x: float) -> float:
    if math.isnan(x):
        return math.nan
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _nan0(x: float) -> float:
    return 0.0 if math.isnan(x) else x


# ----------------------------------------------------------------------------------------------
# Phase B
# ----------------------------------------------------------------------------------------------


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


def _mean(values: Sequence[float]) -> float:
    return sum(_nan0(v) for v in values) / len(values) if values else 0.0


def _phase_b(
    gold: Sequence[_Question],
    submission: Sequence[_Question],
    version: int,
    max_factoid_answers: int | None,
    submission_name: str,
) -> dict:
    _check_version(version)
    if max_factoid_answers is not None and max_factoid_answers < 1:
        raise ValueError(f"max_factoid_answers must be at least 1, got {max_factoid_answers}.")
    by_id = _first_by_id(submission)
    factoids: list[FactoidScore] = []
    lists: list[tuple[float, float, float]] = []
    yesno: list[tuple[bool, bool]] = []  # (gold is "yes", answer right)
    for g in gold:
        if g.type not in _TYPES:
            raise CorpusFormatError(
                f"{g.where()}: 'type' must be one of {', '.join(_TYPES)}, got {g.type!r}."
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
        gold_answer = _exact_answer(g, g.type, version, is_gold=True)
        if gold_answer is None or gold_answer.is_empty():
            if version == 9:
                continue
            if gold_answer is None:
                raise CorpusFormatError(
                    f"{g.where()}: a {g.type} question has no 'exact_answer'; the official "
                    "evaluator fails on this unless version 9 is used, which skips such questions."
                )
        answer = _exact_answer(resp, g.type, version, is_gold=False)
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
            "strict_accuracy": _mean([s.strict for s in factoids]),
            "lenient_accuracy": _mean([s.lenient for s in factoids]),
            "mrr": _mean([s.reciprocal_rank for s in factoids]),
            "questions": len(factoids),
        },
        "list": {
            "mean_precision": _mean([p for p, _, _ in lists]),
            "mean_recall": _mean([r for _, r, _ in lists]),
            "mean_f1": _mean([f for _, _, f in lists]),
            "questions": len(lists),
        },
        "yesno": {
            "accuracy": _mean([1.0 if right else 0.0 for _, right in yesno]),
            "macro_f1": (f1_yes + f1_no) / 2,
            "f1_yes": f1_yes,
            "f1_no": f1_no,
            "questions": len(yesno),
        },
    }


# ----------------------------------------------------------------------------------------------
# Phase A
# ----------------------------------------------------------------------------------------------


def merge_overlapping(snippets: list[Snippet]) -> None:
    """Merge, in place, snippets of one document and section that overlap.

    Follows ``concatenateSnippets`` step by step, index bookkeeping included: the merged
    snippet takes the place of the first one, the second is removed, and the scan resumes at
    index 1.
    """
    i = 0
    while i < len(snippets):
        j = 0
        while j < len(snippets):
            if i >= len(snippets):
                break  # the Java would fail here; only reachable with end < begin offsets
            a, b = snippets[i], snippets[j]
            if (
                j != i
                and a.document == b.document
                and a.begin_section == b.begin_section
                and a.end_section == b.end_section
                and a.overlaps(b)
            ):
                snippets[i] = a.merged(b)
                del snippets[j]
                j = 0
            j += 1
        i += 1


@dataclass
class PhaseAScore:
    """Question-level measures of one kind of item (``CalculatedMeasures``)."""

    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    average_precision: float = 0.0


def _divisor(version: int, n_gold: int) -> float:
    if version == 2:
        return float(n_gold)
    if version in (3, 5):
        return 10.0
    return float(min(10, n_gold))


def document_scores(gold: list[str], submitted: list[str], version: int) -> PhaseAScore:
    """Precision, recall, F1 and AP of a document list; ``submitted`` is cut to relevant ones.

    ``submitted`` must already be de-duplicated, as the Java reader does.
    """
    score = PhaseAScore()
    gold_set = set(gold)
    if submitted:
        submitted_set = set(submitted)
        tp = sum(1 for d in submitted if d in gold_set)
        fn = sum(1 for d in gold if d not in submitted_set)
        score.precision = tp / len(submitted)
        score.recall = tp / (tp + fn) if tp + fn else 0.0
        if score.precision and score.recall:
            score.f1 = 2 * score.precision * score.recall / (score.precision + score.recall)
    total, hits = 0.0, 0
    for rank, d in enumerate(submitted, start=1):
        if d in gold_set:
            hits += 1
            total += hits / rank
    submitted[:] = [d for d in submitted if d in gold_set]  # the Java's retainAll
    if submitted:
        score.average_precision = _div(total, _divisor(version, len(gold)))
    return score


def snippet_scores(gold: list[Snippet], submitted: list[Snippet], version: int) -> PhaseAScore:
    """Character-overlap precision, recall, F1 and AP of already merged snippet lists."""
    score = PhaseAScore()
    if submitted:
        overlap = sum(
            s.overlap(g) for s in submitted for g in gold if s.document_id == g.document_id
        )
        submitted_chars = sum(s.size for s in submitted)
        gold_chars = sum(g.size for g in gold)
        if submitted_chars != 0:
            score.precision = _div(overlap, submitted_chars)
        if gold_chars != 0:
            score.recall = _div(overlap, gold_chars)
        if score.precision != 0 or score.recall != 0:
            score.f1 = _div(2 * score.precision * score.recall, score.precision + score.recall)
    total = 0.0
    chars = shared = 0
    for s in submitted:
        chars += s.size
        shared += sum(s.overlap(g) for g in gold if s.document == g.document)
        relevant = any(s.document == g.document for g in gold)
        total += _div(shared, chars) * (1 if relevant else 0)
    score.average_precision = _div(total, _divisor(version, len(gold)))
    return score


def _score_pair(gold: _Question, resp: _Question, version: int) -> tuple[PhaseAScore, PhaseAScore]:
    """``calculateMeasuresForPair``, documents and snippets, mutating both questions."""
    documents = document_scores(gold.documents, resp.documents, version)
    merge_overlapping(gold.snippets)
    merge_overlapping(resp.snippets)
    snippets = snippet_scores(gold.snippets, resp.snippets, version)
    return documents, snippets


def _phase_a(gold: Sequence[_Question], submission: Sequence[_Question], version: int) -> dict:
    _check_version(version)
    by_id = _first_by_id(submission)
    doc_scores: list[PhaseAScore] = []
    snip_scores: list[PhaseAScore] = []
    # Two passes, as in EvaluatePhaseA: the first scores documents, the second (on the
    # questions the first one changed) snippets.
    for g in gold:
        resp = by_id.get(g.id)
        if resp is None or (version == 9 and not g.documents):
            continue
        doc_scores.append(_score_pair(g, resp, version)[0])
    for g in gold:
        resp = by_id.get(g.id)
        if resp is None or (version == 9 and not g.snippets):
            continue
        snip_scores.append(_score_pair(g, resp, version)[1])
    return {"documents": _document_means(doc_scores), "snippets": _snippet_means(snip_scores)}


def _document_means(scores: Sequence[PhaseAScore]) -> dict:
    n = len(scores)
    log_sum = sum(
        _log(GMAP_EPSILON)
        if math.isnan(s.average_precision)
        else _log(s.average_precision + GMAP_EPSILON)
        for s in scores
    )
    return {
        "mean_precision": _mean([s.precision for s in scores]),
        "mean_recall": _mean([s.recall for s in scores]),
        "f_measure": _div(sum(_nan0(s.f1) for s in scores), n),
        "map": _div(sum(_nan0(s.average_precision) for s in scores), n),
        "gmap": _exp(_div(log_sum, n)),
        "questions": n,
    }


def _snippet_means(scores: Sequence[PhaseAScore]) -> dict:
    n = len(scores)
    log_sum = sum(
        _log(s.average_precision + GMAP_EPSILON)
        for s in scores
        if not math.isnan(s.average_precision)
    )
    # The Java returns 0 for a NaN log-sum and for one of exactly 0.
    gmap = 0.0 if math.isnan(log_sum) or log_sum == 0 else _exp(_div(log_sum, n))
    return {
        "mean_precision": _div(sum(_nan0(s.precision) for s in scores), n),
        "mean_recall": _div(sum(_nan0(s.recall) for s in scores), n),
        "f_measure": _div(sum(_nan0(s.f1) for s in scores), n),
        "map": _div(sum(_nan0(s.average_precision) for s in scores), n),
        "gmap": gmap,
        "questions": n,
    }


# ----------------------------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------------------------


QuestionsInput = Sequence[Mapping] | Mapping


def evaluate_phase_b(
    gold_questions: QuestionsInput,
    submission_questions: QuestionsInput,
    version: int = JAVA_DEFAULT_VERSION,
    *,
    max_factoid_answers: int | None = None,
    gold_name: str = "gold",
    submission_name: str = "submission",
) -> dict:
    """Phase B exact-answer measures, as ``EvaluatorTask1b -phaseB -e version`` reports them.

    ``version`` defaults to 2, the Java tool's default when ``-e`` is not given; recent gold
    files need 5 or later (version 2 reads factoid answers as flat lists and scores nested
    ones 0). ``max_factoid_answers=5`` applies the guidelines' limit, which the Java does not.
    The names only label error messages.
    """
    gold = _build(_question_dicts(gold_questions, gold_name), gold_name)
    submission = _build(_question_dicts(submission_questions, submission_name), submission_name)
    return _phase_b(gold, submission, version, max_factoid_answers, submission_name)


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
    gold = _build(_question_dicts(gold_questions, gold_name), gold_name)
    submission = _build(_question_dicts(submission_questions, submission_name), submission_name)
    return _phase_a(gold, submission, version)


def evaluate_bioasq(
    gold_paths: str | Path | Sequence[str | Path],
    submission_path: str | Path,
    version: int = JAVA_DEFAULT_VERSION,
    *,
    max_factoid_answers: int | None = None,
) -> dict:
    """Both phases of one submission file against one or more gold files (questions joined)."""
    _check_version(version)
    if isinstance(gold_paths, (str, Path)):
        gold_paths = [gold_paths]
    raw_gold = [(str(p), load_questions(p)) for p in gold_paths]
    raw_sub = load_submission(submission_path)

    def gold() -> list[_Question]:
        return [q for name, qs in raw_gold for q in _build(qs, name)]

    def submission() -> list[_Question]:
        return _build(raw_sub, str(submission_path))

    # Fresh objects per phase: scoring changes them, as the Java does within one phase.
    return {
        "version": version,
        "gold_questions": sum(len(qs) for _, qs in raw_gold),
        "submitted_questions": len(raw_sub),
        "phase_a": _phase_a(gold(), submission(), version),
        "phase_b": _phase_b(
            gold(), submission(), version, max_factoid_answers, str(submission_path)
        ),
    }


# ----------------------------------------------------------------------------------------------
# SQuAD
# ----------------------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def _squad_normalize(text: str) -> str:
    """SQuAD v1.1 normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _token_f1(prediction: str, gold: str) -> float:
    pred, ref = _squad_normalize(prediction).split(), _squad_normalize(gold).split()
    if not pred or not ref:
        return float(pred == ref)  # both empty: a match; one empty: nothing shared
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_em_f1(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """Exact match and token F1 of ``prediction``, best over ``golds`` (0, 0 with no gold).

    The BioASQ measures above compare whole lower-cased strings; these are the softer
    reading-comprehension scores, useful to see how close wrong exact answers are.
    """
    if not golds:
        return 0.0, 0.0
    norm = _squad_normalize(prediction)
    em = max(float(norm == _squad_normalize(g)) for g in golds)
    return em, max(_token_f1(prediction, g) for g in golds)
