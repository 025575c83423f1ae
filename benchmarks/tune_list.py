"""Tune the list-answer settings (``list_delta``, ``list_max_items``, ``list_split``) on 10B.

Reads every list question of the given golden files over its gold snippets once, then scores
each (delta, max items) pair with the official list measures, and prints JSON with the grid
and the best pair. Set the best pair in the profile's [reader] section.

    python benchmarks/tune_list.py --gold ../shared/data/bioasq/*/*10B[1-6]_golden.json
"""

from __future__ import annotations

import argparse
import glob
import json

from tqdm.auto import tqdm

from qa.corpus.bioasq import load_golden, snippet_passages
from qa.evaluate.bioasq import CURRENT_VERSION, evaluate_phase_b
from qa.pipeline import QA
from qa.read.reader import select_list

DELTAS = (0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
MAX_ITEMS = (3, 5, 10, 15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", nargs="+", required=True)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    files = sorted({f for pattern in args.gold for f in glob.glob(pattern)})
    questions = [q for q in load_golden(files) if q.type == "list" and q.snippets]
    qa = QA.load(None, profile=args.profile, device=args.device)
    candidates = {
        q.id: qa.components.reader.read(q.body, list(snippet_passages(q.snippets)), top_k=30)
        for q in tqdm(questions, desc="Reading list questions", unit="q")
    }
    gold = [q.raw for q in questions]
    grid = []
    settings = [(sp, d, m) for sp in (False, True) for d in DELTAS for m in MAX_ITEMS]
    for split, delta, max_items in settings:
        submission = [
            {
                "id": q.id,
                "type": "list",
                "exact_answer": [
                    [a.text] for a in select_list(candidates[q.id], delta, max_items, split)
                ],
            }
            for q in questions
        ]
        scores = evaluate_phase_b(gold, submission, CURRENT_VERSION)["list"]
        grid.append(
            {
                "list_split": split,
                "list_delta": delta,
                "list_max_items": max_items,
                "mean_precision": round(scores["mean_precision"], 4),
                "mean_recall": round(scores["mean_recall"], 4),
                "mean_f1": round(scores["mean_f1"], 4),
            }
        )
    best = max(grid, key=lambda r: (r["mean_f1"], -r["list_max_items"]))
    print(json.dumps({"questions": len(questions), "best": best, "grid": grid}, indent=2))


if __name__ == "__main__":
    main()
