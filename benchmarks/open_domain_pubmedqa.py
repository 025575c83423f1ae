"""Open-domain PubMedQA: find the question's own abstract among whole abstracts, then answer.

The corpus is every whole abstract of ``../shared/data`` with a PMID: the PubMedQA contexts
(``ori_pqal.json``, CONTEXTS joined, without the conclusion), BC5CDR (the three PubTator
files), Hallmarks of Cancer (``text/*.txt``), and NCBI-disease when its PubTator release is
given (``--ncbi-disease``; the shared copy is CoNLL tokens without PMIDs). A PMID is kept from
its first source only (PubMedQA first, so the question's own abstract is always its context).
Passages are cut by the profile's chunking, so a hit is any window (``ID#n``) of the PMID.

The questions are PubMedQA's test split (``test_ground_truth.json``, 500 PMIDs) whose gold is
yes or no; maybe is left out and counted. For each: retrieval hit@1/5/10 of its own abstract
per retrieval mode, then the yes/no classifier over the top ``--k`` hybrid passages
(open-domain) and over the windows of its own abstract (given-context), side by side:
accuracy, macro-F1 and the F1 of each class. Prints JSON; progress on stderr.

    nice -n 19 env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/open_domain_pubmedqa.py \\
        --out /work/runs/open-domain/index --yesno-model /work/runs/yesno/heldout9b
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from qa.config import Profile, load_profile
from qa.corpus import read_corpus
from qa.corpus.pubmedqa import read_pubmedqa, read_pubmedqa_labels
from qa.corpus.split import split_passage
from qa.types import Hit, Passage

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("QA_SHARED_DATA", ROOT.parent / "shared" / "data"))
PQAL = "pubmed/pubmedqa__pubmedqa/data__ori_pqal.json"
TRUTH = "pubmed/pubmedqa__pubmedqa/data__test_ground_truth.json"
BC5CDR = "ner/cryptoradon__biomedRelExt/CDR_Data__CDR.Corpus.v010516__CDR_*Set.PubTator.txt"
HOC = "pubmed/sb895__Hallmarks-of-Cancer/text/*.txt"
KS = (1, 5, 10)


def log(message: str) -> None:
    print(f"[open-domain] {message}", file=sys.stderr, flush=True)


# --- scoring (pure functions, tested in tests/test_open_domain_benchmark.py) ------------------


def first_rank(ranked_pmids: Sequence[str], pmid: str) -> int | None:
    """The 1-based rank of the first passage of ``pmid``, or None when none was retrieved."""
    return next((rank for rank, p in enumerate(ranked_pmids, start=1) if p == pmid), None)


def hit_rates(ranked: Sequence[Sequence[str]], gold: Sequence[str], ks=KS) -> dict[str, float]:
    """Share of questions whose own PMID is among the first k passages, for each k; and MRR@10."""
    if len(ranked) != len(gold) or not gold:
        raise ValueError("one ranking per question, and at least one question")
    ranks = [first_rank(r, g) for r, g in zip(ranked, gold)]
    rates = {
        f"hit@{k}": round(sum(r is not None and r <= k for r in ranks) / len(gold), 4) for k in ks
    }
    mrr = sum(1 / r for r in ranks if r is not None and r <= 10) / len(gold)
    return {**rates, "mrr@10": round(mrr, 4)}


def yesno_scores(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float | int]:
    """Accuracy, macro-F1 and F1 of yes and of no over paired labels."""
    if len(gold) != len(pred) or not gold:
        raise ValueError("one prediction per question, and at least one question")

    def f1(label: str) -> float:
        tp = sum(g == p == label for g, p in zip(gold, pred))
        fp = sum(p == label != g for g, p in zip(gold, pred))
        fn = sum(g == label != p for g, p in zip(gold, pred))
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    return {
        "accuracy": round(sum(g == p for g, p in zip(gold, pred)) / len(gold), 4),
        "macro_f1": round((f1("yes") + f1("no")) / 2, 4),
        "f1_yes": round(f1("yes"), 4),
        "f1_no": round(f1("no"), 4),
        "predicted_yes": sum(p == "yes" for p in pred),
        "questions": len(gold),
    }


# --- corpus and questions ---------------------------------------------------------------------


def sources(data: Path, ncbi_disease: Sequence[str]) -> list[tuple[str, list[str]]]:
    """(reader kind, files) of every source, PubMedQA first."""
    found = [
        ("pubmedqa", [str(data / PQAL)]),
        ("bc5cdr", sorted(glob.glob(str(data / BC5CDR)))),
        ("ncbi-disease", list(ncbi_disease)),
        ("hoc", sorted(glob.glob(str(data / HOC)))),
    ]
    return [(kind, files) for kind, files in found if files]


def unique_passages(
    kinds: Iterable[tuple[str, list[str]]], profile: Profile, counts: dict
) -> Iterator[Passage]:
    """The windows of every source's abstracts; a PMID read from an earlier source is skipped."""
    chunking = profile.chunking
    earlier: set[str] = set()
    for kind, files in kinds:
        own: set[str] = set()
        dropped: set[str] = set()
        windows = 0
        for passage in read_corpus(
            kind,
            files,
            max_tokens=chunking.max_tokens,
            overlap_sentences=chunking.overlap_sentences,
        ):
            if passage.pmid in earlier:
                dropped.add(passage.pmid)
                continue
            own.add(passage.pmid)
            windows += 1
            yield passage
        counts[kind] = {"abstracts": len(own), "windows": windows, "duplicate_pmids": len(dropped)}
        earlier |= own


