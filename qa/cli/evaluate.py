"""``qa eval …``: score retrieval, a BioASQ submission, a full BioASQ run, NER or relations.

Each command is one library call; the figures are printed as a table, or (``--json``) as the
library returns them.
"""

from __future__ import annotations

import argparse
import sys

from qa.atomic import write_text
from qa.cli.common import (
    COUNT,
    MODE_CHOICES,
    NER_SOURCES_HELP,
    add_backend_arg,
    add_command_group,
    add_data_dir_arg,
    add_device_arg,
    add_json_arg,
    add_model_args,
    command_line,
    print_json,
)
from qa.config import load_profile
from qa.corpus.ner import DEFAULT_TRAINING
from qa.types import EXACT_TYPES, QUESTION_TYPES

GOLD_HELP = "BioASQ golden JSON files"


def cmd_eval_retrieval(args: argparse.Namespace) -> int:
    from qa.corpus.bioasq import load_golden
    from qa.evaluate.retrieval import evaluate_retrieval
    from qa.index.store import load_index
    from qa.pipeline import run_profile

    profile = load_profile(args.profile) if args.profile else None
    profile = run_profile(args.index, profile, args.backend)
    index = load_index(args.index, profile, device=args.device)
    questions = load_golden(args.gold)
    if args.limit:
        questions = questions[: args.limit]
    results = evaluate_retrieval(index, questions, modes=args.modes)
    if args.json:
        print_json(results)
        return 0
    print(
        f"{'retriever':<10} {'hit@10':>8} {'mrr@10':>8} {'recall@100':>11} {'map@10':>8} {'n':>5}"
    )
    for mode, m in results.items():
        print(
            f"{mode:<10} {m['hit@10']:>8.3f} {m['mrr@10']:>8.3f} {m['recall@100']:>11.3f} "
            f"{m.get('map@10', 0):>8.3f} {m['questions']:>5}"
        )
    return 0


def cmd_eval_score(args: argparse.Namespace) -> int:
    from qa.evaluate.bioasq import evaluate_bioasq

    result = evaluate_bioasq(args.gold, args.submission, version=args.version)
    if args.json:
        print_json(result)
        return 0
    b = result["phase_b"]
    print(
        f"version {result['version']}: {result['submitted_questions']} submitted of "
        f"{result['gold_questions']} gold questions"
    )
    f, li, y = b["factoid"], b["list"], b["yesno"]
    print(
        f"factoid  strict {f['strict_accuracy']:.4f}  lenient {f['lenient_accuracy']:.4f}  "
        f"MRR {f['mrr']:.4f}  (n={f['questions']})"
    )
    print(
        f"list     P {li['mean_precision']:.4f}  R {li['mean_recall']:.4f}  "
        f"F1 {li['mean_f1']:.4f}  (n={li['questions']})"
    )
    print(
        f"yes/no   accuracy {y['accuracy']:.4f}  macro-F1 {y['macro_f1']:.4f}  (n={y['questions']})"
    )
    print_ideal(b["ideal"])
    for part in ("documents", "snippets"):
        a = result["phase_a"][part]
        print(f"{part:<10}MAP {a['map']:.4f}  GMAP {a['gmap']:.4f}  F1 {a['f_measure']:.4f}")
    return 0


def print_ideal(ideal: dict) -> None:
    """One line of ROUGE figures per question set (summary questions, all questions)."""
    for group, m in ideal.items():
        print(
            f"ideal ({group}) ROUGE-2 R {m['rouge2_recall']:.4f}  F1 {m['rouge2_f1']:.4f}  "
            f"ROUGE-SU4 R {m['rougesu4_recall']:.4f}  F1 {m['rougesu4_f1']:.4f}  "
            f"(n={m['questions']})"
        )


def cmd_eval_bioasq(args: argparse.Namespace) -> int:
    from qa.evaluate.run import report_markdown, run_bioasq, write_json
    from qa.pipeline import QA

    qa = QA.load(args.index or None, profile=args.profile, device=args.device, backend=args.backend)
    run = run_bioasq(
        qa,
        args.gold,
        snippets="gold" if args.snippets else None,
        k=args.k,
        mode=args.mode,
        limit=args.limit or 0,
        predict_types=args.predict_types,
        types=args.types or (),
    )
    if args.submission:
        write_json(run["submission"], args.submission)
        print(f"Wrote the submission to {args.submission}", file=sys.stderr)
    if args.out:
        write_text(args.out, report_markdown(run, command=command_line()))
        print(f"Wrote the report to {args.out}", file=sys.stderr)
    metrics = run["metrics"]
    if args.json:
        print_json(metrics)
        return 0
    print(f"mode: {metrics['mode']}  questions: {metrics['n_questions']}")
    for kind in EXACT_TYPES:
        print(f"{kind:8} " + "  ".join(f"{k} {v:.4f}" for k, v in metrics[kind].items()))
    print_ideal(metrics["ideal"])
    if metrics["retrieval"]:
        print("retrieval " + "  ".join(f"{k} {v:.4f}" for k, v in metrics["retrieval"].items()))
    print(f"latency  p50 {metrics['latency_ms']['p50']} ms  p95 {metrics['latency_ms']['p95']} ms")
    return 0


