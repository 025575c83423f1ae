"""``qa demo`` and ``qa serve``: the chat UI over the bundled demo index or over any index.

``qa demo QUESTION…`` (or ``--no-serve``) answers in the terminal instead, which is also how
the demo is tested without a browser.

Both serve with a login from ``--auth``, ``--auth-file`` or ``$QA_AUTH``, which they require
before anything is loaded when ``--host`` is not a loopback address.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from qa.cli.common import COUNT, add_host_port_args, add_model_args, print_hits, print_result
from qa.config import load_profile, with_backend
from qa.types import RETRIEVAL_ONLY
from qa.ui.access import AUTH_ENV, Login, check_exposure, resolve_login

LOGIN_EPILOG = (
    "A --host other than this machine's own (127.0.0.0/8, ::1, localhost) needs a login: "
    f"--auth-file FILE, ${AUTH_ENV}=USER:PASSWORD or --auth USER:PASSWORD."
)


def add_login_args(parser: argparse.ArgumentParser) -> None:
    """``--auth`` or ``--auth-file``: the login the served chat asks for."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help="ask for this login (visible to other users of this machine in the process list: "
        f"prefer --auth-file or ${AUTH_ENV})",
    )
    group.add_argument(
        "--auth-file",
        metavar="FILE",
        help="ask for the login on the one line USER:PASSWORD of FILE",
    )


def served_login(args: argparse.Namespace) -> Login | None:
    """The login to serve with, checked (with the address) before any model is loaded."""
    login = resolve_login(args.auth, args.auth_file)
    check_exposure(args.host, login)
    return login


def cmd_demo(args: argparse.Namespace) -> int:
    from qa.demo import DEMO_QUESTIONS, load_demo

    serving = not args.questions and not args.no_serve
    login = served_login(args) if serving else None
    started = time.perf_counter()
    profile = with_backend(load_profile(args.profile), args.backend)
    qa = load_demo(Path(args.index), profile, args.device)
    if serving:
        from qa.ui import serve

        print(f"Demo index ready in {time.perf_counter() - started:.1f} s.", file=sys.stderr)
        serve(qa, host=args.host, port=args.port, auth=login)
        return 0
    for question in args.questions or list(DEMO_QUESTIONS):
        print(f"\nQ: {question}")
        result = qa.ask(question, k=max(args.k, 10))
        if result.qtype != RETRIEVAL_ONLY:  # a profile without a reader lists passages only
            print_result(result)
        print_hits(result.hits[: args.k])
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from qa.pipeline import QA
    from qa.ui import serve

    login = served_login(args)
    qa = QA.load(
        args.index,
        profile=args.profile,
        device=args.device,
        backend=args.backend,
        engine=args.engine,
        address=args.address,
    )
    serve(qa, host=args.host, port=args.port, auth=login)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="build the bundled demo index if missing, then serve the chat UI",
        epilog=LOGIN_EPILOG,
    )
    p.add_argument(
        "questions", nargs="*", help="answer these in the terminal instead of serving the UI"
    )
    p.add_argument("--index", default="indexes/demo")
    p.add_argument("-k", type=COUNT, default=3, help="passages printed per question (terminal)")
    p.add_argument(
        "--no-serve", action="store_true", help="answer three example questions and exit"
    )
    add_host_port_args(p)
    add_login_args(p)
    add_model_args(p, default_profile="embedded")
    p.set_defaults(func=cmd_demo)

    p = subparsers.add_parser(
        "serve", help="serve the Gradio chat UI over an index", epilog=LOGIN_EPILOG
    )
    p.add_argument("--index", required=True)
    p.add_argument(
        "--engine",
        default="local",
        choices=["local", "ray"],
        help="local: shards memory-mapped here; ray: shards on Ray actors (a local Ray, or "
        "the cluster at --address)",
    )
    p.add_argument("--address", default=None, help="a Ray cluster's address (--engine ray)")
    add_host_port_args(p)
    add_login_args(p)
    add_model_args(p)
    p.set_defaults(func=cmd_serve)
