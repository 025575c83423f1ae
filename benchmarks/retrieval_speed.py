"""Retrieval speed on a built index, printed as JSON.

* BM25 queries/s: bm25s (ours) and rank-bm25 on the same tokenised corpus, same queries, one
  query at a time, in one run, and their ratio;
* hybrid latency p50/p95: ``QA.search`` per question, warm, everything included (question
  encoding, BM25, FAISS, fusion);
* dense indexing passages/s (tokenise + encode + pool + normalise + FAISS add) against the
  encoder's raw forward passes on the same, already tokenised, batches;
* ``--backend onnx`` runs the encoder on ONNX Runtime (CPU), to set beside a torch run;
  ``--index-bf16 off|on`` overrides the profile's choice of bfloat16 for passage encoding
  (``auto``: on where the CPU has bf16 instructions).

    python benchmarks/retrieval_speed.py --index indexes/bioasq \
        --questions ../shared/data/bioasq/*/*10B[1-6]_golden.json --json
"""

from __future__ import annotations

import argparse
import glob
import json
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from qa.config import BACKENDS, BF16_CHOICES
from qa.corpus.bioasq import load_golden
from qa.pipeline import QA
from qa.retrieve.bm25 import BM25Index, tokenize
from qa.retrieve.dense import DenseIndex, build_faiss, passage_text

DEFAULT_QUESTIONS = str(
    Path(__file__).resolve().parents[2] / "shared/data/bioasq/*/*10B[1-6]_golden.json"
)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def bench_bm25(qa: QA, questions: list[str], reference_queries: int) -> dict:
    from rank_bm25 import BM25Okapi

    passages = qa.index.passages
    ours = BM25Index.build(passages, qa.profile.index)
    ours.search(questions[0], 10)  # warm
    started = time.perf_counter()
    for q in questions:
        ours.search(q, 10)
    ours_qps = len(questions) / (time.perf_counter() - started)

    texts = [f"{p.title} {p.text}" if p.title else p.text for p in passages]
    stopwords = qa.profile.index.bm25_stopwords
    reference = BM25Okapi(
        tokenize(texts, stopwords), k1=qa.profile.index.bm25_k1, b=qa.profile.index.bm25_b
    )
    sample = questions[:reference_queries]
    started = time.perf_counter()
    for tokens in tokenize(sample, stopwords):
        np.argsort(-reference.get_scores(tokens))[:10]
    ref_qps = len(sample) / (time.perf_counter() - started)
    return {
        "passages": len(passages),
        "bm25s_queries_per_s": round(ours_qps, 1),
        "rank_bm25_queries_per_s": round(ref_qps, 2),
        "ratio": round(ours_qps / ref_qps, 1),
        "queries": len(questions),
        "rank_bm25_queries": len(sample),
    }


def bench_hybrid(qa: QA, questions: list[str], k: int) -> dict:
    for q in questions[:5]:
        qa.search(q, k=k)  # warm
    timings = []
    for q in questions:
        started = time.perf_counter()
        qa.search(q, k=k)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "queries": len(questions),
        "k": k,
        "depth": qa.profile.fusion.depth,
        "p50_ms": round(percentile(timings, 50), 2),
        "p95_ms": round(percentile(timings, 95), 2),
        "mean_ms": round(statistics.fmean(timings), 2),
    }


def bench_indexing(qa: QA, n: int, index_bf16: str) -> dict:
    """Passages/s of an index build's dense part, with the profile's bf16 choice (or
    ``index_bf16`` in its place), against raw forward passes under the same precision."""
    encoder = qa.index.dense.encoder
    passages = qa.index.passages[:n]
    batch_size = qa.profile.embedder.batch_size
    runtime = replace(qa.profile.runtime, index_bf16=index_bf16 or qa.profile.runtime.index_bf16)
    bf16 = runtime.bf16_passages(encoder.device)
    encoder.encode([passage_text(p) for p in passages[:batch_size]], bf16=bf16)  # warm
    started = time.perf_counter()
    vectors = DenseIndex.encode_passages(passages, encoder, batch_size=batch_size, bf16=bf16)
    build_faiss(vectors, qa.profile.index)
    full = len(passages) / (time.perf_counter() - started)

    texts = [passage_text(p) for p in passages]
    order = np.argsort([-len(t) for t in texts], kind="stable")
    batches = [
        encoder.tokenizer(
            [texts[i] for i in order[s : s + batch_size]],
            padding=True,
            truncation=True,
            max_length=encoder.max_seq_length,
            return_tensors="pt",
        ).to(encoder.device)
        for s in range(0, len(texts), batch_size)
    ]
    started = time.perf_counter()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for batch in batches:
            encoder.model(**batch)
    raw = len(passages) / (time.perf_counter() - started)
    return {
        "passages": len(passages),
        "indexing_passages_per_s": round(full, 1),
        "raw_forward_passages_per_s": round(raw, 1),
        "overhead_share": round(1 - full / raw, 3),
        "device": encoder.device,
        "batch_size": batch_size,
        "bf16": bf16,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", default="indexes/bioasq")
    parser.add_argument(
        "--questions",
        nargs="+",
        default=[DEFAULT_QUESTIONS],
        help="BioASQ golden files whose questions are the queries (globs allowed)",
    )
    parser.add_argument("--queries", type=int, default=300, help="queries for bm25s and hybrid")
    parser.add_argument("--reference-queries", type=int, default=30, help="queries for rank-bm25")
    parser.add_argument("--index-passages", type=int, default=1000)
    parser.add_argument(
        "--backend", default=None, choices=BACKENDS, help="default: the profile's [runtime]"
    )
    parser.add_argument(
        "--index-bf16", default=None, choices=BF16_CHOICES, help="default: the profile's"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    files = sorted({f for pattern in args.questions for f in glob.glob(pattern)})
    if not files:
        raise SystemExit(f"No golden files match {args.questions}: pass --questions FILES.")
    questions = [q.body for q in load_golden(files)][: args.queries]
    qa = QA.load(args.index, backend=args.backend)
    result = {
        "index": args.index,
        "backend": qa.profile.runtime.backend,
        "machine": {
            "cpus": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.cuda.is_available(),
        },
        "bm25": bench_bm25(qa, questions, args.reference_queries),
        "hybrid_latency": bench_hybrid(qa, questions, k=10),
        "dense_indexing": bench_indexing(qa, args.index_passages, args.index_bf16),
    }
    print(json.dumps(result, indent=2 if args.json else None))


if __name__ == "__main__":
    main()
