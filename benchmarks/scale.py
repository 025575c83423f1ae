"""Literature-scale indexes: build, load, latency, memory and recall at 30k, 300k and 3M passages.

One JSON document, per size: build seconds, passages/s and peak RSS, bytes on disk, load seconds,
RSS after load + one query, hybrid p50/p95 over real BioASQ 10B questions (one at a time, after
a warm-up), dense recall@100 of the FAISS index against exact search over the stored vectors.
Sizes up to ``--real-max`` are the real corpus built by the real path (encoded by the profile's
embedder); larger ones cycle its passages with vectors near the real ones (see ``note``), with
``--faiss`` and ``--shard-size``. ``--legacy-repo`` (a checkout of 20fae9d) adds the in-memory
design on the same data (``benchmarks/legacy_load.py``). Each build and load runs in a fresh
child process, so every peak RSS is that process's own. Progress on stderr, JSON on stdout.

    git -C /work/main worktree add /work/legacy 20fae9d
    python benchmarks/scale.py --json --sizes 30000,300000,3000000 --legacy-repo /work/legacy
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("QA_SHARED_DATA", ROOT.parent / "shared" / "data"))
CORPUS_GLOB = "bioasq/*/*[0-9]B[1-6]_golden.json"
QUESTIONS_GLOB = "bioasq/*/*10B*_golden.json"
SEED = 13
CHUNK = 8192  # passages per chunk fed to the synthetic build
K = 100  # recall depth
HYBRID_K = 10
WARM_UP = 5


def log(message: str) -> None:
    print(f"[scale] {message}", file=sys.stderr, flush=True)


def status_mb(field: str) -> float:  # a field of /proc/self/status (VmRSS, RssAnon) in MB
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    raise SystemExit(f"No {field} in /proc/self/status: this benchmark needs Linux.")


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # kB on Linux


def use_repo(repo: str | Path) -> None:
    """Import ``qa`` from ``repo`` (this checkout, or the legacy one) and nowhere else."""
    repo = Path(repo).resolve()
    sys.path.insert(0, str(repo))
    import qa

    if not Path(qa.__file__).resolve().is_relative_to(repo):
        raise SystemExit(f"qa was imported from {qa.__file__}, not from {repo}.")


def load_corpus(profile: Any) -> list:
    from qa.corpus import read_corpus

    files = sorted(glob.glob(str(DATA / CORPUS_GLOB)))
    if not files:
        raise SystemExit(f"No BioASQ golden files under {DATA}: set QA_SHARED_DATA.")
    chunking = profile.chunking
    return list(
        read_corpus(
            "bioasq",
            files,
            max_tokens=chunking.max_tokens,
            overlap_sentences=chunking.overlap_sentences,
        )
    )


def load_questions(count: int) -> list[str]:
    from qa.corpus.bioasq import load_golden

    bodies = [q.body for q in load_golden(sorted(glob.glob(str(DATA / QUESTIONS_GLOB))))]
    if len(bodies) < count:
        raise SystemExit(f"Only {len(bodies)} 10B questions under {DATA}; {count} asked.")
    return bodies[:count]


def synthetic_chunks(
    passages: Sequence, vectors: np.ndarray, size: int, sigma: float, clock: list[float]
) -> Iterator[tuple[list, np.ndarray]]:
    """``size`` passages cycling ``passages`` in chunks of (passages, unit float32 vectors).

    Copy 0 is the real corpus with its real vectors; copy n > 0 has ids ``ID~n``, pmids
    ``PMID~n`` (so no two copies share an article) and noisy vectors from a generator seeded by
    n. Time spent making them is added to ``clock[0]`` so the build's own rate can be told.
    """
    from qa.types import Passage

    made, copy, n = 0, 0, len(passages)
    while made < size:
        rng = np.random.default_rng(SEED + copy)
        take = min(n, size - made)
        for lo in range(0, take, CHUNK):
            started = time.perf_counter()
            hi = min(take, lo + CHUNK)
            chunk = vectors[lo:hi]
            if copy:
                chunk = chunk + sigma * rng.standard_normal(chunk.shape, dtype=np.float32)
                chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
                items = [
                    Passage(
                        id=f"{p.id}~{copy}",
                        text=p.text,
                        title=p.title,
                        pmid=f"{p.pmid}~{copy}" if p.pmid else "",
                        meta=p.meta,
                    )
                    for p in passages[lo:hi]
                ]
            else:
                items = list(passages[lo:hi])
            clock[0] += time.perf_counter() - started
            yield items, np.ascontiguousarray(chunk, dtype=np.float32)
        made += take
        copy += 1


def noise_for(vectors: np.ndarray) -> dict[str, float]:
    """The noise sigma that puts a copy as near its origin as a real passage's nearest real
    neighbour (median cosine over a sample), so copies crowd no closer than real neighbours."""
    rng = np.random.default_rng(SEED)
    sample = rng.choice(len(vectors), size=min(2000, len(vectors)), replace=False)
    sims = vectors[sample] @ vectors.T
    sims[np.arange(len(sample)), sample] = -1.0  # not itself
    nearest = float(np.median(sims.max(axis=1)))
    relative = float(np.clip(np.sqrt(1 / max(nearest, 1e-3) ** 2 - 1), 0.2, 1.0))
    sigma = relative / np.sqrt(vectors.shape[1])
    noisy = vectors[sample] + sigma * rng.standard_normal((len(sample), vectors.shape[1]))
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    copy_cos = float(np.median(np.sum(noisy * vectors[sample], axis=1)))
    return {
        "sigma": round(float(sigma), 5),
        "median_nearest_real_cosine": round(nearest, 4),
        "median_copy_to_origin_cosine": round(copy_cos, 4),
    }


def bench_profile(spec: dict[str, Any]) -> Any:
    from qa.config import load_profile

    profile = load_profile(spec.get("profile", "embedded"))
    if spec["kind"] == "real":
        return profile  # the shipped profile, as a user builds it
    from qa.config import with_shard_size

    profile = replace(profile, index=replace(profile.index, faiss=spec["faiss"]))
    return with_shard_size(profile, spec["shard_size"])


def child_build(spec: dict[str, Any]) -> dict[str, Any]:
    """Build one index (real path, or synthetic chunks fed without encoding)."""
    use_repo(ROOT)
    from qa.index.store import build_index

    profile = bench_profile(spec)
    corpus = load_corpus(profile)
    clock = [0.0]
    rss_before = status_mb("VmRSS")
    started = time.perf_counter()
    passages, chunks = corpus[: spec["size"]], None  # real: the build encodes them
    if spec["kind"] != "real":
        vectors = np.load(spec["vectors"])
        made = synthetic_chunks(corpus[: len(vectors)], vectors, spec["size"], spec["sigma"], clock)
        passages, chunks = (), made
    manifest = build_index(
        passages, spec["index"], profile, device="cpu", show_progress=True,
        built_by="benchmarks/scale.py", chunks=chunks,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    return {
        "passages": int(manifest["passages"]),
        "build_seconds": round(seconds, 1),
        "synthetic_generation_seconds": round(clock[0], 1),
        "build_passages_per_s": round(manifest["passages"] / max(seconds - clock[0], 1e-9), 1),
        "build_peak_rss_mb": peak_mb(),
        "rss_before_build_mb": rss_before,
    }


def child_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Load an index in a fresh process: RSS after load + one query, latency, recall."""
    use_repo(spec.get("repo") or ROOT)
    from qa.index.store import load_index

    questions = load_questions(spec["queries"])
    rss_before = status_mb("VmRSS")
    started = time.perf_counter()
    loaded = load_index(spec["index"], device="cpu")
    seconds = time.perf_counter() - started
    hybrid = loaded.retriever("hybrid")
    hybrid.search(questions[0], k=HYBRID_K)
    result = {
        "load_seconds": round(seconds, 2),
        "rss_after_load_mb": status_mb("VmRSS"),
        "rss_anon_after_load_mb": status_mb("RssAnon"),  # VmRSS less mapped files' pages
        "rss_before_load_mb": rss_before,
    }
    for q in questions[:WARM_UP]:
        hybrid.search(q, k=HYBRID_K)
    timings = []
    for q in questions:
        started = time.perf_counter()
        hybrid.search(q, k=HYBRID_K)
        timings.append((time.perf_counter() - started) * 1000)
    result.update(
        hybrid_p50_ms=round(float(np.percentile(timings, 50)), 2),
        hybrid_p95_ms=round(float(np.percentile(timings, 95)), 2),
        hybrid_queries=len(timings),
    )
    if spec.get("recall"):
        result.update(dense_recall(loaded, Path(spec["index"]), questions))
    result["load_peak_rss_mb"] = peak_mb()
    return result


