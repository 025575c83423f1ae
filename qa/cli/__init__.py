"""``qa``: the command line, a thin shell over the library.

Every command maps its arguments onto one library call and prints the result (``--json`` for
machines). One error discipline holds for all of them (see :func:`main`): a mistake the user can
fix is one line on stderr and exit status 2; a bug is one line and status 1, with the traceback
only under ``qa --debug`` or ``QA_DEBUG=1``; Ctrl-C and SIGTERM stop the command (130, 143)
without a traceback and without half-written output. Each command group is a module here with a
``register(subparsers)`` that adds its sub-parser.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

from qa.cli import annotate, ask, corpus, evaluate, index, models, search, serve, train
from qa.errors import QAError

# In the order `qa --help` lists them.
COMMAND_GROUPS = (corpus, index, search, evaluate, train, models, ask, serve, annotate)
USAGE_ERROR, INTERNAL_ERROR = 2, 1
INTERRUPTED = "no file was left half-written"
MAX_MESSAGE = 300


class UsageError(QAError):
    """A command line argparse refused: a missing or unknown argument, a bad option value."""


class Stopped(BaseException):
    """Raised in the main thread by Ctrl-C (SIGINT) or SIGTERM so that the stack unwinds and the
    atomic writers remove their temporary files; not an ``Exception``, so no ``except
    Exception`` on the way swallows it.

    Not ``KeyboardInterrupt`` either, even for Ctrl-C: when that one is raised while Python runs
    code from a string (a dataclass or named tuple being made during a lazy import), CPython
    marks it unhandled for good, and ``python -m qa.cli`` then dies of SIGINT (status -2) after
    ``main`` has caught it and returned 130.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are exceptions, printed by :func:`main` as one line
    (argparse's own would print the whole usage first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="qa", description="Biomedical question answering.")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="print the traceback of an internal error (also: QA_DEBUG=1)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(subparsers)
    return parser


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line (runs of white space, new lines among them, made one space), cut
    to ``limit`` characters."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_os_error(exc: OSError) -> str | None:
    """The one-line message for a file that cannot be read or written, or None when the
    error names no file (then it is not the user's to fix)."""
    if exc.filename is None:
        return None
    return f"{exc.filename}: {exc.strerror or exc}. Check the path and its permissions."


def internal_error(exc: BaseException) -> str:
    """The one line printed for a bug: what was raised, and how to see where."""
    return (
        f"qa: internal error ({type(exc).__name__}: {one_line(str(exc), 160)}); rerun with "
        "--debug (or QA_DEBUG=1) for the traceback"
    )


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While the block runs, Ctrl-C (SIGINT) and SIGTERM raise :class:`Stopped` in the main
    thread, at the next bytecode, so even a training loop stops within moments and the atomic
    writers clean up as the stack unwinds.

    The first of either makes both ignored from then on: a second signal during the clean-up
    or at exit would otherwise escape ``main`` (Python then dies of SIGINT, status -2, instead
    of exiting 130). When no signal came, the previous handlers come back afterwards.
    """
    received = []

    def stop(signum: int, frame: object) -> None:
        for each in (signal.SIGINT, signal.SIGTERM):
            signal.signal(each, signal.SIG_IGN)
        received.append(signum)
        raise Stopped(signum)

    try:
        previous = {each: signal.signal(each, stop) for each in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread (main called from a worker): leave signals be
        yield
        return
    try:
        yield
    finally:
        if not received:
            for each, handler in previous.items():
                signal.signal(each, handler)


def _debugging(argv: Sequence[str] | None) -> bool:
    words = sys.argv[1:] if argv is None else argv
    return os.environ.get("QA_DEBUG", "") not in ("", "0") or "--debug" in words


def _fail(message: str, status: int, debug: bool, exc: BaseException | None = None) -> int:
    if debug and exc is not None:
        traceback.print_exception(exc, file=sys.stderr)
    print(message, file=sys.stderr)
    return status


def _reader_gone() -> int:
    """``qa search … | head``: the reader of our output left, which is nobody's error; the
    rest of the output goes nowhere (so Python's own flush at exit does not fail again)."""
    with suppress(OSError, ValueError):  # ValueError: stdout is not a file (captured)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 128 + signal.SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``qa ARGV``; the exit status: 0 done, 2 a user error, 1 a bug, 130/143 stopped."""
    debug = _debugging(argv)
    try:
        with stop_on_signals():
            args = build_parser().parse_args(argv)
            return args.func(args)
    except UsageError as exc:
        return _fail(f"error: {one_line(str(exc))}", USAGE_ERROR, False)
    except QAError as exc:
        return _fail(f"error: {one_line(str(exc))}", USAGE_ERROR, debug, exc)
    except KeyboardInterrupt as exc:  # Ctrl-C where stop_on_signals could not take it over
        return _fail(f"qa: interrupted (Ctrl-C); {INTERRUPTED}", 128 + signal.SIGINT, debug, exc)
    except Stopped as exc:
        how = "interrupted (Ctrl-C)" if exc.signum == signal.SIGINT else "stopped (SIGTERM)"
        return _fail(f"qa: {how}; {INTERRUPTED}", 128 + exc.signum, debug, exc)
    except BrokenPipeError:
        return _reader_gone()
    except OSError as exc:
        message = describe_os_error(exc)
        if message is not None:
            return _fail(f"error: {one_line(message)}", USAGE_ERROR, debug, exc)
        return _fail(internal_error(exc), INTERNAL_ERROR, debug, exc)
    except Exception as exc:
        return _fail(internal_error(exc), INTERNAL_ERROR, debug, exc)
