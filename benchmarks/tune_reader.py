"""Tune the reader's settings on held-out training batches (9B), never on what is reported.

With the reader given by ``--model`` (trained without the ``--gold`` batches) and the
profile's other settings, one setting at a time, each scored with the official measures:

1. ``answer_temperature``: factoid MRR over gold snippets (and, with it, 2.);
2. ``list_split``, ``list_delta``, ``list_max_items``: list F1 over gold snippets, the best rule
   for each temperature, the temperature with the best factoid MRR + list F1 winning;
3. ``rank_prior`` (with ``--index``): factoid MRR over the top ``k`` retrieved passages.

Prints JSON with every grid and the best values; put them in the profile's [reader] section
and report 10B once with ``qa eval bioasq``.

    python benchmarks/tune_reader.py --model /work/runs/reader/heldout9b \\
        --gold ../shared/data/bioasq/*/*9B[1-5]_golden.json --index indexes/bioasq
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from patterns import matching_files
from tqdm.auto import tqdm

from qa.config import load_profile
from qa.corpus.bioasq import load_golden, snippet_passages
from qa.evaluate.bioasq import CURRENT_VERSION, evaluate_phase_b
from qa.pipeline import QA
from qa.read.answering import read_spans
from qa.read.reader import select_list

TEMPERATURES = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
RANK_PRIORS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
DELTAS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0)
MAX_ITEMS = (3, 5, 10, 15)


def read_once(reader) -> None:
    """Keep each (question, passages) reading's spans, so that every setting after the first
    re-ranks them instead of running the model again (the settings act after the model)."""
    model_spans, kept = reader.spans, {}

    def spans(question, passages):
        key = (question, tuple(p.id for p in passages))
        if key not in kept:
            kept[key] = model_spans(question, passages)
        return kept[key]

    reader.spans = spans


def scores(questions, answers: dict[str, list], qtype: str) -> dict:
    """The official measures of ``answers`` (question id -> answers) for ``qtype``."""
    submission = [
        {"id": q.id, "type": qtype, "exact_answer": [[a.text] for a in answers[q.id]]}
        for q in questions
    ]
    return evaluate_phase_b([q.raw for q in questions], submission, CURRENT_VERSION)[qtype]


def tune_temperature(qa: QA, factoids, lists, passages: dict) -> list[dict]:
    """Each temperature's factoid MRR and best list rule (the temperature scores list items
    too, so the two are chosen together)."""
    reader, cfg = qa.components.reader, qa.profile.reader
    grid = []
    for t in TEMPERATURES:
        reader.temperature = t
        answers = {
            q.id: read_spans(q.body, passages[q.id], "factoid", qa.components, cfg, False).answers
            for q in tqdm(factoids, desc=f"Factoid, T={t}", unit="q")
        }
        mrr = round(scores(factoids, answers, "factoid")["mrr"], 4)
        best_list = max(
            tune_list(qa, lists, passages), key=lambda r: (r["f1"], -r["list_max_items"])
        )
        grid.append({"answer_temperature": t, "mrr": mrr, "best_list": best_list})
    return grid


def tune_list(qa: QA, lists, passages: dict) -> list[dict]:
    reader = qa.components.reader
    candidates = {
        q.id: reader.read(q.body, passages[q.id], top_k=30)
        for q in tqdm(lists, desc="List questions", unit="q", leave=False)
    }
    grid = []
    for split in (False, True):
        for delta in DELTAS:
            for most in MAX_ITEMS:
                chosen = {i: select_list(c, delta, most, split) for i, c in candidates.items()}
                f1 = scores(lists, chosen, "list")["mean_f1"]
                grid.append(
                    {
                        "list_split": split,
                        "list_delta": delta,
                        "list_max_items": most,
                        "f1": round(f1, 4),
                    }
                )
    return grid


def tune_rank_prior(qa: QA, factoids, k: int) -> list[dict]:
    hits = {q.id: qa.search(q.body, k=k) for q in tqdm(factoids, desc="Retrieving", unit="q")}
    grid = []
    for prior in RANK_PRIORS:
        cfg = replace(qa.profile.reader, rank_prior=prior)
        answers = {
            q.id: read_spans(q.body, hits[q.id], "factoid", qa.components, cfg, True).answers
            for q in tqdm(factoids, desc=f"Retrieved factoid, prior={prior}", unit="q")
        }
        grid.append(
            {"rank_prior": prior, "mrr": round(scores(factoids, answers, "factoid")["mrr"], 4)}
        )
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", nargs="+", required=True, help="held-out batches (9B)")
    parser.add_argument("--model", default=None, help="reader (default: the profile's)")
    parser.add_argument("--profile", default="embedded")
    parser.add_argument("--index", default=None, help="also tune rank_prior on this index")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    profile = load_profile(args.profile)
    if args.model:
        profile = replace(profile, reader=replace(profile.reader, model=args.model))
    qa = QA.load(args.index, profile=profile)
    read_once(qa.components.reader)
    files = matching_files(args.gold)
    questions = [q for q in load_golden(files) if q.snippets and q.exact_answer]
    passages = {q.id: list(snippet_passages(q.snippets)) for q in questions}
    factoids = [q for q in questions if q.type == "factoid"]
    lists = [q for q in questions if q.type == "list"]
    result: dict = {
        "model": profile.reader.model,
        "factoid_questions": len(factoids),
        "list_questions": len(lists),
    }
    result["temperature"] = tune_temperature(qa, factoids, lists, passages)
    # One temperature serves both: the one with the best factoid MRR + list F1.
    chosen = max(result["temperature"], key=lambda r: r["mrr"] + r["best_list"]["f1"])
    qa.components.reader.temperature = chosen["answer_temperature"]
    best = {"answer_temperature": chosen["answer_temperature"], **chosen["best_list"]}
    if args.index:
        result["rank_prior"] = tune_rank_prior(qa, factoids, args.k)
        best["rank_prior"] = max(result["rank_prior"], key=lambda r: r["mrr"])["rank_prior"]
    result["best"] = best
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