def dense_recall(loaded: Any, folder: Path, questions: list[str]) -> dict[str, Any]:
    """Recall@K of the index's dense search against exact inner-product search over every
    stored vector: |approximate top-K & exact top-K| / K, averaged over the questions."""
    dense = loaded.dense
    max_length = getattr(dense, "query_max_length", 64)
    queries = dense.encoder.encode(list(questions), max_length=max_length).astype(np.float32)
    started = time.perf_counter()
    approx, _ = dense.search_vectors(queries, K)
    approx_s = time.perf_counter() - started
    exact = exact_top(folder, queries, K)
    recalls = [len(set(a[a >= 0].tolist()) & set(e.tolist())) / K for a, e in zip(approx, exact)]
    return {
        "dense_recall_at_100": round(float(np.mean(recalls)), 4),
        "dense_recall_min": round(float(np.min(recalls)), 2),
        "recall_queries": len(recalls),
        "dense_batch_ms_per_query": round(approx_s * 1000 / len(questions), 2),
    }


def exact_top(folder: Path, queries: np.ndarray, k: int, block: int = 65536) -> np.ndarray:
    """Global rows of the exact top-``k`` of every query, brute force over the shards'
    float16 vectors (memory-mapped, a block at a time), in manifest (= folder name) order."""
    dim = queries.shape[1]
    files = sorted(folder.glob("shards/*/vectors.f16"))
    if not files:
        raise SystemExit(f"{folder} has no shards/*/vectors.f16 to search exactly.")
    best_s = np.full((len(queries), k), -np.inf, np.float32)
    best_r = np.full((len(queries), k), -1, np.int64)
    offset = 0
    for path in files:
        rows = path.stat().st_size // (2 * dim)
        vectors = np.memmap(path, np.float16, "r", shape=(rows, dim))
        for lo in range(0, rows, block):
            part = np.asarray(vectors[lo : lo + block], dtype=np.float32)
            scores = np.concatenate([best_s, queries @ part.T], axis=1)
            ids = np.arange(offset + lo, offset + lo + len(part), dtype=np.int64)
            ids = np.concatenate([best_r, np.broadcast_to(ids, (len(queries), len(part)))], 1)
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            best_s = np.take_along_axis(scores, top, 1)
            best_r = np.take_along_axis(ids, top, 1)
        offset += rows
    return best_r


