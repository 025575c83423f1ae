"""``qa models list`` and ``qa models export``: the shipped models, and any model as a standard
folder that plain transformers / sentence-transformers loads."""

from __future__ import annotations

import argparse
import sys

from qa.cli.common import add_command_group, add_json_arg, print_json


def _size(size_bytes: int) -> str:
    return f"{size_bytes / 1e6:.1f} MB"


def cmd_models_list(args: argparse.Namespace) -> int:
    from qa.modelhub.catalog import shipped_models

    models = shipped_models()
    if args.json:
        print_json([m.to_dict() for m in models])
        return 0
    rows = [("NAME", "TASK", "BASE", "SIZE", "HEADLINE (from the model card)")]
    rows += [
        (m.name, m.purpose, m.base or "-", _size(m.size_bytes), m.headline or "(none in card)")
        for m in models
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4])
    print(
        "Use one in a profile as qa-models:NAME; cards: qa/models/NAME/README.md; "
        "qa models export NAME DIR writes a standard transformers folder.",
        file=sys.stderr,
    )
    return 0


def cmd_models_export(args: argparse.Namespace) -> int:
    from qa.modelhub.export import export_model

    result = export_model(
        args.name, args.output, onnx=args.onnx, progress=lambda m: print(m, file=sys.stderr)
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    print(
        f"Exported {result.spec} ({result.kind}) to {result.out}: {len(result.files)} files, "
        f"{_size(result.size_bytes)}; how to load it: {result.out}/README.md",
        file=sys.stderr,
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    models = add_command_group(subparsers, "models", "list the shipped models, export one")
    p = models.add_parser("list", help="the models in qa/models/ with their headline figures")
    add_json_arg(p)
    p.set_defaults(func=cmd_models_list)
    p = models.add_parser(
        "export",
        help="write a model as a standard transformers (and sentence-transformers) folder",
    )
    p.add_argument(
        "name", help="a shipped model (reader-minilm-bioasq, …) or any model spec of a profile"
    )
    p.add_argument("output", help="the folder to write (a new one, or an earlier export)")
    p.add_argument(
        "--onnx",
        action="store_true",
        help="also write the ONNX graph (onnx/model.onnx) that the onnx backend runs",
    )
    add_json_arg(p)
    p.set_defaults(func=cmd_models_export)
