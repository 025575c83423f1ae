"""When the pipeline abstains: questions with their own snippets in the index, and without.

For every factoid question of the golden files, ``k`` passages are retrieved from the index
twice: as they are, and with the question's own gold snippets taken out (hits that are one of
its snippets are dropped and the next ones read instead), which is what a question whose
evidence the index lacks looks like. Both signals a profile may abstain on are recorded both
times: the reader's answerability (``[reader] abstain_below``) and the evidence similarity of
the best passage (``abstain_similarity_below``, :func:`qa.read.answering.evidence_similarity`),
with how well each tells the two cases apart (AUC: the chance that a question with its
snippets scores above the same or another question without).

``--calibrate`` sets the similarity threshold on these files: the highest at which at most
``--present-share`` of the questions abstain with their snippets present. Run it on held-out
training batches (9B) and put the figure in the profile's ``abstain_similarity_below``; then
run on 10B (the profile's thresholds, or ``--threshold`` / ``--similarity``) to report once.
Prints JSON: the thresholds, the share abstained with snippets present and removed, and the
official factoid MRR over all questions and over the ones answered; for the other question
types, the shares that the similarity threshold holds back.

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
    """Per question: the answers and answerability with its snippets present, and removed."""
    runs = []
    encoder = qa.components.encoder
    for q in tqdm(questions, desc="Factoid questions", unit="q"):
        run = {"question": q}
        for case, hits in both_ways(qa, q, k).items():
            run[case] = qa.answer(q.body, hits, qtype="factoid", annotate=False, ranked=True)
            passages = [h.passage for h in hits]
            run[f"{case}_similarity"] = evidence_similarity(q.body, passages, encoder, True)
        runs.append(run)
    return runs


def other_types(qa: QA, questions, k: int, similarity: float) -> dict:
    """For the questions of the other types (their answers need no reader here): the share
    that abstains by evidence similarity with their snippets present, and removed."""
    below: dict[str, dict[str, list[bool]]] = {}
    for q in tqdm(questions, desc="Other questions", unit="q"):
        shares = below.setdefault(q.type, {"present": [], "removed": []})
        for case, hits in both_ways(qa, q, k).items():
            found = evidence_similarity(
                q.body, [h.passage for h in hits], qa.components.encoder, True
            )
            shares[case].append(found < similarity)
    return {
        qtype: {"questions": len(s["present"])}
        | {f"{case}_abstained_share": round(sum(v) / len(v), 4) for case, v in s.items()}
        for qtype, s in sorted(below.items())
    }


def calibrated(runs: list[dict], present_share: float) -> float:
    """The highest similarity threshold at which at most ``present_share`` of questions
    abstain with their snippets present."""
    scores = sorted(r["present_similarity"] for r in runs)
    allowed = int(present_share * len(scores))  # questions allowed to fall below
    return scores[allowed]


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
    runs = read_both_ways(qa, [q for q in questions if q.type == "factoid"], args.k)
    profile = qa.profile.reader
    threshold = profile.abstain_below if args.threshold is None else args.threshold
    similarity = profile.abstain_similarity_below if args.similarity is None else args.similarity
    if args.calibrate:
        threshold, similarity = float("-inf"), calibrated(runs, args.present_share)
    result = report(runs, threshold, similarity)
    others = [q for q in questions if q.type != "factoid"]
    result["other_types"] = other_types(qa, others, args.k, similarity)
    print(json.dumps({"files": [f.rsplit("__", 1)[-1] for f in files], **result}, indent=2))


if __name__ == "__main__":
    main()
