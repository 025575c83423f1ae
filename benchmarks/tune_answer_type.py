"""Choose the answer-type prior's weight on held-out training batches, then report once.

With the answer-type model given by ``--model`` (trained without the ``--tune`` batches) and
the profile's other settings, every weight on the grid is scored over the ``--tune`` files
(9B): factoid strict / lenient accuracy and MRR and list F1 over gold snippets, and, with
``--index``, factoid MRR over the top ``k`` retrieved passages. The weight with the best
factoid MRR + list F1 over gold snippets wins (ties go to the smaller weight), for each form of
the prior (``answer_type_form``: ln P(type), or its lift over the type's training share). The
``--report`` files (10B) are read only after the choice, at weight 0 (no prior), at the chosen
setting and at the one with the best factoid MRR alone.
The reader's spans and the tagger's entities are computed once per question and reused by
every weight (the prior acts after both). Prints JSON.

    python benchmarks/tune_answer_type.py --model /work/runs/atype/heldout9b \\
        --tune ../shared/data/bioasq/*/*9B[1-5]_golden.json \\
        --report ../shared/data/bioasq/*/*10B[1-6]_golden.json --index indexes/bioasq
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from patterns import matching_files
from tqdm.auto import tqdm
from tune_reader import read_once, scores

from qa.config import load_profile
from qa.corpus.bioasq import load_golden, snippet_passages
from qa.pipeline import QA
from qa.read.answering import read_spans

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
FORMS = ("probability", "lift")


def tag_once(annotator) -> None:
    """Keep each text's entities, so that every weight after the first reuses them."""
    model_entities, kept = annotator.entities, {}

    def entities(texts):
        todo = [t for t in dict.fromkeys(texts) if t not in kept]
        kept.update(zip(todo, model_entities(todo)))
        return [kept[t] for t in texts]

    annotator.entities = entities


def score_weight(
    qa: QA, questions: dict, passages: dict, setting: tuple[str, float], ranked: bool
) -> dict:
    """The official measures of the factoid (and, over gold snippets, list) questions."""
    form, weight = setting
    cfg = replace(qa.profile.reader, answer_type_form=form, answer_type_weight=weight)
    figures: dict = {"answer_type_form": form, "answer_type_weight": weight}
    for qtype, asked in questions.items():
        answers = {
            q.id: read_spans(q.body, passages[q.id], qtype, qa.components, cfg, ranked).answers
            for q in tqdm(asked, desc=f"{qtype}, weight {weight}", unit="q", leave=False)
        }
        measured = scores(asked, answers, qtype)
        if qtype == "factoid":
            keys = ("strict_accuracy", "lenient_accuracy", "mrr")
            figures.update({f"factoid_{k}": round(measured[k], 4) for k in keys})
        else:
            figures["list_f1"] = round(measured["mean_f1"], 4)
    return figures


def measure(qa: QA, files: list[str], settings, k: int) -> list[dict]:
    """Each (form, weight)'s figures over gold snippets, and over retrieved passages with an
    index."""
    asked = [q for q in load_golden(files) if q.snippets and q.exact_answer]
    questions = {t: [q for q in asked if q.type == t] for t in ("factoid", "list")}
    gold = {q.id: list(snippet_passages(q.snippets)) for q in asked}
    hits = {}
    if qa.index is not None:
        factoids = tqdm(questions["factoid"], desc="Retrieving", unit="q", leave=False)
        hits = {q.id: qa.search(q.body, k=k) for q in factoids}
    rows = []
    for setting in settings:
        row = score_weight(qa, questions, gold, setting, ranked=False)
        if hits:
            retrieved = score_weight(qa, {"factoid": questions["factoid"]}, hits, setting, True)
            row["retrieved_factoid_mrr"] = retrieved["factoid_mrr"]
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="answer-type model (default: the profile's)")
    parser.add_argument("--profile", default="embedded")
    parser.add_argument("--tune", nargs="+", required=True, help="held-out training batches")
    parser.add_argument("--report", nargs="*", default=[], help="batches to report on once")
    parser.add_argument("--index", default=None, help="also score retrieved factoid MRR")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--weights", nargs="+", type=float, default=WEIGHTS)
    parser.add_argument("--forms", nargs="+", choices=FORMS, default=FORMS)
    args = parser.parse_args()
    profile = load_profile(args.profile)
    model = args.model or profile.reader.answer_type_model
    profile = replace(profile, reader=replace(profile.reader, answer_type_model=model))
    qa = QA.load(args.index, profile=profile)
    read_once(qa.components.reader)
    tag_once(qa.components.annotator)
    settings = [("probability", 0.0)] + [(f, w) for f in args.forms for w in args.weights if w]
    grid = measure(qa, matching_files(args.tune), settings, args.k)
    best = max(grid, key=lambda r: (r["factoid_mrr"] + r["list_f1"], -r["answer_type_weight"]))
    best_factoid = max(grid, key=lambda r: (r["factoid_mrr"], -r["answer_type_weight"]))
    chosen = [(r["answer_type_form"], r["answer_type_weight"]) for r in (best, best_factoid)]
    result = {"model": model, "tuned_on": grid, "chosen": chosen[0], "best_factoid": chosen[1]}
    if args.report:
        reported = list(dict.fromkeys([("probability", 0.0), *chosen]))
        result["report"] = measure(qa, matching_files(args.report), reported, args.k)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
