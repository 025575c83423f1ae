"""Annotate a fixed sample of BioASQ 10B answer passages: what the chat shows under each, and
how long annotation takes.

The sample: five questions spread evenly over each 10B golden file, the first gold snippet of
each (30 passages for the six files), plus any passage holding one of ``--also`` strings (the
examples of an issue). Prints JSON: per passage its entities and relations (the phrase shown
and the raw label), totals by entity type and relations per passage over the 30, and the
milliseconds to annotate the first three passages, and the extra ones, from a cold cache
(median of ``--repeats``, models already loaded).

Runs against whichever ``qa`` is on the path, so the same script measures the code before a
change (``PYTHONPATH=/path/to/old/checkout``) and after it:

    OMP_NUM_THREADS=1 python benchmarks/annotate_10b.py \\
      --gold ../shared/data/bioasq/*/*10B[1-6]_golden.json > after.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter

from patterns import matching_files

from qa.corpus.bioasq import load_golden, snippet_passages
from qa.pipeline import QA


def sample(files: list[str], per_file: int, also: list[str]) -> tuple[list, list]:
    """``(question id, passage)`` pairs: evenly spaced questions of each file, and extras."""
    chosen, extras = [], []
    for path in files:
        questions = [q for q in load_golden([path]) if q.snippets]
        step = max(1, len(questions) // per_file)
        for q in questions[::step][:per_file]:
            chosen.append((q.id, next(snippet_passages(q.snippets))))
    for needle in also:
        for q in load_golden(files):
            found = [p for p in snippet_passages(q.snippets) if needle in p.text]
            if found:
                extras.append((q.id, found[0]))
                break
    return chosen, extras


def described(annotations) -> dict:
    return {
        "entities": [[e.text, e.label] for e in annotations.entities],
        "relations": [
            [r.head.text, getattr(r, "phrase", "") or r.label, r.tail.text, round(r.score, 3)]
            + [r.label]
            for r in annotations.relations
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", nargs="+", required=True)
    parser.add_argument("--per-file", type=int, default=5)
    parser.add_argument("--also", nargs="*", default=["bb2121", "classic Bartter"])
    parser.add_argument("--profile", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    files = matching_files(args.gold)
    chosen, extras = sample(files, args.per_file, args.also)
    annotator = QA.load(None, profile=args.profile, device="cpu").components.annotator
    annotator.warm_up()
    found = annotator.annotate_passages([p for _, p in chosen + extras])
    timings = {"annotate_3_passages_ms": [], "annotate_extra_passages_ms": []}
    for _ in range(args.repeats):
        for key, passages in zip(timings, (chosen[:3], extras)):
            annotator.clear()
            started = time.perf_counter()
            annotator.annotate_passages([p for _, p in passages])
            timings[key].append(round((time.perf_counter() - started) * 1000, 1))
    sampled = [found[p.id] for _, p in chosen]
    per_passage = [len(a.relations) for a in sampled]
    report = {
        "passages": len(sampled),
        "entities_by_type": dict(Counter(e.label for a in sampled for e in a.entities)),
        "relations_per_passage": {
            "mean": round(statistics.mean(per_passage), 2),
            "max": max(per_passage),
            "total": sum(per_passage),
        },
        **{k: {"median": round(statistics.median(v)), "all": v} for k, v in timings.items()},
        "sample": [{"question": q, "passage": p.id, "text": p.text} | described(found[p.id])
                   for q, p in chosen + extras],
    }  # fmt: skip
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
