"""Choose the yes/no pooling and threshold on held-out training batches, then report once.

Reads every yes/no question of the ``--tune`` golden files over its gold snippets (the first
``yesno_passages`` of them, as the pipeline does) and keeps each passage's log-odds. Each
pooling (mean, max, attention) is then scored at every threshold on a grid, and the pair with
the best macro-F1 wins (ties go to the threshold nearest 0.5). The ``--report`` files (10B) are
read only after the choice, with the chosen pair and with the profile's current pair, so they
never take part in it. Prints JSON with the grid's best per pooling, the choice, and the
report: accuracy, macro-F1, F1 of each class, and the accuracy on the questions of each gold
class.

    python benchmarks/tune_yesno.py --model /work/runs/yesno/heldout9b \\
        --tune ../shared/data/bioasq/*/*9B[1-5]_golden.json \\
        --report ../shared/data/bioasq/*/*10B[1-6]_golden.json
"""

from __future__ import annotations

import argparse
import json
import math

from patterns import matching_files
from tqdm.auto import tqdm

from qa.config import load_profile
from qa.corpus.bioasq import load_golden, snippet_passages
from qa.read.yesno import POOLINGS, YesNoClassifier, pool
from qa.train.yesno import binary_scores

THRESHOLDS = [round(0.05 * i, 2) for i in range(2, 19)]


def question_odds(classifier: YesNoClassifier, files: list[str]) -> list[tuple[str, list]]:
    """(gold label, the log-odds of the windows read) of every yes/no question with snippets."""
    asked = [
        q
        for q in load_golden(files)
        if q.type == "yesno" and q.snippets and str(q.exact_answer).lower() in ("yes", "no")
    ]
    out = []
    for q in tqdm(asked, desc="Reading yes/no questions", unit="q"):
        passages = list(snippet_passages(q.snippets))[: classifier.max_passages]
        _, odds = classifier.window_odds(q.body, passages)
        out.append((str(q.exact_answer).lower(), odds))
    return out


def scores(odds: list[tuple[str, list]], pooling: str, threshold: float) -> dict:
    gold = [g for g, _ in odds]
    pred = ["yes" if 1 / (1 + math.exp(-pool(o, pooling))) >= threshold else "no" for _, o in odds]
    per_class = {
        f"accuracy_{label}": round(
            sum(p == g for g, p in zip(gold, pred) if g == label) / max(1, gold.count(label)), 4
        )
        for label in ("yes", "no")
    }
    return {**binary_scores(gold, pred), **per_class, "questions": len(gold)}


def choose(odds: list[tuple[str, list]]) -> tuple[dict, dict]:
    """The best threshold of each pooling, and the best of those."""
    best = {}
    for pooling in POOLINGS:
        ranked = sorted(
            THRESHOLDS,
            key=lambda t: (-scores(odds, pooling, t)["macro_f1"], abs(t - 0.5)),
        )
        best[pooling] = {"threshold": ranked[0], **scores(odds, pooling, ranked[0])}
    winner = max(POOLINGS, key=lambda p: best[p]["macro_f1"])
    return best, {"pooling": winner, "threshold": best[winner]["threshold"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="yes/no model (default: the profile's)")
    parser.add_argument("--profile", default="embedded")
    parser.add_argument("--tune", nargs="+", required=True, help="held-out training batches")
    parser.add_argument("--report", nargs="*", default=[], help="batches to report on once")
    parser.add_argument(
        "--joined",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read the passages joined or not (default: the profile's, else as the model says)",
    )
    args = parser.parse_args()
    reader = load_profile(args.profile).reader
    classifier = YesNoClassifier(
        args.model or reader.yesno_model,
        max_passages=reader.yesno_passages,
        joined=reader.yesno_joined if args.joined is None else args.joined,
    )
    per_pooling, chosen = choose(question_odds(classifier, matching_files(args.tune)))
    result = {"model": args.model or reader.yesno_model, "tuned_on": per_pooling, "chosen": chosen}
    if args.report:
        odds = question_odds(classifier, matching_files(args.report))
        current = {"pooling": reader.yesno_pooling, "threshold": reader.yesno_threshold}
        result["report"] = {
            "chosen": scores(odds, chosen["pooling"], chosen["threshold"]),
            "profile": {**current, **scores(odds, current["pooling"], current["threshold"])},
            **{f"{p}_at_0.5": scores(odds, p, 0.5) for p in POOLINGS},
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
