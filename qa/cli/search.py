"""``qa search``: the passages an index retrieves for a query, ranked, with their retrievers."""

from __future__ import annotations

import argparse
import sys
import time

from qa.cli.common import add_json_arg, add_model_args, add_query_args, print_hits, print_json


def cmd_search(args: argparse.Namespace) -> int:
    from qa.pipeline import QA

    qa = QA.load(args.index, profile=args.profile, device=args.device, backend=args.backend)
    started = time.perf_counter()
    hits = qa.search(args.query, k=args.k, mode=args.mode)
    elapsed = (time.perf_counter() - started) * 1000
    if args.json:
        print_json(
            {
                "query": args.query,
                "mode": args.mode,
                "ms": round(elapsed, 1),
                "hits": [h.to_dict() for h in hits],
            }
        )
    else:
        print_hits(hits)
        print(f"({args.mode}, {elapsed:.0f} ms)", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("search", help="retrieve passages for a query")
    add_query_args(p, "query")
    add_json_arg(p)
    add_model_args(p)
    p.set_defaults(func=cmd_search)