def build(out: Path, profile: Profile, kinds: list[tuple[str, list[str]]]) -> dict:
    from qa.index.store import build_index

    counts: dict = {}
    log(f"building the index into {out}")
    manifest = build_index(
        unique_passages(kinds, profile, counts),
        out,
        profile,
        device="cpu",
        built_by="benchmarks/open_domain_pubmedqa.py",
    )
    return {
        "sources": counts,
        "abstracts": sum(c["abstracts"] for c in counts.values()),
        "passages": manifest["passages"],
        "build_seconds": manifest["build_seconds"],
    }


def yesno_questions(data: Path, limit: int | None) -> tuple[list[Passage], list[str], dict]:
    """The test split's yes/no questions (as their PubMedQA passages), their gold, and counts."""
    truth = read_pubmedqa_labels(data / TRUTH)
    entries = {p.pmid: p for p in read_pubmedqa([data / PQAL]) if p.pmid in truth}
    kept = [pmid for pmid in truth if truth[pmid] in ("yes", "no") and pmid in entries]
    kept = kept[:limit] if limit else kept
    counts = {
        "test_pmids": len(truth),
        "maybe_excluded": sum(v == "maybe" for v in truth.values()),
        "missing_from_ori_pqal": sum(pmid not in entries for pmid in truth),
        "questions": len(kept),
        "gold_yes": sum(truth[p] == "yes" for p in kept),
        "gold_no": sum(truth[p] == "no" for p in kept),
    }
    return [entries[p] for p in kept], [truth[p] for p in kept], counts


# --- the measurement --------------------------------------------------------------------------


def retrieval(qa, questions: list[Passage], modes: Sequence[str]) -> tuple[dict, list[list[Hit]]]:
    """Hit rates of each mode, and the hybrid hits of every question (for the yes/no side)."""
    gold = [q.pmid for q in questions]
    texts = [q.meta["question"] for q in questions]
    figures, hybrid = {}, []
    for mode in modes:
        started = time.perf_counter()
        hits = qa.batch_search(texts, k=max(KS), mode=mode)
        ranked = [[h.passage.pmid for h in row] for row in hits]
        figures[mode] = {
            **hit_rates(ranked, gold),
            "seconds": round(time.perf_counter() - started, 1),
        }
        log(f"{mode}: {figures[mode]}")
        if mode == "hybrid":
            hybrid = hits
    return figures, hybrid


def yesno(qa, questions: list[Passage], hybrid: list[list[Hit]], k: int, profile: Profile):
    """The classifier's label open-domain (top ``k`` hybrid hits) and given-context."""
    chunking = profile.chunking
    open_domain, given = [], []
    for question, hits in tqdm(list(zip(questions, hybrid)), desc="yes/no", unit="q"):
        text = question.meta["question"]
        own = split_passage(question, chunking.max_tokens, chunking.overlap_sentences)
        for passages, out in ((hits[:k], open_domain), (own, given)):
            result = qa.answer(text, passages, qtype="yesno", annotate=False, ranked=True)
            out.append(result.yesno.label)
    return open_domain, given


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="an index built by this script (else build into --out)")
    parser.add_argument("--out", default="/work/runs/open-domain/index", help="index to build")
    parser.add_argument("--profile", default="embedded")
    parser.add_argument("--yesno-model", help="yes/no model instead of the profile's")
    parser.add_argument("--k", type=int, default=5, help="hybrid passages the yes/no reads")
    parser.add_argument("--modes", default="hybrid,bm25,dense")
    parser.add_argument("--ncbi-disease", nargs="*", default=[], help="NCBI-disease PubTator")
    parser.add_argument("--limit", type=int, help="first N questions only (a smoke run)")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    from qa.pipeline import QA

    profile = load_profile(args.profile)
    if args.yesno_model:
        profile = replace(profile, reader=replace(profile.reader, yesno_model=args.yesno_model))
    report: dict = {"profile": profile.name, "yesno_model": profile.reader.yesno_model}
    index = args.index or args.out
    if args.index:
        from qa.index.store import read_manifest

        built = read_manifest(index)
        report["corpus"] = {k: built.get(k) for k in ("passages", "build_seconds", "built_by")}
    else:
        report["corpus"] = build(Path(args.out), profile, sources(args.data, args.ncbi_disease))
    if not args.ncbi_disease:
        report["ncbi_disease"] = "left out: ../shared/data has it only as CoNLL tokens, no PMIDs"
    report["index"] = str(index)
    qa = QA.load(index, profile=profile, device="cpu")
    questions, gold, report["questions"] = yesno_questions(args.data, args.limit)
    modes = [m for m in args.modes.split(",") if m]
    report["retrieval"], hybrid = retrieval(
        qa, questions, ["hybrid"] + [m for m in modes if m != "hybrid"]
    )
    open_domain, given = yesno(qa, questions, hybrid, args.k, profile)
    report["yesno"] = {
        "open_domain": {"passages": f"top {args.k} hybrid", **yesno_scores(gold, open_domain)},
        "given_context": {"passages": "own abstract's windows", **yesno_scores(gold, given)},
        "agree": round(sum(a == b for a, b in zip(open_domain, given)) / len(gold), 4),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
