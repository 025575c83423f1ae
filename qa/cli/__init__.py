"""``qa``: the command line, a thin shell over the library.

Every command maps its arguments onto one library call and prints the result (``--json`` for
machines). Errors the user can fix are printed as one line, without a traceback, exit code 2.
Each command group is a module here with a ``register(subparsers)`` that adds its sub-parser.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from qa.cli import annotate, ask, corpus, evaluate, index, search, serve, train
from qa.errors import QAError

# In the order `qa --help` lists them.
COMMAND_GROUPS = (corpus, index, search, evaluate, train, ask, serve, annotate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Biomedical question answering.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A plain `kill` becomes an exception, so half-built indexes are cleaned up on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        return args.func(args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
