"""Phase A: documents and snippets, scored as ``EvaluatorTask1b -phaseA`` does.

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
  precision, recall, F1, MAP come out NaN, the others 0;
* missing questions are left out under every version, and version 9 also leaves out gold
  questions without documents, resp. snippets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from qa.corpus.bioasq import Snippet
from qa.evaluate.bioasq import java
from qa.evaluate.bioasq.model import Question, check_version, first_by_id

#: Added to every average precision before the logarithm of GMAP (``epsilon`` in the Java).
GMAP_EPSILON = 0.00001


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
            if j != i and a.document == b.document and a.same_sections(b) and a.overlaps(b):
                snippets[i] = a.merged(b)
                del snippets[j]
                j = 0
            j += 1
        i += 1


class PhaseAScore(NamedTuple):
    """Question-level measures of one kind of item (``CalculatedMeasures``)."""

    precision: float
    recall: float
    f1: float
    average_precision: float


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
    precision = recall = f1 = average_precision = 0.0
    gold_set = set(gold)
    if submitted:
        submitted_set = set(submitted)
        tp = sum(1 for d in submitted if d in gold_set)
        fn = sum(1 for d in gold if d not in submitted_set)
        precision = tp / len(submitted)
        recall = tp / (tp + fn) if tp + fn else 0.0
        if precision and recall:
            f1 = 2 * precision * recall / (precision + recall)
    total, hits = 0.0, 0
    for rank, d in enumerate(submitted, start=1):
        if d in gold_set:
            hits += 1
            total += hits / rank
    submitted[:] = [d for d in submitted if d in gold_set]  # the Java's retainAll
    if submitted:
        average_precision = java.div(total, _divisor(version, len(gold)))
    return PhaseAScore(precision, recall, f1, average_precision)


def snippet_scores(gold: list[Snippet], submitted: list[Snippet], version: int) -> PhaseAScore:
    """Character-overlap precision, recall, F1 and AP of already merged snippet lists."""
    precision = recall = f1 = 0.0
    if submitted:
        overlap = sum(
            s.overlap(g) for s in submitted for g in gold if s.document_id == g.document_id
        )
        submitted_chars = sum(s.size for s in submitted)
        gold_chars = sum(g.size for g in gold)
        if submitted_chars != 0:
            precision = java.div(overlap, submitted_chars)
        if gold_chars != 0:
            recall = java.div(overlap, gold_chars)
        if precision != 0 or recall != 0:
            f1 = java.div(2 * precision * recall, precision + recall)
    total = 0.0
    chars = shared = 0
    for s in submitted:
        chars += s.size
        shared += sum(s.overlap(g) for g in gold if s.document == g.document)
        relevant = any(s.document == g.document for g in gold)
        total += java.div(shared, chars) * (1 if relevant else 0)
    average_precision = java.div(total, _divisor(version, len(gold)))
    return PhaseAScore(precision, recall, f1, average_precision)


def _score_pair(gold: Question, resp: Question, version: int) -> tuple[PhaseAScore, PhaseAScore]:
    """``calculateMeasuresForPair``, documents and snippets, mutating both questions."""
    documents = document_scores(gold.documents, resp.documents, version)
    merge_overlapping(gold.snippets)
    merge_overlapping(resp.snippets)
    snippets = snippet_scores(gold.snippets, resp.snippets, version)
    return documents, snippets


def phase_a(gold: Sequence[Question], submission: Sequence[Question], version: int) -> dict:
    """Mean document and snippet measures of the gold questions the Java would score."""
    check_version(version)
    by_id = first_by_id(submission)
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
        java.log(GMAP_EPSILON)
        if math.isnan(s.average_precision)
        else java.log(s.average_precision + GMAP_EPSILON)
        for s in scores
    )
    return {
        "mean_precision": java.mean([s.precision for s in scores]),
        "mean_recall": java.mean([s.recall for s in scores]),
        "f_measure": java.div(sum(java.nan0(s.f1) for s in scores), n),
        "map": java.div(sum(java.nan0(s.average_precision) for s in scores), n),
        "gmap": java.exp(java.div(log_sum, n)),
        "questions": n,
    }


def _snippet_means(scores: Sequence[PhaseAScore]) -> dict:
    n = len(scores)
    log_sum = sum(
        java.log(s.average_precision + GMAP_EPSILON)
        for s in scores
        if not math.isnan(s.average_precision)
    )
    # The Java returns 0 for a NaN log-sum and for one of exactly 0.
    gmap = 0.0 if math.isnan(log_sum) or log_sum == 0 else java.exp(java.div(log_sum, n))
    return {
        "mean_precision": java.div(sum(java.nan0(s.precision) for s in scores), n),
        "mean_recall": java.div(sum(java.nan0(s.recall) for s in scores), n),
        "f_measure": java.div(sum(java.nan0(s.f1) for s in scores), n),
        "map": java.div(sum(java.nan0(s.average_precision) for s in scores), n),
        "gmap": gmap,
        "questions": n,
    }
