"""Do two indexes of the same corpus retrieve the same? Retrieval figures and top-k ids, side by side.

Used for issue 13's exactness checks: an index built with ``--shard-size 8000`` against the
unsharded one, and a ``--engine ray`` build (or ``--engine-b ray`` serving) against a plain one.
For every question of the gold files and every retrieval mode it compares the top ``k`` passage
ids (in order) and the scores; it prints one JSON document::

    python benchmarks/compare_indexes.py --a indexes/bioasq --b indexes/bioasq-sharded \\
        --gold ../shared/data/bioasq/*/*10B[1-6]_golden.json --json
"""

from __future__ import annotations

import argparse
import json
import sys

from qa.corpus.bioasq import load_golden
from qa.evaluate.retrieval import evaluate_retrieval
from qa.index.store import load_index
from qa.types import RETRIEVAL_MODES


def top_k(index, questions, mode: str, k: int) -> list[list[tuple[str, float]]]:
    retriever = index.retriever(mode)
    found = []
    for start in range(0, len(questions), 64):
        bodies = [q.body for q in questions[start : start + 64]]
        for hits in retriever.batch_search(bodies, k):
            found.append([(h.passage.id, h.score) for h in hits])
    return found


def compare(a, b, questions, k: int) -> dict:
    modes = {}
    for mode in RETRIEVAL_MODES:
        left, right = top_k(a, questions, mode, k), top_k(b, questions, mode, k)
        same = sum([i for i, _ in x] == [i for i, _ in y] for x, y in zip(left, right))
        gaps = [abs(s - t) for x, y in zip(left, right) for (_, s), (_, t) in zip(x, y)]
        modes[mode] = {
            "questions": len(questions),
            f"same_top{k}_ids": same,
            "max_score_difference": max(gaps, default=0.0),
        }
    return modes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="the reference index")
    parser.add_argument("--b", required=True, help="the index compared with it")
    parser.add_argument("--engine-b", default="local", choices=["local", "ray"])
    parser.add_argument("--gold", nargs="+", required=True)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="(the output is always JSON)")
    args = parser.parse_args()
    questions = load_golden(args.gold)
    a = load_index(args.a, device="cpu")
    b = load_index(args.b, device="cpu", engine=args.engine_b)
    report = {
        "a": {"index": args.a, "shards": len(a.manifest["shards"])},
        "b": {"index": args.b, "shards": len(b.manifest["shards"]), "engine": args.engine_b},
        "top_k": compare(a, b, questions, args.k),
        "retrieval_a": evaluate_retrieval(a, questions, show_progress=False),
        "retrieval_b": evaluate_retrieval(b, questions, show_progress=False),
    }
    report["same_retrieval_figures"] = report["retrieval_a"] == report["retrieval_b"]
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
