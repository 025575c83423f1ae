"""``qa corpus``: corpus files in, passages (JSONL) out, cut to the profile's passage budget."""

from __future__ import annotations

import argparse
import sys

from qa.cli.common import CORPUS_KINDS, COUNT, add_profile_arg
from qa.config import load_profile


def cmd_corpus(args: argparse.Namespace) -> int:
    from qa.corpus import read_corpus, write_jsonl

    chunking = load_profile(args.profile).chunking
    max_tokens = args.max_tokens or chunking.max_tokens
    passages = read_corpus(
        args.kind, args.inputs, max_tokens=max_tokens, overlap_sentences=chunking.overlap_sentences
    )
    count = write_jsonl(passages, args.output)
    print(f"Wrote {count} passages to {args.output}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("corpus", help="turn corpus files into passages (JSONL)")
    p.add_argument("kind", choices=CORPUS_KINDS)
    p.add_argument("inputs", nargs="+", help="input files")
    p.add_argument("-o", "--output", required=True, help="passages.jsonl to write")
    p.add_argument(
        "--max-tokens", type=COUNT, default=None, help="passage budget (default: profile)"
    )
    add_profile_arg(p)
    p.set_defaults(func=cmd_corpus)
