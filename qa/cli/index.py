"""``qa index build|add|delete|compact|info``: make an index, keep it current, describe it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qa.cli.common import (
    CORPUS_KINDS,
    COUNT,
    add_command_group,
    add_device_arg,
    add_json_arg,
    add_model_args,
    print_json,
)
from qa.config import Profile, load_profile, with_backend, with_shard_size
from qa.errors import QAError


def cmd_index_build(args: argparse.Namespace) -> int:
    from qa.modelhub.trained import require_trained

    profile = with_backend(load_profile(args.profile), args.backend)
    require_trained(profile)  # before the input files are opened, or torch imported
    from qa.index.store import build_index

    if args.shard_size is not None:
        profile = with_shard_size(profile, args.shard_size)
    passages, chunks = _inputs(args, profile)
    manifest = build_index(passages, args.output, profile, device=args.device, chunks=chunks)
    print(
        f"Indexed {manifest['passages']} passages into {args.output} ({len(manifest['shards'])} "
        f"shards) with profile {profile.name} in {manifest['build_seconds']} s",
        file=sys.stderr,
    )
    return 0


def _inputs(args: argparse.Namespace, profile: Profile) -> tuple[Any, Any]:
    """(passages, None) read in this process, or (None, encoded chunks) from Ray Data."""
    if args.engine == "ray":
        from qa.index.ray_build import ray_chunks

        return [], ray_chunks(args.format, args.inputs, profile, args.device, args.address)
    from qa.corpus import read_corpus

    passages = read_corpus(
        args.format,
        args.inputs,
        max_tokens=profile.chunking.max_tokens,
        overlap_sentences=profile.chunking.overlap_sentences,
    )
    return passages, None


def cmd_index_add(args: argparse.Namespace) -> int:
    from qa.index.manifest import recorded_profile
    from qa.index.store import read_manifest
    from qa.index.update import add_passages

    before = read_manifest(args.index)
    passages, chunks = _inputs(args, recorded_profile(before))
    manifest = add_passages(args.index, passages, device=args.device, chunks=chunks)
    added = manifest["rows"] - before["rows"]
    replaced = manifest["rows"] - manifest["passages"] - (before["rows"] - before["passages"])
    print(
        f"Added {added} passages to {args.index} ({replaced} earlier passages of the same "
        f"PMIDs hidden); it now searches {manifest['passages']} passages",
        file=sys.stderr,
    )
    return 0


def cmd_index_delete(args: argparse.Namespace) -> int:
    from qa.index.update import delete_pmids

    pmids = read_pmids(Path(args.pmids))
    manifest = delete_pmids(args.index, pmids)
    print(
        f"Hid {manifest['deleted']} passages of {len(pmids)} PMIDs in {args.index}; it now "
        f"searches {manifest['passages']} passages (qa index compact reclaims the space)",
        file=sys.stderr,
    )
    return 0


def read_pmids(path: Path) -> set[str]:
    """PMIDs, one per line (blank lines and # comments skipped), or the ``<DeleteCitation>``
    PMIDs of a PubMed update file (.xml or .xml.gz)."""
    if path.name.endswith((".xml", ".xml.gz")):
        from qa.corpus.pubmed import read_deleted_pmids

        return read_deleted_pmids([path])
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"{path} cannot be read ({exc}): give a text file of PMIDs.") from exc
    pmids = {line.split("#")[0].strip() for line in lines} - {""}
    bad = sorted(p for p in pmids if not p.isdigit())
    if bad:
        raise QAError(f"{path}: {bad[0]!r} is not a PMID; give one PMID (digits) per line.")
    return pmids


def cmd_index_compact(args: argparse.Namespace) -> int:
    from qa.index.update import compact

    manifest = compact(args.index)
    print(
        f"Compacted {args.index}: {manifest['passages']} passages in "
        f"{len(manifest['shards'])} shards, in {manifest['build_seconds']} s",
        file=sys.stderr,
    )
    return 0


def cmd_index_info(args: argparse.Namespace) -> int:
    from qa.index.store import check_files, read_manifest

    manifest = read_manifest(args.index)
    check_files(Path(args.index), manifest, full=args.verify)
    if args.json:
        print_json(manifest)
        return 0
    prof = manifest["profile"]
    emb = manifest["embedder"]
    size = sum(f.stat().st_size for f in Path(args.index).rglob("*") if f.is_file())
    print(f"index       {args.index}")
    print(f"passages    {manifest['passages']} searchable of {manifest['rows']} stored")
    print(f"shards      {len(manifest['shards'])}")
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


def add_input_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", default="jsonl", choices=CORPUS_KINDS)
    parser.add_argument(
        "--engine",
        default="local",
        choices=["local", "ray"],
        help="local: this process; ray: read and encode with Ray Data (a local Ray, or --address)",
    )
    parser.add_argument("--address", default=None, help="a Ray cluster's address (--engine ray)")


def register(subparsers: argparse._SubParsersAction) -> None:
    index = add_command_group(subparsers, "index", "build or inspect an index")
    p = index.add_parser("build", help="index passages (BM25 + dense)")
    p.add_argument("inputs", nargs="+", help="passage files (JSONL from qa corpus, or --format)")
    p.add_argument("-o", "--output", required=True, help="index folder, e.g. indexes/bioasq")
    add_input_args(p)
    p.add_argument(
        "--shard-size",
        type=COUNT,
        default=None,
        help="passages per shard (default: the profile's [index] shard_size)",
    )
    add_model_args(p, default_profile="embedded")
    p.set_defaults(func=cmd_index_build)
    p = index.add_parser("add", help="append passages (new shards); re-issued PMIDs replace")
    p.add_argument("index")
    p.add_argument("inputs", nargs="+", help="passage files (JSONL from qa corpus, or --format)")
    add_input_args(p)
    add_device_arg(p)
    p.set_defaults(func=cmd_index_add)
    p = index.add_parser("delete", help="hide the passages of PubMed records")
    p.add_argument("index")
    p.add_argument(
        "--pmids",
        required=True,
        help="a text file, one PMID per line, or a PubMed update file (its DeleteCitation list)",
    )
    p.set_defaults(func=cmd_index_delete)
    p = index.add_parser("compact", help="rewrite an index without its deleted passages")
    p.add_argument("index")
    p.set_defaults(func=cmd_index_compact)
    p = index.add_parser("info", help="describe an index")
    p.add_argument("index")
    p.add_argument("--verify", action="store_true", help="check every file's checksum")
    add_json_arg(p)
    p.set_defaults(func=cmd_index_info)