def child_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    """RSS of a process with everything but an index: imports, query encoder, one query."""
    use_repo(spec.get("repo") or ROOT)
    from qa.config import load_profile
    from qa.index.store import load_encoders

    encoder, _ = load_encoders(load_profile("embedded"), "cpu")
    encoder.encode(["warm up"])
    return {"rss_mb": status_mb("VmRSS")}


def child_base_vectors(spec: dict[str, Any]) -> dict[str, Any]:
    """Encode the real corpus (only when no real index of this run holds its vectors)."""
    use_repo(ROOT)
    from qa.config import load_profile
    from qa.index.store import load_encoders
    from qa.retrieve.dense import DenseIndex

    profile = load_profile("embedded")
    _, encoder = load_encoders(profile, "cpu")
    vectors = DenseIndex.encode_passages(
        load_corpus(profile), encoder, profile.embedder.batch_size, show_progress=True
    )
    np.save(spec["out"], vectors.astype(np.float32))
    return {"rows": len(vectors)}


CHILDREN = {"build": child_build, "load": child_load, "baseline": child_baseline}
CHILDREN |= {"base_vectors": child_base_vectors}


def run_child(spec: dict[str, Any], work: Path, label: str) -> dict[str, Any]:
    """Run ``spec`` in a fresh interpreter; its stdout joins our stderr, its result a file."""
    result = work / f"child-{label}.json"
    result.unlink(missing_ok=True)
    spec = {**spec, "result": str(result)}
    script = spec.get("script", __file__)
    log(f"{label}: starting")
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, script, "--child", json.dumps(spec)], stdout=sys.stderr, check=False
    )
    if proc.returncode != 0 or not result.is_file():
        raise SystemExit(f"{label} failed (exit {proc.returncode}); see the log above.")
    log(f"{label}: done in {time.perf_counter() - started:.0f} s")
    return json.loads(result.read_text())


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def base_vectors(args: argparse.Namespace, work: Path, real: list[int]) -> np.ndarray:
    """The real vectors the synthetic sizes start from: those stored by this run's largest
    real build (float16 there), else a cached or freshly encoded copy of the whole corpus."""
    if real:
        folder = work / f"index-{max(real)}"
        dim = json.loads((folder / "manifest.json").read_text())["embedder"]["dim"]
        parts = [
            np.fromfile(p, np.float16).reshape(-1, dim)
            for p in sorted(folder.glob("shards/*/vectors.f16"))
        ]
        vectors = np.concatenate(parts).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        np.save(work / f"base-vectors-{len(vectors)}.npy", vectors)
        return vectors
    cached = sorted(work.glob("base-vectors-*.npy"), key=lambda p: int(p.stem.split("-")[-1]))
    if cached:
        return np.load(cached[-1])
    out = work / "base-vectors-encoded.npy"
    run_child({"mode": "base_vectors", "out": str(out)}, work, "encode real corpus")
    vectors = np.load(out)
    out.rename(work / f"base-vectors-{len(vectors)}.npy")
    return vectors


