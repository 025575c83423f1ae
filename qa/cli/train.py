"""``qa train …``: fine-tune a model; each command is one library call whose result is printed
as JSON (the same figures the model card records)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from qa.cli.common import (
    COUNT,
    NER_SOURCES_HELP,
    NON_NEGATIVE,
    add_command_group,
    add_data_dir_arg,
    add_training_args,
    command_line,
    number,
    print_json,
    training_run,
)
from qa.corpus.ner import DEFAULT_TRAINING

GOLDEN_TRAIN = "BioASQ golden files (4B–9B)"
GOLDEN_DEV = "held-out BioASQ golden files (e.g. 9B, never the batches you report on)"


def _run(
    args: argparse.Namespace,
    trainer: Callable[..., dict],
    train: Sequence[str],
    dev: Sequence[str],
    **options: Any,
) -> int:
    """``trainer(<the run from the flags>, **options)`` (with ``max_seq_length=`` where the
    command has that flag), its result printed."""
    if hasattr(args, "max_seq_length"):
        options["max_seq_length"] = args.max_seq_length
    print_json(trainer(training_run(args, train, dev), **options))
    return 0


def cmd_train_embedder(args: argparse.Namespace) -> int:
    from qa.train.embedder import train_embedder

    return _run(
        args, train_embedder, args.train, args.dev, hard_negatives=not args.no_hard_negatives
    )


def cmd_train_reader(args: argparse.Namespace) -> int:
    from qa.train.reader import train_reader

    return _run(args, train_reader, args.train, args.dev)


def cmd_train_yesno(args: argparse.Namespace) -> int:
    from qa.corpus.pubmedqa import read_pubmedqa_labels
    from qa.train.yesno import train_yesno

    held_out = {pmid for path in args.held_out for pmid in read_pubmedqa_labels(path)}
    options = {
        "held_out_pmids": held_out,
        "joined": args.joined,
        "class_weights": not args.no_class_weights,
        "swapped_share": args.swapped_entities,
        "ner_model": args.ner_model,
    }
    return _run(args, train_yesno, args.train, args.dev, **options)


def cmd_train_qtype(args: argparse.Namespace) -> int:
    from qa.train.qtype import qtype_pairs, train_qtype

    train, dev = qtype_pairs(args.train, args.dev)
    print_json(train_qtype(train, dev, args.output, command=command_line()))
    return 0


def cmd_train_answer_type(args: argparse.Namespace) -> int:
    from qa.annotate.annotator import Annotator
    from qa.train.answer_type import answer_type_pairs, train_answer_type

    tagger = Annotator(args.ner_model, device=args.device)
    train, dev = answer_type_pairs(args.train, args.dev, tagger.entities)
    result = train_answer_type(train, dev, args.output, args.ner_model, command_line())
    print_json(result)
    return 0


def cmd_train_ner(args: argparse.Namespace) -> int:
    from qa.train.ner import train_ner

    options = {
        "max_dev_sentences": args.max_dev_sentences,
        "data_dir": args.data_dir,
        "train_embeddings": args.train_embeddings,
    }
    return _run(args, train_ner, args.corpora, args.dev, **options)


def cmd_train_relations(args: argparse.Namespace) -> int:
    from qa.train.relations import train_relations

    options = {
        "negative_ratio": args.negative_ratio,
        "trainable_layers": args.trainable_layers,
        "weigh_rare_labels": args.weigh_rare_labels,
    }
    return _run(args, train_relations, args.corpora, args.dev, **options)


def _golden_parser(
    train: argparse._SubParsersAction,
    name: str,
    summary: str,
    train_help: str = GOLDEN_TRAIN,
    dev_required: bool = False,
) -> argparse.ArgumentParser:
    """A trainer on BioASQ golden files: ``--train`` files, then ``--dev`` files (10B)."""
    p = train.add_parser(name, help=summary)
    p.add_argument("--train", nargs="+", required=True, help=train_help)
    if dev_required:
        p.add_argument("--dev", nargs="+", required=True, help=GOLDEN_DEV)
    else:
        p.add_argument("--dev", nargs="+", default=[], help=GOLDEN_DEV)
    return p


def _register_bioasq_trainers(train: argparse._SubParsersAction) -> None:
    p = _golden_parser(
        train, "embedder", "fine-tune the sentence encoder on BioASQ", dev_required=True
    )
    # The sentence-transformers trainer runs its own loop, without --stop-after-epochs.
    add_training_args(p, epochs=1, batch_size=32, lr=3e-5, stop_after=False)
    p.add_argument("--no-hard-negatives", action="store_true")
    p.set_defaults(func=cmd_train_embedder)

    # The reader and the yes/no classifier differ only in their data and epochs.
    for name, summary, other_data, func, epochs in (
        (
            "reader",
            "fine-tune an extractive reader on BioASQ spans",
            "SQuAD-format JSON",
            cmd_train_reader,
            2,
        ),
        (
            "yesno",
            "fine-tune the yes/no classifier on BioASQ (+PubMedQA)",
            "PubMedQA ori_pqal.json",
            cmd_train_yesno,
            3,
        ),
    ):
        p = _golden_parser(train, name, summary, train_help=f"{GOLDEN_TRAIN} and/or {other_data}")
        add_training_args(p, epochs=epochs, batch_size=16, lr=5e-5, max_seq_length=256)
        p.set_defaults(func=func)
    p.add_argument(  # on the yes/no parser, the loop's last
        "--held-out",
        nargs="*",
        default=[],
        help="PubMedQA test_ground_truth.json: its PMIDs are not trained on (the open-domain "
        "evaluation asks them)",
    )
    p.add_argument(
        "--joined",
        action="store_true",
        help="train on each question's passages joined in windows (the model records it and is "
        "read so)",
    )
    p.add_argument(
        "--no-class-weights",
        action="store_true",
        help="weigh every pair the same (by default each class by the inverse of its share)",
    )
    p.add_argument(
        "--swapped-entities",
        type=number(0.0, 1.0),
        default=0.0,
        metavar="SHARE",
        help="ask this share (0-1) of the 'yes' questions again with an entity swapped for "
        "one their passages do not name, labelled 'no' (default 0: off)",
    )
    p.add_argument(
        "--ner-model",
        default="qa-models:ner-minilm-biomed",
        help="the NER model that finds the entities to swap",
    )

    p = _golden_parser(train, "qtype", "fit the question-type classifier on BioASQ questions")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.set_defaults(func=cmd_train_qtype)

    p = _golden_parser(
        train, "answer-type", "fit the expected-answer-type classifier on BioASQ questions"
    )
    p.add_argument(
        "--ner-model",
        default="qa-models:ner-minilm-biomed",
        help="the NER model that types the gold answers (the one the profile annotates with)",
    )
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1…")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.set_defaults(func=cmd_train_answer_type)


def _register_ner(train: argparse._SubParsersAction) -> None:
    names = ", ".join(DEFAULT_TRAINING)
    p = train.add_parser(
        "ner", help="train one NER model (chemical, disease, gene, species) on several corpora"
    )
    p.add_argument(
        "--corpora",
        nargs="+",
        default=list(DEFAULT_TRAINING),
        help="training data: "
        + NER_SOURCES_HELP.format(names=names, split="train")
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
        type=COUNT,
        default=None,
        help="evaluate on the first N sentences of each dev corpus only (faster epochs)",
    )
    p.add_argument(
        "--train-embeddings",
        action="store_true",
        help="train the word embeddings too (the overlay stores them: about 23 MB more)",
    )
    add_data_dir_arg(p)
    p.set_defaults(func=cmd_train_ner)


def _register_relations(train: argparse._SubParsersAction) -> None:
    p = train.add_parser(
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
        type=number(0.0),
        default=None,
        help="keep at most this many none pairs per related pair in each corpus (default: all)",
    )
    p.add_argument(
        "--trainable-layers",
        type=NON_NEGATIVE,
        default=None,
        help="train only the top N transformer layers (a smaller overlay; default: all)",
    )
    p.add_argument(
        "--weigh-rare-labels",
        action="store_true",
        help="weigh relation labels rarer than the median one up in the loss (DDI's int)",
    )
    p.set_defaults(func=cmd_train_relations)


def register(subparsers: argparse._SubParsersAction) -> None:
    train = add_command_group(subparsers, "train", "fine-tune models")
    _register_bioasq_trainers(train)
    _register_ner(train)
    _register_relations(train)
