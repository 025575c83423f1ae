"""Load on the chat UI: N users ask at once through the Gradio API; prints JSON.

Starts ``qa serve`` over ``--index`` in its own process (as a user would), waits for its URL,
then sends ``--users`` questions at the same moment with gradio_client and times each one from
submission to the final reply (queue wait included). Questions are the bodies of a BioASQ
golden file, in order.

    python benchmarks/ui_load.py --index indexes/bioasq \\
        --gold ../shared/data/bioasq/Teddy-XiongGZ__MIRAGE/rawdata__bioasq__Task10BGoldenEnriched__10B1_golden.json
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index: str, profile: str | None) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    cmd = [
        str(Path(sys.executable).with_name("qa")),
        "serve",
        "--index",
        index,
        "--port",
        str(port),
    ]
    if profile:
        cmd += ["--profile", profile]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if "Serving the QA chat at " in line:
            return (
                proc,
                line.split("Serving the QA chat at ")[1].strip(),
                time.perf_counter() - started,
            )
    raise SystemExit(f"qa serve exited with {proc.wait()} before serving")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--gold", required=True, help="BioASQ golden JSON (question bodies)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--profile", default=None)
    args = parser.parse_args()

    from gradio_client import Client

    bodies = [q["body"] for q in json.loads(Path(args.gold).read_text())["questions"]][: args.users]
    proc, url, start_s = start_server(args.index, args.profile)
    try:
        client = Client(url, verbose=False, analytics_enabled=False)

        def ask(body: str) -> tuple[bool, float]:
            t = time.perf_counter()
            history, _ = client.submit(body, [], args.k, "hybrid", "auto", api_name="/ask").result(
                timeout=1800
            )
            content = history[-1]["content"]
            text = (
                content if isinstance(content, str) else "".join(p.get("text", "") for p in content)
            )
            return "qa-timings" in text, time.perf_counter() - t

        wall = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            results = list(pool.map(ask, bodies))
        wall = time.perf_counter() - wall
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    seconds = [s for _, s in results]
    print(
        json.dumps(
            {
                "users": len(bodies),
                "answered": sum(ok for ok, _ in results),
                "lost": len(bodies) - sum(ok for ok, _ in results),
                "k": args.k,
                "server_start_s": round(start_s, 1),
                "p50_s": round(statistics.median(seconds), 2),
                "p95_s": round(percentile(seconds, 0.95), 2),
                "max_s": round(max(seconds), 2),
                "wall_s": round(wall, 1),
                "questions_per_s": round(len(bodies) / wall, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
