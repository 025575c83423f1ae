"""Soak: many questions in a row through ``QA.ask`` with annotation; prints RSS as JSON lines.

Loads ``--index``, warms the models up, then asks ``--questions`` questions one after another
(annotation on), cycling through the bodies of the BioASQ 10B golden files (or ``--gold``
files). Every ``--every`` questions it prints one JSON line with the question count, the
resident set size (RSS, MB) and the seconds so far; at the end one JSON object with the RSS
after loading, after the warm-up (the first ``--warm-up`` questions, which fill the caches and
the allocators' pools), at the end, the largest seen, and the growth after the warm-up.
A leak shows as growth that goes on line after line; the issue asks for at most 50 MB.

    python benchmarks/soak.py --index indexes/bioasq --questions 1000 --every 100
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from pathlib import Path

BIOASQ_10B = "bioasq/*/*10B*_golden.json"
DEFAULT_DATA = os.environ.get(
    "QA_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
)


def rss_mb() -> float:
    """This process's resident set size in MB (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return psutil.Process().memory_info().rss / 2**20
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    raise SystemExit("No psutil and no VmRSS in /proc/self/status: cannot read the RSS.")


def question_bodies(gold: list[str], data_dir: Path) -> list[str]:
    files = [Path(g) for g in gold] or sorted(data_dir.glob(BIOASQ_10B))
    if not files:
        raise SystemExit(f"No BioASQ 10B golden files under {data_dir}: give --gold FILE.")
    bodies = []
    for path in files:
        bodies += [q["body"] for q in json.loads(path.read_text(encoding="utf-8"))["questions"]]
    return bodies


def soak(qa, bodies: list[str], args: argparse.Namespace) -> dict:
    """Ask ``args.questions`` questions, printing a JSON line every ``args.every``."""
    annotator = qa.components.annotator
    started = time.perf_counter()
    after_warm_up = largest = rss_mb()
    for n, body in enumerate(itertools.islice(itertools.cycle(bodies), args.questions), 1):
        qa.ask(body, k=args.k, annotate=args.annotate)
        if n == args.warm_up:
            after_warm_up = rss_mb()
        if n % args.every == 0 or n == args.questions:
            rss = rss_mb()
            largest = max(largest, rss)
            line = {
                "questions": n,
                "rss_mb": round(rss, 1),
                "seconds": round(time.perf_counter() - started, 1),
                "annotation_cache": len(getattr(annotator, "_cache", ())),
            }
            print(json.dumps(line), flush=True)
    end = rss_mb()
    return {
        "rss_after_warm_up_mb": round(after_warm_up, 1),
        "rss_end_mb": round(end, 1),
        "rss_max_mb": round(max(largest, end), 1),
        "growth_mb": round(end - after_warm_up, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--gold", nargs="*", default=[], help="BioASQ golden JSON files")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA), help="the shared data folder")
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100, help="print RSS every N questions")
    parser.add_argument(
        "--warm-up", type=int, default=None, help="questions before the baseline (default: --every)"
    )
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument(
        "--no-annotate",
        dest="annotate",
        action="store_false",
        help="ask without annotation (to see what annotation adds to the growth)",
    )
    parser.add_argument("--profile", default=None)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    args.warm_up = args.every if args.warm_up is None else args.warm_up
    if args.every < 1 or not 0 <= args.warm_up < args.questions:
        raise SystemExit("Need --every >= 1 and 0 <= --warm-up < --questions.")

    from qa.pipeline import QA

    bodies = question_bodies(args.gold, Path(args.data_dir))
    before = rss_mb()
    qa = QA.load(args.index, profile=args.profile, device=args.device)
    warm_up_s = qa.warm_up()
    loaded = rss_mb()
    print(json.dumps({"questions": 0, "rss_mb": round(loaded, 1)}), flush=True)
    report = {
        "index": args.index,
        "questions": args.questions,
        "distinct_questions": len(set(bodies)),
        "k": args.k,
        "annotate": args.annotate,
        "warm_up_questions": args.warm_up,
        "rss_start_mb": round(before, 1),
        "rss_loaded_mb": round(loaded, 1),
        "model_warm_up_s": round(warm_up_s, 1),
        **soak(qa, bodies, args),
    }
    print(json.dumps(report, indent=2), flush=True)


if __name__ == "__main__":
    main()
