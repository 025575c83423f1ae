"""``qa annotate``: the entities and relations the profile's models find in a text or a file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from qa.cli.common import add_json_arg, add_model_args, print_json
from qa.errors import QAError


def read_text(args: argparse.Namespace) -> str:
    """The text to annotate: the argument, or the UTF-8 file ``--file`` names (one of them)."""
    if (args.text is None) == (args.file is None):
        raise QAError('Give either a text (qa annotate "…") or --file FILE, not both.')
    if args.file is None:
        return args.text
    path = Path(args.file)
    if not path.is_file():
        raise QAError(f"No file {path}: give a plain-text file to annotate.")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise QAError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc


def cmd_annotate(args: argparse.Namespace) -> int:
    from qa.pipeline import QA

    text = read_text(args)
    qa = QA.load(None, profile=args.profile, device=args.device, backend=args.backend)
    started = time.perf_counter()
    found = qa.annotate(text)
    elapsed = (time.perf_counter() - started) * 1000
    if args.json:
        print_json({**found.to_dict(), "ms": round(elapsed, 1)})
        return 0
    print(f"{len(found.entities)} entities, {len(found.relations)} relations ({elapsed:.0f} ms)")
    for e in found.entities:
        print(f"  {e.start:>6}-{e.end:<6} {e.label:9} {e.text}  ({e.score:.2f})")
    for r in found.relations:
        print(
            f"  {r.head.text} ({r.head.label}) {r.phrase} {r.tail.text} ({r.tail.label})  "
            f"({r.score:.2f})"
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("annotate", help="entities and relations of a text")
    p.add_argument("text", nargs="?", help="the text (or --file)")
    p.add_argument("--file", help="a UTF-8 text file to annotate")
    add_json_arg(p)
    add_model_args(p, default_profile="embedded")
    p.set_defaults(func=cmd_annotate)
