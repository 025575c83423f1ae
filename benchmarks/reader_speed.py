"""Reader speed and ``QA.ask`` latency on a built index, printed as JSON.

* reader passages/s: the extractive reader over each question's top-k retrieved passages (all
  windows of one question in batched forward passes), timed apart from retrieval;
* ``QA.ask`` latency p50/p95 with k=10, warm, per question type as BioASQ gives it, and with
  the type predicted; everything included (retrieval, reading or yes/no, no ideal answer, no
  annotation);
* when the profile names an NER model: annotation latency of the passages behind the top
  three answers (cache emptied before each question, so every passage is tagged);
* ``--backend onnx`` runs every model on ONNX Runtime (CPU), to set beside a torch run.

    python benchmarks/reader_speed.py --index indexes/bioasq \
        --questions ../shared/data/bioasq/*/*10B[1-6]_golden.json --json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from patterns import matching_files

from qa.config import BACKENDS
from qa.corpus.bioasq import load_golden
from qa.pipeline import QA
from qa.read.answering import annotate_answers
from qa.types import EXACT_TYPES

DEFAULT_QUESTIONS = str(
    Path(__file__).resolve().parents[2] / "shared/data/bioasq/*/*10B[1-6]_golden.json"
)


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(values), q)), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--questions", nargs="+", default=[DEFAULT_QUESTIONS])
    parser.add_argument("--profile", default=None)
    parser.add_argument("--limit", type=int, default=100, help="questions timed")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--backend", default=None, choices=BACKENDS, help="default: the profile's [runtime]"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    files = matching_files(args.questions)
    questions = load_golden(files)[: args.limit]
    qa = QA.load(args.index, profile=args.profile, device=args.device, backend=args.backend)
    warm = questions[0].body
    for qtype in EXACT_TYPES:
        qa.ask(warm, qtype=qtype, k=args.k, annotate=False)

    hits = [qa.search(q.body, k=args.k) for q in questions]
    passages = sum(len(h) for h in hits)
    started = time.perf_counter()
    for q, h in zip(questions, hits):
        qa.components.reader.read(q.body, h, top_k=5)
    reader_seconds = time.perf_counter() - started

    given, predicted, stages, results = [], [], {}, []
    for q in questions:
        result = qa.ask(q.body, qtype=q.type, k=args.k, annotate=False)
        results.append(result)
        given.append(result.timings["total_ms"])
        for stage, ms in result.timings.items():
            stages.setdefault(stage, []).append(ms)
        predicted.append(qa.ask(q.body, k=args.k, annotate=False).timings["total_ms"])

    annotate = []
    if qa.profile.annotate.ner_model:
        qa.components.annotator.annotate(warm)
        for result in results:  # the answers above, annotated the way QA.answer does
            qa.components.annotator.clear()
            started = time.perf_counter()
            texts, top = [h.passage for h in result.hits], qa.profile.annotate.passages
            annotate_answers(qa.components.annotator, result.answers, texts, top)
            annotate.append((time.perf_counter() - started) * 1000)

    report = {
        "device": qa.components.reader.device,
        "backend": qa.profile.runtime.backend,
        "cpu": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "questions": len(questions),
        "k": args.k,
        "reader_passages_per_s": round(passages / reader_seconds, 1),
        "reader_ms_per_question": round(reader_seconds * 1000 / len(questions), 1),
        "ask_latency_ms": {"p50": percentile(given, 50), "p95": percentile(given, 95)},
        "ask_latency_predicted_type_ms": {
            "p50": percentile(predicted, 50),
            "p95": percentile(predicted, 95),
        },
        "stage_p50_ms": {stage: percentile(ms, 50) for stage, ms in stages.items()},
        "annotate_top3_ms": (
            {"p50": percentile(annotate, 50), "p95": percentile(annotate, 95)} if annotate else None
        ),
        "reader": qa.profile.reader.model,
    }
    print(json.dumps(report, indent=2 if not args.json else None))


if __name__ == "__main__":
    main()
