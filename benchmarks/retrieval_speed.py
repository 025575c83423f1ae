"""Retrieval speed on a built index, printed as JSON.

* BM25 queries/s: ours (postings scored at query time) and rank-bm25 on the same tokenised corpus, same queries, one
  query at a time, in one run, and their ratio;
* hybrid latency p50/p95: ``QA.search`` per question, warm, everything included (question
  encoding, BM25, FAISS, fusion);
* dense indexing: passages/s of ``encode`` over streamed chunks, as an index build calls it
  (tokenise + forward + pool + normalise), against bare forward passes over the same, already
  tokenised, batches, and their ratio (``encode_vs_bare``; also in CPU time, which other jobs on
  the machine do not stretch);
* ``--backend onnx`` runs the encoder on ONNX Runtime (CPU), to set beside a torch run;
  ``--index-bf16 off|on`` overrides the profile's choice of bfloat16 for passage encoding
  (``auto``: on where the CPU has bf16 instructions).

    python benchmarks/retrieval_speed.py --index indexes/bioasq \
        --questions ../shared/data/bioasq/*/*10B[1-6]_golden.json --json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from patterns import matching_files

from qa.config import BACKENDS, BF16_CHOICES
from qa.corpus.bioasq import load_golden
from qa.pipeline import QA
from qa.retrieve.bm25 import BM25Index, tokenize
from qa.retrieve.dense import DenseIndex, passage_input, passage_text, write_shard

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
        "bm25_queries_per_s": round(ours_qps, 1),
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


def _timed(run) -> tuple[float, float]:
    """Wall and CPU seconds of ``run()``. CPU time (all of this process's threads) is the
    figure to trust on a shared machine: other jobs stretch the wall clock, not it."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_indexing(qa: QA, n: int, index_bf16: str, chunk: int, rounds: int) -> dict:
    """Passages/s of an index build's dense part, streamed in chunks of ``chunk`` passages as
    the builder encodes them, with the profile's bf16 choice (or ``index_bf16`` in its place),
    against bare forward passes of the transformer over the very batches the encoder runs
    (already tokenised and padded) under the same precision; and, for scale, forward passes
    over batches sorted by character count (what encode ran before it sorted by tokens).

    Every variant runs once untimed (each batch shape warm), then ``rounds`` times in turn;
    the ratios are medians of each round's, so a load that comes and goes hits both sides."""
    encoder = qa.index.dense.encoder
    passages = qa.index.passages[:n]
    chunks = [passages[s : s + chunk] for s in range(0, len(passages), chunk)]
    batch_size = qa.profile.embedder.batch_size
    runtime = replace(qa.profile.runtime, index_bf16=index_bf16 or qa.profile.runtime.index_bf16)
    bf16 = runtime.bf16_passages(encoder.device)

    def encode() -> None:
        for part in chunks:
            DenseIndex.encode_passages(part, encoder, batch_size=batch_size, bf16=bf16)

    inputs = [[passage_input(p, encoder.title_pairs) for p in part] for part in chunks]
    ours = [f for part in inputs for _, f in encoder.batches(part, batch_size)]
    by_chars = [
        b
        for part in chunks
        for b in _char_sorted_batches(encoder, [passage_text(p) for p in part], batch_size)
    ]

    def forward(batches: list) -> Callable[[], None]:
        def run() -> None:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                for batch in batches:
                    encoder.model(**batch)

        return run

    variants = {"encode": encode, "bare": forward(ours), "chars": forward(by_chars)}
    for run in variants.values():
        run()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            times[name].append(_timed(run))
    vectors = DenseIndex.encode_passages(passages, encoder, batch_size=batch_size, bf16=bf16)
    with tempfile.TemporaryDirectory() as shard:  # the dense part of one shard, as a build
        faiss_s = _timed(lambda: write_shard(Path(shard), vectors, qa.profile.index))[0]

    def rate(name: str) -> float:
        return len(passages) / statistics.median(wall for wall, _ in times[name])

    def ratio(name: str, clock: int) -> float:
        pairs = zip(times[name], times["bare"])
        return round(statistics.median(bare[clock] / t[clock] for t, bare in pairs), 3)

    encode_s = statistics.median(wall for wall, _ in times["encode"])
    return {
        "passages": len(passages),
        "chunk": chunk,
        "rounds": rounds,
        "encode_passages_per_s": round(rate("encode"), 1),
        "bare_forward_passages_per_s": round(rate("bare"), 1),
        "encode_vs_bare": ratio("encode", 0),
        "encode_vs_bare_cpu_time": ratio("encode", 1),
        "char_sorted_forward_passages_per_s": round(rate("chars"), 1),
        "indexing_passages_per_s": round(len(passages) / (encode_s + faiss_s), 1),
        "device": encoder.device,
        "batch_size": batch_size,
        "bf16": bf16,
    }


def _char_sorted_batches(encoder, texts: list[str], batch_size: int) -> list:
    """Batches as encode made them before it sorted by token count: by characters."""
    order = np.argsort([-len(t) for t in texts], kind="stable")
    return [
        encoder.tokenizer(
            [texts[i] for i in order[s : s + batch_size]],
            padding=True,
            truncation=True,
            max_length=encoder.max_seq_length,
            return_tensors="pt",
        ).to(encoder.device)
        for s in range(0, len(texts), batch_size)
    ]


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
    parser.add_argument("--queries", type=int, default=300, help="queries for BM25 and hybrid")
    parser.add_argument("--reference-queries", type=int, default=30, help="queries for rank-bm25")
    parser.add_argument("--index-passages", type=int, default=1000)
    parser.add_argument(
        "--index-chunk", type=int, default=4096, help="passages per encode call, as in a build"
    )
    parser.add_argument("--index-rounds", type=int, default=3, help="timed rounds per variant")
    parser.add_argument(
        "--backend", default=None, choices=BACKENDS, help="default: the profile's [runtime]"
    )
    parser.add_argument(
        "--index-bf16", default=None, choices=BF16_CHOICES, help="default: the profile's"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    files = matching_files(args.questions)
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
        "dense_indexing": bench_indexing(
            qa, args.index_passages, args.index_bf16, args.index_chunk, args.index_rounds
        ),
    }
    print(json.dumps(result, indent=2 if args.json else None))


if __name__ == "__main__":
    main()