def cmd_eval_ner(args: argparse.Namespace) -> int:
    from qa.annotate.ner import EntityTagger
    from qa.evaluate.ner import evaluate_tagger

    tagger = EntityTagger(args.model, device=args.device, batch_size=args.batch_size)
    tagger.with_backend(args.backend)
    result = evaluate_tagger(tagger, args.data, data_dir=args.data_dir, progress=not args.json)
    if args.json:
        print_json(result)
        return 0
    print(f"{'source':<24} {'type':<10} {'P':>7} {'R':>7} {'F1':>7} {'gold':>7}")
    for name, scores in result["sources"].items():
        for kind, s in [*scores["types"].items(), ("micro", scores["micro"])]:
            print(
                f"{name:<24} {kind:<10} {s['precision']:>7.4f} {s['recall']:>7.4f} "
                f"{s['f1']:>7.4f} {s['gold']:>7}"
            )
    print(f"macro F1 over sources and types: {result['macro_f1']:.4f}")
    return 0


def cmd_eval_relations(args: argparse.Namespace) -> int:
    from qa.annotate.relations import RelationClassifier
    from qa.evaluate.relations import evaluate_relations

    classifier = RelationClassifier(args.model, device=args.device).with_backend(args.backend)
    result = evaluate_relations(classifier, args.data)
    if args.json:
        print_json(result)
        return 0
    print(f"{'corpus':<12} {'P':>7} {'R':>7} {'micro-F1':>9} {'support':>8} {'pairs':>7}")
    for name, scores in [*result["corpora"].items(), ("all", result["all"])]:
        m = scores["micro"]
        print(
            f"{name:<12} {m['precision']:>7.4f} {m['recall']:>7.4f} {m['f1']:>9.4f} "
            f"{m['support']:>8} {scores['pairs']:>7}"
        )
        if "document_level" in scores:
            d = scores["document_level"]
            print(
                f"{'  (per doc)':<12} {d['precision']:>7.4f} {d['recall']:>7.4f} {d['f1']:>9.4f} "
                f"{d['support']:>8}"
            )
    print("\nper relation type (all corpora):")
    for label, s in result["all"]["per_type"].items():
        print(
            f"  {label:<30} P {s['precision']:.4f}  R {s['recall']:.4f}  F1 {s['f1']:.4f}  "
            f"(n={s['support']})"
        )
    return 0


def _register_bioasq(evaluate: argparse._SubParsersAction) -> None:
    p = evaluate.add_parser("retrieval", help="hit@10, mrr@10, recall@100, document map@10")
    p.add_argument("--gold", nargs="+", required=True, help=GOLD_HELP)
    p.add_argument("--index", required=True)
    p.add_argument("--modes", nargs="+", default=list(MODE_CHOICES), choices=MODE_CHOICES)
    p.add_argument("--limit", type=COUNT, default=None, help="only the first N questions")
    add_json_arg(p)
    add_model_args(p)
    p.set_defaults(func=cmd_eval_retrieval)

    p = evaluate.add_parser("score", help="score a BioASQ submission file (official measures)")
    p.add_argument("--gold", nargs="+", required=True, help=GOLD_HELP)
    p.add_argument("--submission", required=True, help="submission JSON (BioASQ format)")
    p.add_argument(
        "--version",
        type=int,
        default=9,
        choices=[2, 3, 5, 8, 9],
        help="challenge version, the official evaluator's -e flag (default 9, the "
        "current format; the Java tool itself defaults to 2)",
    )
    add_json_arg(p)
    p.set_defaults(func=cmd_eval_score)

    p = evaluate.add_parser(
        "bioasq",
        help="answer BioASQ questions, write a submission and score it (official measures)",
    )
    p.add_argument("--gold", nargs="+", required=True, help=GOLD_HELP)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--index", help="answer from this index's retrieved passages")
    where.add_argument(
        "--snippets", choices=["gold"], help="answer from each question's gold snippets (phase B)"
    )
    p.add_argument("--mode", default="hybrid", choices=MODE_CHOICES)
    p.add_argument("-k", type=COUNT, default=10, help="passages read per question (--index)")
    p.add_argument("--limit", type=COUNT, default=None, help="only the first N questions")
    p.add_argument(
        "--predict-types", action="store_true", help="use the question-type classifier, not gold"
    )
    p.add_argument(
        "--types",
        nargs="+",
        choices=QUESTION_TYPES,
        help="only the questions of these gold types (e.g. --types summary for ideal answers)",
    )
    p.add_argument("--submission", help="write the submission (BioASQ JSON) here")
    p.add_argument("--out", help="write a Markdown report here")
    add_json_arg(p)
    add_model_args(p)
    p.set_defaults(func=cmd_eval_bioasq)


def _register_annotation(evaluate: argparse._SubParsersAction) -> None:
    names = ", ".join(DEFAULT_TRAINING)
    p = evaluate.add_parser(
        "ner", help="entity-level strict P/R/F1 per type (seqeval-style) on NER test files"
    )
    p.add_argument("--model", required=True, help="model folder, hub id or qa-models:NAME")
    p.add_argument(
        "--data",
        nargs="+",
        required=True,
        help="test data: "
        + NER_SOURCES_HELP.format(names=names, split="test")
        + "; names take their test split",
    )
    p.add_argument("--batch-size", type=COUNT, default=32)
    add_json_arg(p)
    add_data_dir_arg(p)
    add_device_arg(p)
    add_backend_arg(p, default="torch")
    p.set_defaults(func=cmd_eval_ner)

    p = evaluate.add_parser(
        "relations", help="P/R/F1 per relation type and micro-F1 on gold pairs of test files"
    )
    p.add_argument("--model", required=True, help="relation model folder, qa-models:NAME or hub id")
    p.add_argument("--data", nargs="+", required=True, help="test files or DDI folders")
    add_json_arg(p)
    add_device_arg(p)
    add_backend_arg(p, default="torch")
    p.set_defaults(func=cmd_eval_relations)


def register(subparsers: argparse._SubParsersAction) -> None:
    evaluate = add_command_group(subparsers, "eval", "evaluate on BioASQ")
    _register_bioasq(evaluate)
    _register_annotation(evaluate)
