"""``qa index build`` and ``qa index info``: make an index from passages, describe one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qa.cli.common import add_command_group, add_json_arg, add_model_args, print_json
from qa.config import load_profile, with_backend


def cmd_index_build(args: argparse.Namespace) -> int:
    from qa.modelhub.trained import require_trained

    profile = with_backend(load_profile(args.profile), args.backend)
    require_trained(profile)  # before the input files are opened, or torch imported
    from qa.corpus import read_corpus
    from qa.index.store import build_index

    passages = read_corpus(
        args.format,
        args.inputs,
        max_tokens=profile.chunking.max_tokens,
        overlap_sentences=profile.chunking.overlap_sentences,
    )
    manifest = build_index(passages, args.output, profile, device=args.device)
    print(
        f"Indexed {manifest['passages']} passages into {args.output} with profile "
        f"{profile.name} in {manifest['build_seconds']} s",
        file=sys.stderr,
    )
    return 0


def cmd_index_info(args: argparse.Namespace) -> int:
    from qa.index.store import read_manifest, verify_files

    manifest = read_manifest(args.index)
    if args.verify:
        verify_files(Path(args.index), manifest)
    if args.json:
        print_json(manifest)
        return 0
    prof = manifest["profile"]
    emb = manifest["embedder"]
    size = sum(f.stat().st_size for f in Path(args.index).rglob("*") if f.is_file())
    print(f"index       {args.index}")
    print(f"passages    {manifest['passages']}")
    print(f"profile     {prof['name']}")
    print(f"embedder    {emb['model']} (revision {emb['revision']}, dim {emb['dim']})")
    print(f"faiss       {prof['index']['faiss']}")
    print(
        f"bm25        {prof['index']['bm25_method']} k1={prof['index']['bm25_k1']} b={prof['index']['bm25_b']}"
    )
    fusion = prof["fusion"]
    print(f"fusion      {fusion['method']} (rrf_k={fusion['rrf_k']}, depth={fusion['depth']})")
    print(f"built       {manifest['built_at']} in {manifest['build_seconds']} s")
    print(f"size        {size / 1e6:.1f} MB in {len(manifest['files'])} files")
    if args.verify:
        print("checksums   all files match")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    index = add_command_group(subparsers, "index", "build or inspect an index")
    p = index.add_parser("build", help="index passages (BM25 + dense)")
    p.add_argument("inputs", nargs="+", help="passage files (JSONL from qa corpus, or --format)")
    p.add_argument("-o", "--output", required=True, help="index folder, e.g. indexes/bioasq")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "bioasq", "pubmed", "pubmedqa"])
    add_model_args(p, default_profile="embedded")
    p.set_defaults(func=cmd_index_build)
    p = index.add_parser("info", help="describe an index")
    p.add_argument("index")
    p.add_argument("--verify", action="store_true", help="check every file's checksum")
    add_json_arg(p)
    p.set_defaults(func=cmd_index_info)
