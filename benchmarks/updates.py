"""A PubMed-style update on a copy of an index: add, revise, delete, compact; nothing deleted returns.

On a copy of ``--index`` (the original is not touched) this adds ``--add`` new passages (new
PMIDs), re-issues ``--revise`` records already in the index with changed text (PubMed's
revisions: the old passages must disappear), deletes ``--delete`` PMIDs (half of them records
the 10B questions' gold snippets come from, so a search would find them), then asks every
question of ``--gold`` in every retrieval mode at k=100 and counts the hidden passages that come
back (must be 0), before and after ``qa index compact``. Prints one JSON document::

    python benchmarks/updates.py --index indexes/bioasq \\
        --gold ../shared/data/bioasq/*/*10B[1-6]_golden.json --json
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from qa.corpus.bioasq import load_golden
from qa.index.store import load_index
from qa.index.update import add_passages, compact, delete_pmids
from qa.types import RETRIEVAL_MODES, Passage


def plan(index, questions, n_add: int, n_revise: int, n_delete: int, seed: int = 0):
    """(new passages, the ids they hide, the PMIDs to delete)."""
    rng = random.Random(seed)
    passages = [index.passages[i] for i in rng.sample(range(len(index.passages)), 4 * n_add)]
    with_pmid = [p for p in passages if p.pmid]
    added = [
        Passage(f"upd-{p.id}", p.text, title=p.title, pmid=f"99{i:07d}")
        for i, p in enumerate(with_pmid[:n_add])
    ]
    revised_pmids = sorted({p.pmid for p in with_pmid[n_add:]})[:n_revise]
    old = index.passages.rows_of_pmids(set(revised_pmids))
    hidden_ids = {index.passages[int(r)].id for r in old}
    revised = [
        Passage(f"rev-{pmid}", f"Revised record {pmid}: the earlier text was withdrawn.", pmid=pmid)
        for pmid in revised_pmids
    ]
    gold_pmids = sorted({d for q in questions for d in q.documents if d} - set(revised_pmids))
    deleted = set(rng.sample(gold_pmids, n_delete // 2))
    deleted |= {p.pmid for p in rng.sample(added, n_delete - len(deleted))}
    return added + revised, hidden_ids, deleted


def returned(folder: Path, questions, hidden_ids: set[str], deleted: set[str]) -> dict:
    """Per mode, how many hits over all questions are hidden passages (should be none)."""
    index = load_index(folder, device="cpu")
    bodies = [q.body for q in questions]
    counts = {}
    for mode in RETRIEVAL_MODES:
        bad = 0
        for start in range(0, len(bodies), 64):
            for hits in index.retriever(mode).batch_search(bodies[start : start + 64], 100):
                bad += sum(h.passage.id in hidden_ids or h.passage.pmid in deleted for h in hits)
        counts[mode] = bad
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--gold", nargs="+", required=True)
    parser.add_argument("--add", type=int, default=2000)
    parser.add_argument("--revise", type=int, default=200)
    parser.add_argument("--delete", type=int, default=400)
    parser.add_argument("--json", action="store_true", help="(the output is always JSON)")
    args = parser.parse_args()
    questions = load_golden(args.gold)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "index"
        shutil.copytree(args.index, folder)
        new, hidden_ids, deleted = plan(
            load_index(folder, device="cpu"), questions, args.add, args.revise, args.delete
        )
        report: dict = {"index": args.index, "passages_before": load_index(folder).size}
        started = time.perf_counter()
        manifest = add_passages(folder, new, device="cpu", show_progress=False)
        report["add"] = {
            "passages": len(new),
            "revised_records": args.revise,
            "earlier_passages_hidden": len(hidden_ids),
            "seconds": round(time.perf_counter() - started, 1),
        }
        started = time.perf_counter()
        manifest = delete_pmids(folder, deleted)
        report["delete"] = {
            "pmids": len(deleted),
            "passages_hidden": manifest["deleted"],
            "seconds": round(time.perf_counter() - started, 2),
        }
        report["passages_after"] = manifest["passages"]
        report["hidden_hits_returned"] = returned(folder, questions, hidden_ids, deleted)
        started = time.perf_counter()
        manifest = compact(folder, show_progress=False)
        report["compact"] = {
            "passages": manifest["passages"],
            "shards": len(manifest["shards"]),
            "seconds": round(time.perf_counter() - started, 1),
        }
        report["hidden_hits_returned_after_compact"] = returned(
            folder, questions, hidden_ids, deleted
        )
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
