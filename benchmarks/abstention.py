"""When the pipeline abstains: questions with their own snippets in the index, and without.

For every question of the golden files, ``k`` passages are retrieved from the index twice: as
they are, and with the question's own gold snippets taken out (hits that are one of its
snippets are dropped and the next ones read instead), which is what a question whose evidence
the index lacks looks like. The evidence similarity of the best passage
(``abstain_similarity_below``, :func:`qa.read.answering.evidence_similarity`) is recorded both
times for every question; factoid questions are also answered both times, which records the
reader's answerability (``[reader] abstain_below``). For each signal, how well it tells the two
cases apart (AUC: the chance that a factoid question with its snippets scores above the same
or another question without).

``--calibrate`` sets the similarity threshold on these files: the highest at which at most
``--present-share`` of the questions of every type abstain with their snippets present.
Run it on held-out training batches (9B) and put the figure in the profile's
``abstain_similarity_below``; then run on 10B (the profile's thresholds, or ``--threshold`` /
``--similarity``) to report once. Prints JSON: the thresholds; for factoid questions the AUCs,
the share abstained with snippets present and removed, and the official MRR over all questions
and over the ones answered; per question type and over all, the shares that the similarity
threshold holds back.

    python benchmarks/abstention.py --index indexes/bioasq --calibrate \\
        --gold ../shared/data/bioasq/*/*9B[1-5]_golden.json
    python benchmarks/abstention.py --index indexes/bioasq \\
        --gold ../shared/data/bioasq/*/*10B[1-6]_golden.json
"""

from __future__ import annotations

import argparse
import json

from patterns import matching_files
from tqdm.auto import tqdm

from qa.corpus.bioasq import load_golden, snippet_passage_id
from qa.evaluate.bioasq import CURRENT_VERSION, evaluate_phase_b
from qa.pipeline import QA
from qa.read.answering import evidence_similarity

DEPTH = 100  # passages retrieved, so k remain after a question's own snippets are removed


def both_ways(qa: QA, question, k: int) -> dict[str, list]:
    """The question's ``k`` hits with its own snippets in the index ("present"), and without."""
    own = {snippet_passage_id(s.text) for s in question.snippets}
    deep = qa.search(question.body, k=DEPTH)
    # A long snippet is indexed as windows "<id>#<n>".
    removed = [h for h in deep if h.passage.id.split("#")[0] not in own]
    return {"present": deep[:k], "removed": removed[:k]}


def read_both_ways(qa: QA, questions, k: int) -> list[dict]:
    """Per question of any type: the evidence similarity of its hits with its own snippets
    present and removed; for a factoid question also the answers both ways."""
    runs = []
    encoder = qa.components.encoder
    for q in tqdm(questions, desc="Questions", unit="q"):
        run = {"question": q}
        for case, hits in both_ways(qa, q, k).items():
            passages = [h.passage for h in hits]
            run[f"{case}_similarity"] = evidence_similarity(q.body, passages, encoder, True)
            if q.type == "factoid":
                run[case] = qa.answer(q.body, hits, qtype="factoid", annotate=False, ranked=True)
        runs.append(run)
    return runs


def by_type(runs: list[dict], similarity: float) -> dict:
    """Per question type, and over all of them: the share that abstains by evidence
    similarity with the snippets present, and removed."""
    groups: dict[str, list[dict]] = {"all": runs}
    for r in runs:
        groups.setdefault(r["question"].type, []).append(r)
    return {
        qtype: {"questions": len(group)}
        | {
            f"{case}_abstained_share": round(
                sum(r[f"{case}_similarity"] < similarity for r in group) / len(group), 4
            )
            for case in ("present", "removed")
        }
        for qtype, group in sorted(groups.items())
    }


def calibrated(runs: list[dict], present_share: float) -> float:
    """The highest similarity threshold at which at most ``present_share`` of the questions of
    every type abstain with their snippets present."""
    per_type: dict[str, list[float]] = {}
    for r in runs:
        per_type.setdefault(r["question"].type, []).append(r["present_similarity"])
    thresholds = []
    for scores in per_type.values():
        scores.sort()
        allowed = int(present_share * len(scores))  # questions allowed to fall below
        thresholds.append(scores[allowed])
    return min(thresholds)


def auc(runs: list[dict], signal) -> float:
    """How often ``signal(run, case)`` ranks a question with its snippets above one without."""
    present = [signal(r, "present") for r in runs]
    removed = [signal(r, "removed") for r in runs]
    above = sum((p > n) + 0.5 * (p == n) for p in present for n in removed)
    return round(above / max(1, len(present) * len(removed)), 4)


def mrr(runs: list[dict], case: str) -> float | None:
    if not runs:
        return None
    gold = [r["question"].raw for r in runs]
    submission = [
        {"id": r["question"].id, "type": "factoid", "exact_answer": r[case].exact_answer()}
        for r in runs
    ]
    return round(evaluate_phase_b(gold, submission, CURRENT_VERSION)["factoid"]["mrr"], 4)


def report(runs: list[dict], threshold: float, similarity: float) -> dict:
    off = float("-inf")  # no JSON number
    out: dict = {
        "threshold": None if threshold == off else round(threshold, 4),
        "similarity_threshold": None if similarity == off else round(similarity, 4),
        "questions": len(runs),
        "auc": {
            "answerability": auc(runs, lambda r, case: r[case].answerability),
            "similarity": auc(runs, lambda r, case: r[f"{case}_similarity"]),
        },
    }
    for case in ("present", "removed"):
        answered = [
            r
            for r in runs
            if r[case].answerability >= threshold and r[f"{case}_similarity"] >= similarity
        ]
        out[case] = {
            "abstained_share": round(1 - len(answered) / max(1, len(runs)), 4),
            "mrr_all": mrr(runs, case),
            "mrr_answered": mrr(answered, case),
            "answered": len(answered),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--gold", nargs="+", required=True)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--present-share", type=float, default=0.05)
    parser.add_argument("--threshold", type=float, default=None, help="answerability")
    parser.add_argument("--similarity", type=float, default=None, help="evidence similarity")
    args = parser.parse_args()
    files = matching_files(args.gold)
    qa = QA.load(args.index)
    questions = [q for q in load_golden(files) if q.snippets]
    runs = read_both_ways(qa, questions, args.k)
    profile = qa.profile.reader
    threshold = profile.abstain_below if args.threshold is None else args.threshold
    similarity = profile.abstain_similarity_below if args.similarity is None else args.similarity
    if args.calibrate:
        threshold, similarity = float("-inf"), calibrated(runs, args.present_share)
    result = report([r for r in runs if r["question"].type == "factoid"], threshold, similarity)
    result["by_type"] = by_type(runs, similarity)
    print(json.dumps({"files": [f.rsplit("__", 1)[-1] for f in files], **result}, indent=2))


if __name__ == "__main__":
    main()
