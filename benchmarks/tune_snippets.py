"""Choose ``[reader] snippet_sentences`` (``qa.read.snippets``) on BioASQ 9B.

Answers every question once from the index, as ``qa eval bioasq --index`` does, and scores its
snippet passages' sentences against the question once; then cuts the same passages with each
setting of the grid and scores the submission's snippets with the official phase-A measures
(version 9): mean precision, recall, F1 and MAP. ``snippet_sentences = 0`` is the whole
passage, as before sentence-level snippets. Prints JSON: every setting's figures, the best by
snippet F1 (BioASQ's official snippet measure since 9B, since AP over overlapping character
spans can exceed 1) and by MAP. Choose on 9B; 10B is the development split, scored once with
``qa eval bioasq``.

    python benchmarks/tune_snippets.py --gold ../shared/data/bioasq/*/*9B[1-5]_golden.json \\
        --index indexes/bioasq
"""

from __future__ import annotations

import argparse
import json

from patterns import matching_files

from qa.evaluate.bioasq import CURRENT_VERSION, evaluate_phase_a
from qa.evaluate.run import run_bioasq, snippet_passages_of, submission_entry
from qa.pipeline import QA
from qa.read.snippets import best_run, scored_sentences

SENTENCES = (0, 1, 2, 3)


def score(prepared: list[dict], run: int) -> dict:
    """Phase-A snippet measures of the submission cut to runs of ``run`` sentences."""
    entries = []
    for p in prepared:
        spans = [best_run(x, s, run) for x, s in zip(p["passages"], p["sentences"])]
        entries.append(submission_entry(p["question"], p["result"], spans))
    snippets = evaluate_phase_a([p["question"].raw for p in prepared], entries, CURRENT_VERSION)
    snippets = snippets["snippets"]
    return {
        "precision": round(snippets["mean_precision"], 4),
        "recall": round(snippets["mean_recall"], 4),
        "f1": round(snippets["f_measure"], 4),
        "map": round(snippets["map"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", nargs="+", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    files = matching_files(args.gold)
    qa = QA.load(args.index, device=args.device)
    run = run_bioasq(qa, files, snippets=None)
    prepared = []
    for record in run["records"]:
        q, result = record["question"], record["result"]
        passages = snippet_passages_of(result)
        sentences = scored_sentences(q.body, passages, qa.components.encoder)
        prepared.append(
            {"question": q, "result": result, "passages": passages, "sentences": sentences}
        )
    grid = []
    for n in SENTENCES:
        grid.append({"sentences": n} | score(prepared, n))
    print(
        json.dumps(
            {
                "gold": files,
                "questions": len(prepared),
                "profile_run": run["metrics"]["retrieval"],
                "best_f1": max(grid, key=lambda r: r["f1"]),
                "best_map": max(grid, key=lambda r: r["map"]),
                "grid": grid,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
