"""What every ``qa`` sub-command module shares: common flags, JSON output, printed results.

The flags are defined once here so that ``--profile``, ``--device`` and the trainer flags read
the same in every command's help.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

from qa.config import BACKENDS, available_profiles
from qa.corpus import READERS
from qa.corpus.ner import DATA_ENV
from qa.train.settings import DEFAULT_BASE, TrainingConfig, TrainingRun
from qa.types import NO_CONFIDENT_ANSWER, RETRIEVAL_MODES, Hit, QAResult

#: The kinds of corpus file ``qa corpus`` and ``qa index build --format`` read.
CORPUS_KINDS = sorted(READERS)

NER_SOURCES_HELP = (
    "corpus names ({names}), optionally with a split (bc2gm:{split}), or CoNLL-style "
    "TOKEN<TAB>TAG files (FILE=TYPE when the tags carry no type)"
)
# Alphabetical, as the help has always listed them; also the order `qa eval retrieval` reports.
MODE_CHOICES = sorted(RETRIEVAL_MODES)
EVIDENCE_SHOWN = 3  # passages printed instead of answers when the reader abstains


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer from ``low`` (to ``high``); argparse's message then
    names the option, e.g. "argument -k: expected a whole number of at least 1, got '0'"."""
    wanted = (
        f"a whole number of at least {low}"
        if high is None
        else f"a whole number from {low} to {high}"
    )

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    parse.__name__ = "whole number"
    return parse


def number(low: float, high: float | None = None, *, above: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number of at least ``low`` (or above it) up to ``high``."""
    wanted = f"a number {'above' if above else 'of at least'} {low:g}"
    if high is not None:
        wanted += f" and at most {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        too_low = value <= low if above else value < low
        if not math.isfinite(value) or too_low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


COUNT = whole_number(1)
NON_NEGATIVE = whole_number(0)
PORT = whole_number(0, 65535)


def add_command_group(
    subparsers: argparse._SubParsersAction, name: str, summary: str
) -> argparse._SubParsersAction:
    """``qa NAME …``, a command whose sub-commands are added to what this returns."""
    return subparsers.add_parser(name, help=summary).add_subparsers(
        dest=f"{name}_command", required=True
    )


def add_query_args(
    parser: argparse.ArgumentParser, positional: str, k_help: str | None = None
) -> None:
    """The text to look up, then ``--index``, ``--mode`` and ``-k``: what search and ask share."""
    parser.add_argument(positional)
    parser.add_argument("--index", required=True)
    parser.add_argument("--mode", default="hybrid", choices=MODE_CHOICES)
    parser.add_argument("-k", type=COUNT, default=10, help=k_help)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def command_line() -> str:
    """The command as the user typed it, for model cards."""
    return "qa " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def add_device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1…"
    )


def add_backend_arg(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--backend``; ``default=None`` means the profile's ``[runtime] backend``."""
    parser.add_argument(
        "--backend",
        default=default,
        choices=BACKENDS,
        help="run the models on torch or ONNX Runtime (onnx: on a CPU; each model is exported "
        "once into $QA_CACHE_DIR/onnx, default ~/.cache/qa/onnx)"
        + (f" (default: {default})" if default else " (default: the profile's [runtime] backend)"),
    )


def add_profile_arg(parser: argparse.ArgumentParser, default: str | None = "embedded") -> None:
    """``--profile``; ``default=None`` means the profile the index was built with."""
    parser.add_argument(
        "--profile",
        default=default,
        help=f"profile name ({', '.join(available_profiles())}) or path to a .toml file"
        + ("" if default else " (default: the one the index was built with)"),
    )


def add_model_args(parser: argparse.ArgumentParser, default_profile: str | None = None) -> None:
    """``--profile``, ``--device`` and ``--backend``, the last flags of every command that
    loads models."""
    add_profile_arg(parser, default=default_profile)
    add_device_arg(parser)
    add_backend_arg(parser)


def add_host_port_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=PORT, default=7860)


def add_json_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")


def add_data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=None,
        help=f"the shared data folder (default: ${DATA_ENV}, else ../shared/data)",
    )


