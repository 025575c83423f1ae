"""The in-memory index design of 20fae9d (before shards), built for ``benchmarks/scale.py``.

Run by ``scale.py --legacy-repo PATH`` as a child process with that checkout first on
``sys.path``: it builds an old-format index (passages.jsonl, a bm25s matrix, a flat FAISS
index) of the same synthetic passages and vectors the sharded build gets, with the old
``build_index``. Encoding is replaced by the precomputed vectors (``DenseIndex.encode_passages``
patched), so the two designs index identical data; loading is measured by ``scale.py``'s own
load child, which imports ``qa`` from the same checkout.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from scale import (
    disk_bytes,
    load_corpus,
    peak_mb,
    run_child,
    status_mb,
    synthetic_chunks,
    use_repo,
)


def legacy_build(spec: dict[str, Any]) -> dict[str, Any]:
    use_repo(spec["repo"])
    from qa.config import load_profile
    from qa.index.store import build_index
    from qa.retrieve.dense import DenseIndex

    profile = load_profile("embedded")  # faiss flat: what the old design shipped
    base = np.load(spec["vectors"])
    clock = [0.0]
    chunks = list(
        synthetic_chunks(
            load_corpus(profile)[: len(base)], base, spec["size"], spec["sigma"], clock
        )
    )
    passages = [p for items, _ in chunks for p in items]
    vectors = np.concatenate([v for _, v in chunks])
    del chunks

    def precomputed(items: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        if len(items) != len(vectors):
            raise SystemExit(f"{len(items)} passages to encode, {len(vectors)} vectors made.")
        return vectors

    DenseIndex.encode_passages = staticmethod(precomputed)
    rss_before = status_mb("VmRSS")
    started = time.perf_counter()
    manifest = build_index(
        passages, spec["index"], profile, device="cpu", show_progress=True,
        built_by="benchmarks/legacy_load.py",
    )  # fmt: skip
    seconds = time.perf_counter() - started
    return {
        "build_seconds": round(seconds, 1),
        "build_passages_per_s": round(manifest["passages"] / seconds, 1),
        "build_peak_rss_mb": peak_mb(),
        "rss_before_build_mb": rss_before,
        "note": "build RSS includes the passages and float32 vectors made before the build, "
        "as the old build holds all of them (its encoder output) at once",
    }


def bench_legacy(args: argparse.Namespace, work: Path, synth: dict) -> dict:
    """The pre-shard design on the same passages and vectors, and its RSS projected to 3M."""
    script = str(__file__)
    folder = work / f"legacy-{args.legacy_size}"
    common = {"repo": str(Path(args.legacy_repo).resolve()), "index": str(folder)}
    spec = {**common, **synth, "mode": "legacy_build", "size": args.legacy_size, "script": script}
    built = run_child(spec, work, f"legacy build {args.legacy_size}")
    loaded = run_child(
        {**common, "mode": "load", "queries": args.queries, "recall": False},
        work,
        f"legacy load {args.legacy_size}",
    )
    baseline = run_child({"mode": "baseline", **common}, work, "legacy baseline")["rss_mb"]
    per_passage = (loaded["rss_after_load_mb"] - baseline) / args.legacy_size
    return {
        "passages": args.legacy_size,
        "faiss": "flat",
        **built,
        "index_bytes_on_disk": disk_bytes(folder),
        **loaded,
        "baseline_rss_mb": baseline,
        "projected_rss_at_3m_mb": round(baseline + per_passage * 3_000_000, 1),
        "projection": "baseline + (rss_after_load - baseline) * 3,000,000 / passages: the "
        "in-memory design holds every passage, its BM25 matrix and its float32 vector in RAM, "
        "all linear in passages; baseline = RSS of a fresh process of the same code after its "
        "imports, the query encoder and one query, with no index. Both loads run with their "
        "code's defaults: the old load_index checks every file's sha256, the new one sizes only",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", required=True, help="the JSON spec scale.py passes")
    spec = json.loads(parser.parse_args().child)
    if spec["mode"] != "legacy_build":
        raise SystemExit(f"legacy_load.py runs only legacy_build, not {spec['mode']!r}.")
    Path(spec["result"]).write_text(json.dumps(legacy_build(spec)))


if __name__ == "__main__":
    main()
