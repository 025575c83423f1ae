"""``qa ask``: one question answered from an index, for a person or (``--json``) a program."""

from __future__ import annotations

import argparse

from qa.cli.common import add_json_arg, add_model_args, add_query_args, print_json, print_result
from qa.types import QUESTION_TYPES


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.pipeline import QA

    qa = QA.load(args.index, profile=args.profile, device=args.device, backend=args.backend)
    qtype = None if args.type == "auto" else args.type
    result = qa.ask(args.question, qtype=qtype, k=args.k, mode=args.mode, ideal=args.ideal)
    if args.json:
        print_json(result.to_dict())
        return 0
    print_result(result)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ask", help="answer a question from an index")
    add_query_args(p, "question", k_help="passages to read")
    p.add_argument(
        "--type",
        default="auto",
        choices=["auto", *QUESTION_TYPES],
        help="question type (default: predicted)",
    )
    p.add_argument("--ideal", action="store_true", help="also write an ideal (summary) answer")
    add_json_arg(p)
    add_model_args(p)
    p.set_defaults(func=cmd_ask)
