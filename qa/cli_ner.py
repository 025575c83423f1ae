"""``qa train ner`` and ``qa eval ner``: argument parsing only, each a thin shell over one call.

Kept apart from ``qa/cli.py`` so the NER commands can be registered with two calls there:
``add_train_ner(train_subparsers)`` and ``add_eval_ner(eval_subparsers)``.
"""

from __future__ import annotations

import argparse

from qa.cli_common import add_device_arg, add_training_args, print_json, training_kwargs
from qa.corpus.ner import DATA_ENV, DEFAULT_TRAINING

_SOURCES_HELP = (
    "corpus names ({names}), optionally with a split (bc2gm:{split}), or CoNLL-style "
    "TOKEN<TAB>TAG files (FILE=TYPE when the tags carry no type)"
)


def _data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=None,
        help=f"the shared data folder (default: ${DATA_ENV}, else ../shared/data)",
    )


def cmd_train_ner(args: argparse.Namespace) -> int:
    from qa.train.ner import train_ner

    result = train_ner(
        args.corpora,
        args.dev,
        args.output,
        **training_kwargs(args),
        max_dev_sentences=args.max_dev_sentences,
        data_dir=args.data_dir,
    )
    print_json(result)
    return 0


def add_train_ner(train_subparsers) -> argparse.ArgumentParser:
    """Register ``qa train ner`` on the ``train`` sub-command's subparsers."""
    names = ", ".join(DEFAULT_TRAINING)
    p = train_subparsers.add_parser(
        "ner", help="train one NER model (chemical, disease, gene, species) on several corpora"
    )
    p.add_argument(
        "--corpora",
        nargs="+",
        default=list(DEFAULT_TRAINING),
        help="training data: "
        + _SOURCES_HELP.format(names=names, split="train")
        + f" (default: {names}, train splits)",
    )
    p.add_argument(
        "--dev",
        nargs="*",
        default=[],
        help="dev data for choosing the best epoch, same forms (names take their dev split); "
        "none: the last epoch is kept",
    )
    add_training_args(p, epochs=3, batch_size=32, lr=5e-5, max_seq_length=256)
    p.add_argument(
        "--max-dev-sentences",
        type=int,
        default=None,
        help="evaluate on the first N sentences of each dev corpus only (faster epochs)",
    )
    _data_dir_arg(p)
    p.set_defaults(func=cmd_train_ner)
    return p


def cmd_eval_ner(args: argparse.Namespace) -> int:
    from qa.annotate.ner import EntityTagger
    from qa.evaluate.ner import evaluate_tagger

    tagger = EntityTagger(args.model, device=args.device, batch_size=args.batch_size)
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


def add_eval_ner(eval_subparsers) -> argparse.ArgumentParser:
    """Register ``qa eval ner`` on the ``eval`` sub-command's subparsers."""
    names = ", ".join(DEFAULT_TRAINING)
    p = eval_subparsers.add_parser(
        "ner", help="entity-level strict P/R/F1 per type (seqeval-style) on NER test files"
    )
    p.add_argument("--model", required=True, help="model folder, hub id or qa-models:NAME")
    p.add_argument(
        "--data",
        nargs="+",
        required=True,
        help="test data: "
        + _SOURCES_HELP.format(names=names, split="test")
        + "; names take their test split",
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--json", action="store_true")
    _data_dir_arg(p)
    add_device_arg(p)
    p.set_defaults(func=cmd_eval_ner)
    return p