def bench_size(args: argparse.Namespace, work: Path, size: int, synth: dict) -> dict[str, Any]:
    folder = work / f"index-{size}"
    kind = "real" if size <= args.real_max else "synthetic"
    spec = {"kind": kind, "size": size, "index": str(folder)}
    if kind == "synthetic":
        spec.update(faiss=args.faiss, shard_size=args.shard_size, **synth)
    built = run_child({**spec, "mode": "build"}, work, f"build {size}")
    load_spec = {"mode": "load", "index": str(folder), "queries": args.queries, "recall": True}
    loaded = run_child(load_spec, work, f"load {size}")
    manifest = json.loads((folder / "manifest.json").read_text())
    index = manifest["profile"]["index"]
    ivf = ("ivf_nlist", "ivf_nprobe", "pq_m", "ivf_train_size", "ivf_refine")
    keys = ("faiss", "shard_size") + (ivf if index.get("faiss") == "ivfpq" else ())
    settings = {k: index.get(k) for k in keys}
    return {
        "kind": kind,
        "made": "real, encoded" if kind == "real" else "cycled real passages, noisy real vectors",
        **built,
        "index_bytes_on_disk": disk_bytes(folder),
        "shards": len(list(folder.glob("shards/*"))),
        "index": settings,
        **loaded,
    }


def note(args: argparse.Namespace, synth: dict[str, Any], corpus_size: int | None) -> str:
    real = f"Sizes <= {args.real_max:,}: the real BioASQ corpus ({corpus_size or 'its'} passages) "
    real += "built by the real path (passages encoded by the profile's embedder, shipped profile)."
    if not synth:
        return real
    return real + (
        f" Larger sizes: the {synth['base_rows']:,} real passages cycled (copy n: ids ID~n, "
        f"pmids PMID~n, copy 0 = the real corpus) with vectors = the real ones (float16, as "
        f"the real build stored them) + N(0, sigma^2) per dimension, sigma = {synth['sigma']}, "
        f"renormalised: chosen so a copy's cosine to its origin (median "
        f"{synth['median_copy_to_origin_cosine']}) matches a real passage's cosine to its "
        f"nearest real neighbour (median {synth['median_nearest_real_cosine']}), so neighbours "
        f"stay meaningful; built with faiss={args.faiss}, shard_size={args.shard_size:,}, fed "
        f"as precomputed chunks (no encoding, no model weights; build RSS counts the real "
        f"passages held to cycle). Recall: exact top-{K} by brute force over stored vectors."
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print JSON (the only output)")
    parser.add_argument("--sizes", default="30000,300000,3000000")
    parser.add_argument("--faiss", default="ivfpq", choices=("flat", "hnsw", "ivfpq"))
    parser.add_argument("--shard-size", type=int, default=500_000)
    parser.add_argument("--real-max", type=int, default=50_000, help="larger sizes: synthetic")
    parser.add_argument("--work", default="/tmp/qa-scale", help="indexes and caches go here")
    parser.add_argument("--queries", type=int, default=300, help="10B questions per load")
    parser.add_argument("--legacy-repo", help="a checkout of 20fae9d (the in-memory design)")
    parser.add_argument("--legacy-size", type=int, default=300_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        result = CHILDREN[spec["mode"]](spec)
        Path(spec["result"]).write_text(json.dumps(result))
        return
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    real = [s for s in sizes if s <= args.real_max]
    results: dict[str, Any] = {}
    for size in real:
        results[str(size)] = bench_size(args, work, size, {})
    synth: dict[str, Any] = {}
    if any(s > args.real_max for s in sizes) or args.legacy_repo:
        vectors = base_vectors(args, work, real)
        synth = {**noise_for(vectors), "base_rows": len(vectors)}
        synth["vectors"] = str(work / f"base-vectors-{len(vectors)}.npy")
    for size in sizes:
        if size > args.real_max:
            results[str(size)] = bench_size(args, work, size, synth)
    report: dict[str, Any] = {"sizes": results}
    if args.legacy_repo:
        from legacy_load import bench_legacy

        report[f"legacy_{args.legacy_size // 1000}k"] = bench_legacy(args, work, synth)
    report["baseline_rss_mb"] = run_child({"mode": "baseline"}, work, "baseline")["rss_mb"]
    corpus = results.get(str(real[-1]), {}).get("passages") if real else None
    report["note"] = note(args, {k: v for k, v in synth.items() if k != "vectors"}, corpus)
    report["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    report["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS", "unset")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
