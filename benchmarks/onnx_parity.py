"""torch against ONNX Runtime, side by side, printed as JSON.

Parity (the figures the models are judged by, on each backend):
* BioASQ 10B from the gold snippets (``qa eval bioasq --snippets gold``'s own code path):
  factoid MRR, list F1, yes/no macro-F1, and the share of questions whose exact answer is
  the torch run's, word for word;
* dense mrr@10 of 10B questions over all 10B snippets, the yardstick of the embedder's card
  (on torch and a CPU with bf16 instructions, also with the snippets encoded in bfloat16);
* entity F1 on the BC5CDR test split (``qa eval ner``'s code path), micro over its types.

Speed (warm, one question at a time, on an index):
* question encoding p50; hybrid ``QA.search`` p50; reader passages/s over each question's
  top-k retrieved passages;
* annotation of the passages behind the top three answers, p50 (the annotator's cache emptied
  before each question); ``QA.ask`` p50 with k=10 and no annotation.

    python benchmarks/onnx_parity.py --index indexes/bioasq --json
    python benchmarks/onnx_parity.py --only parity --limit 20       # a quick look

Every backend gets its own models in one process; the exported graphs are cached (see
``qa/modelhub/onnx.py``), so only the first run pays for the export.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from patterns import matching_files

from qa.config import BACKENDS, cpu_has_bf16, load_profile, with_backend
from qa.corpus.bioasq import GoldQuestion, load_golden
from qa.corpus.ner import resolve_sources
from qa.evaluate.ner import evaluate_sources
from qa.evaluate.run import run_bioasq
from qa.pipeline import QA
from qa.read.answering import annotate_answers
from qa.train.embedder import dense_dev_metrics
from qa.types import EXACT_TYPES

DEV_GOLD = str(Path(__file__).resolve().parents[2] / "shared/data/bioasq/*/*10B[1-6]_golden.json")


def p50(values: Sequence[float]) -> float:
    return round(float(np.percentile(np.array(values), 50)), 2)


def parity(qa: QA, gold: list[str], questions: list[GoldQuestion], limit: int) -> dict:
    """The quality figures of one backend's models."""
    run = run_bioasq(qa, gold, snippets="gold", limit=limit, show_progress=False)
    metrics = run["metrics"]
    dense = dense_dev_metrics(qa.components.encoder, questions)
    tagger = qa.components.annotator.tagger
    sources = resolve_sources(["bc5cdr"], split="test")
    ner = evaluate_sources(tagger, sources, max_sentences=limit * 10 or None, progress=False)
    return {
        "factoid_mrr": metrics["factoid"]["mrr"],
        "list_f1": metrics["list"]["mean_f1"],
        "yesno_macro_f1": metrics["yesno"]["macro_f1"],
        "dense_mrr@10": round(dense["mrr@10"], 4),
        **_bf16_dense(qa, questions),
        "bc5cdr_entity_f1": round(ner["overall"]["micro"]["f1"], 4),
        "questions": metrics["n_questions"],
        "exact_answers": [e.get("exact_answer") for e in run["submission"]["questions"]],
    }


def _bf16_dense(qa: QA, questions: list[GoldQuestion]) -> dict:
    """On torch and a CPU with bf16 instructions, dense mrr@10 with the snippets encoded in
    bfloat16, as ``qa index build`` encodes passages there ([runtime] index_bf16 = auto)."""
    encoder = qa.components.encoder
    if qa.profile.runtime.backend != "torch" or not cpu_has_bf16():
        return {}
    dense = dense_dev_metrics(encoder, questions, bf16=True)
    return {"dense_mrr@10_bf16_passages": round(dense["mrr@10"], 4)}


def timed_ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def speed(qa: QA, questions: list[GoldQuestion], k: int) -> dict:
    """The latencies of one backend's models, each warmed up first."""
    for qtype in EXACT_TYPES:
        qa.ask(questions[0].body, qtype=qtype, k=k, annotate=False)
    encoder, reader = qa.components.encoder, qa.components.reader
    length = qa.profile.embedder.query_max_seq_length
    encoding = [
        timed_ms(lambda q=q: encoder.encode([q.body], max_length=length)) for q in questions
    ]
    searching = [timed_ms(lambda q=q: qa.search(q.body, k=k)) for q in questions]
    hits = [qa.search(q.body, k=k) for q in questions]
    reading = sum(
        timed_ms(lambda q=q, h=h: reader.read(q.body, h)) for q, h in zip(questions, hits)
    )
    results = [qa.ask(q.body, qtype=q.type, k=k, annotate=False) for q in questions]
    annotator, top = qa.components.annotator, qa.profile.annotate.passages
    annotator.annotate(questions[0].body)
    annotating = []
    for result in results:
        annotator.clear()
        passages = [h.passage for h in result.hits]
        annotating.append(
            timed_ms(lambda r=result, p=passages: annotate_answers(annotator, r.answers, p, top))
        )
    return {
        "question_encoding_p50_ms": p50(encoding),
        "hybrid_search_p50_ms": p50(searching),
        "reader_passages_per_s": round(sum(len(h) for h in hits) / (reading / 1000), 1),
        "annotate_top3_p50_ms": p50(annotating),
        "ask_p50_ms": p50([r.timings["total_ms"] for r in results]),
        "questions": len(questions),
        "k": k,
    }


def agreement(runs: dict[str, dict]) -> None:
    """Each backend's share of exact answers identical to torch's (the lists are dropped)."""
    reference = runs.get("torch", {}).get("exact_answers")
    for figures in runs.values():
        answers = figures.pop("exact_answers")
        if reference:
            same = sum(a == b for a, b in zip(answers, reference))
            figures["same_exact_answers_as_torch"] = round(same / len(reference), 4)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gold", nargs="+", default=[DEV_GOLD], help="BioASQ golden files")
    parser.add_argument("--index", default="indexes/bioasq", help="index for the speed part")
    parser.add_argument("--profile", default="embedded")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--only", choices=["parity", "speed"], help="one part only")
    parser.add_argument("--limit", type=int, default=0, help="first N questions (0: all)")
    parser.add_argument("--speed-questions", type=int, default=100)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    gold = matching_files(args.gold)
    if not gold:
        raise SystemExit(f"No golden files match {args.gold}: pass --gold FILES.")
    questions = load_golden(gold)[: args.limit or None]
    if args.only != "parity" and not Path(args.index, "manifest.json").is_file():
        raise SystemExit(f"No index at {args.index}: build one, pass --index, or --only parity.")
    report: dict = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "limit": args.limit,
    }
    runs: dict[str, dict] = {}
    timings: dict[str, dict] = {}
    for backend in args.backends:
        profile = with_backend(load_profile(args.profile), backend)
        if args.only != "speed":
            qa = QA.load(None, profile=profile, device="cpu")
            runs[backend] = parity(qa, gold, questions, args.limit)
        if args.only != "parity":
            qa = QA.load(args.index, profile=profile, device="cpu")
            timings[backend] = speed(qa, questions[: args.speed_questions], args.k)
    if runs:
        agreement(runs)
        report["parity"] = runs
    if timings:
        report["speed"] = timings
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
