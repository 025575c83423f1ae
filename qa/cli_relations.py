"""``qa train relations`` and ``qa eval relations``: thin shells over the library calls.

Kept apart from ``qa/cli.py`` so the relation commands can be registered with one call each
(``add_train_relations(train)``, ``add_eval_relations(evaluate)``) on the existing subparsers.
"""

from __future__ import annotations

import argparse

from qa.cli_common import add_device_arg, add_training_args, print_json, training_kwargs


def cmd_train_relations(args: argparse.Namespace) -> int:
    from qa.train.relations import train_relations

    result = train_relations(
        args.corpora,
        args.dev,
        args.output,
        **training_kwargs(args),
        negative_ratio=args.negative_ratio,
        trainable_layers=args.trainable_layers,
    )
    print_json(result)
    return 0


def cmd_eval_relations(args: argparse.Namespace) -> int:
    from qa.annotate.relations import RelationClassifier
    from qa.evaluate.relations import evaluate_relations

    classifier = RelationClassifier(args.model, device=args.device)
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


def add_train_relations(train_subparsers) -> argparse.ArgumentParser:
    p = train_subparsers.add_parser(
        "relations", help="train one relation classifier on BC5CDR CID, ChemProt, DDI, GAD/EU-ADR"
    )
    p.add_argument(
        "--corpora",
        nargs="+",
        required=True,
        help="training files or folders: BC5CDR PubTator, ChemProt JSON lines, DDI-2013 XML "
        "folder, BioBERT TSV (format told from each file)",
    )
    p.add_argument("--dev", nargs="*", default=[], help="dev files for choosing the best epoch")
    add_training_args(p, epochs=3, batch_size=32, lr=5e-5, max_seq_length=128)
    p.add_argument(
        "--negative-ratio",
        type=float,
        default=None,
        help="keep at most this many none pairs per related pair in each corpus (default: all)",
    )
    p.add_argument(
        "--trainable-layers",
        type=int,
        default=None,
        help="train only the top N transformer layers (a smaller overlay; default: all)",
    )
    p.set_defaults(func=cmd_train_relations)
    return p


def add_eval_relations(eval_subparsers) -> argparse.ArgumentParser:
    p = eval_subparsers.add_parser(
        "relations", help="P/R/F1 per relation type and micro-F1 on gold pairs of test files"
    )
    p.add_argument("--model", required=True, help="relation model folder, qa-models:NAME or hub id")
    p.add_argument("--data", nargs="+", required=True, help="test files or DDI folders")
    p.add_argument("--json", action="store_true")
    add_device_arg(p)
    p.set_defaults(func=cmd_eval_relations)
    return p