def add_training_args(
    parser: argparse.ArgumentParser,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    max_seq_length: int | None = None,
    base: str = DEFAULT_BASE,
    stop_after: bool = True,
) -> None:
    """-o, --base, --epochs, --batch-size, --lr, [--max-seq-length], --max-steps,
    [--stop-after-epochs], --seed, --device."""
    parser.add_argument("-o", "--output", required=True, help="output folder (an overlay model)")
    parser.add_argument("--base", default=base, help="model to start from (spec, folder, hub id)")
    parser.add_argument("--epochs", type=COUNT, default=epochs)
    parser.add_argument("--batch-size", type=COUNT, default=batch_size)
    parser.add_argument("--lr", type=number(0.0, above=True), default=lr)
    if max_seq_length is not None:
        parser.add_argument("--max-seq-length", type=COUNT, default=max_seq_length)
    parser.add_argument("--max-steps", type=COUNT, default=None, help="stop after N steps")
    if stop_after:
        parser.add_argument(
            "--stop-after-epochs",
            type=COUNT,
            default=None,
            metavar="N",
            help="stop after N of the --epochs epochs, the learning rate falling as over all of "
            "them (refit on more data to the epoch a dev set chose)",
        )
    parser.add_argument("--seed", type=NON_NEGATIVE, default=13, help="shuffling (and sampling)")
    add_device_arg(parser)


def training_config(args: argparse.Namespace) -> TrainingConfig:
    """The run settings (a :class:`TrainingRun`'s ``config``) from the flags above."""
    return TrainingConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        max_steps=args.max_steps,
        stop_after_epochs=getattr(args, "stop_after_epochs", None),
        seed=args.seed,
        device=args.device,
    )


def training_run(args: argparse.Namespace, train: Sequence[str], dev: Sequence[str]) -> TrainingRun:
    """What a ``qa train …`` command gives its trainer: the ``train`` and ``dev`` data, then the
    output folder, base model and run settings from the flags above, and the command line for
    the model card."""
    from qa.modelhub.load import check_model_output  # a user's folder is refused before training

    check_model_output(args.output)
    return TrainingRun(
        train,
        dev,
        args.output,
        base=args.base,
        config=training_config(args),
        command=command_line(),
    )


def print_hits(hits: Sequence[Hit], width: int = 160) -> None:
    """Ranked passages, one line of score and source and one of (shortened) text each."""
    for rank, hit in enumerate(hits, start=1):
        where = f"PMID {hit.passage.pmid}" if hit.passage.pmid else hit.passage.id
        if hit.passage.title:
            where += f" · {hit.passage.title}"
        sources = ", ".join(f"{k} #{v}" for k, v in sorted(hit.sources.items()))
        text = " ".join(hit.passage.text.split())
        if len(text) > width:
            text = text[: width - 1] + "…"
        print(f"{rank:>2}. [{hit.score:.4f}] {where} ({sources})\n    {text}")


def print_result(result: QAResult) -> None:
    """An answer as a person reads it: type, answers with their source, timings on stderr."""
    kind = f"{result.qtype} ({result.qtype_source}"
    if result.qtype_probability is not None:
        kind += f", p={result.qtype_probability:.2f}"
    print(f"type: {kind})")
    if result.yesno and not result.abstained:
        print(f"answer: {result.yesno.label}  (P(yes) = {result.yesno.probability:.2f})")
    if result.abstained:
        scores = {
            "answerability": result.answerability,
            "evidence similarity": result.evidence_similarity,
        }
        why = ", ".join(f"{name} {v:.2f}" for name, v in scores.items() if v is not None)
        print(f"{NO_CONFIDENT_ANSWER} ({why}); best evidence:")
        print_hits(result.hits[:EVIDENCE_SHOWN])
    for rank, answer in enumerate([] if result.abstained else result.answers, start=1):
        where = f"PMID {answer.passage.pmid}" if answer.passage.pmid else answer.passage.id
        also = f" (also: {'; '.join(answer.synonyms)})" if answer.synonyms else ""
        print(
            f"{rank}. {answer.text}{also}  [{answer.score:.2f}]  "
            f"({where}, {len(answer.support)} passage(s))"
        )
    if result.ideal_answer and not result.abstained:
        print(f"ideal answer: {result.ideal_answer}")
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in result.timings.items())
    print(f"({timings})", file=sys.stderr)
