"""Load on the chat UI: N users ask at once through the Gradio API; prints JSON.

Starts ``qa serve`` over ``--index`` in its own process (as a user would), waits for its URL,
then sends ``--users`` questions at the same moment with gradio_client and times each one from
submission to the final reply (queue wait included). Questions are the bodies of a BioASQ
golden file, in order (repeated when there are fewer than users).

Each question ends as one of: ``answered`` (a reply with its timings, to that question),
``error_replies`` (the chat's error message, e.g. the generic one with an error id), or
``lost`` (no reply: an exception, a time-out, or a reply to another question).

With ``--auth USER:PASSWORD`` the server asks for that login (given to it in ``$QA_AUTH``, so
not in its command line) and the clients log in with it.

    python benchmarks/ui_load.py --index indexes/bioasq --users 50 \\
        --gold ../shared/data/bioasq/Teddy-XiongGZ__MIRAGE/rawdata__bioasq__Task10BGoldenEnriched__10B1_golden.json
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import os
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


def start_server(
    index: str, profile: str | None, device: str, auth: str | None
) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    cmd = [str(Path(sys.executable).with_name("qa")), "serve", "--index", index]
    cmd += ["--port", str(port), "--device", device]
    if profile:
        cmd += ["--profile", profile]
    env = {k: v for k, v in os.environ.items() if k != "QA_AUTH"}
    if auth:
        env["QA_AUTH"] = auth
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
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


def text_of(content) -> str:
    """A chat message's text: a string, or Gradio's list of typed parts."""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, dict))


def outcome(body: str, history: list[dict]) -> str:
    """answered, error (the chat's error message) or lost (a reply to another question)."""
    shown = body[:300] + ("…" if len(body) > 300 else "")
    if len(history) != 2 or html.unescape(text_of(history[0]["content"])) != shown:
        return "lost"
    reply = text_of(history[-1]["content"])
    if "qa-timings" in reply:
        return "answered"
    return "error" if "qa-error" in reply else "lost"


def run_load(url: str, bodies: list[str], k: int, login: tuple[str, str] | None, timeout: float):
    """Every body asked at once; (outcome, seconds, error text) per body, and the wall time."""
    from gradio_client import Client

    client = Client(url, auth=login, verbose=False, analytics_enabled=False)

    def ask(body: str) -> tuple[str, float, str]:
        t = time.perf_counter()
        try:
            job = client.submit(body, [], k, "hybrid", "auto", api_name="/ask")
            history, _ = job.result(timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - a lost question, counted and named
            return "lost", time.perf_counter() - t, f"{type(exc).__name__}: {exc}"[:200]
        return outcome(body, history), time.perf_counter() - t, ""

    wall = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        results = list(pool.map(ask, bodies))
    return results, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--gold", required=True, help="BioASQ golden JSON (question bodies)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--auth", default=None, metavar="USER:PASSWORD", help="serve with a login")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per question")
    args = parser.parse_args()

    login = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        login = (user.strip(), password)
    questions = [q["body"] for q in json.loads(Path(args.gold).read_text())["questions"]]
    bodies = list(itertools.islice(itertools.cycle(questions), args.users))
    proc, url, start_s = start_server(args.index, args.profile, args.device, args.auth)
    try:
        results, wall = run_load(url, bodies, args.k, login, args.timeout)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    seconds = [s for kind, s, _ in results if kind == "answered"] or [float("nan")]
    counts = {kind: sum(r[0] == kind for r in results) for kind in ("answered", "error", "lost")}
    report = {
        "users": len(bodies),
        "answered": counts["answered"],
        "lost": counts["lost"],
        "error_replies": counts["error"],
        "k": args.k,
        "login": bool(login),
        "server_start_s": round(start_s, 1),
        "p50_s": round(statistics.median(seconds), 2),
        "p95_s": round(percentile(seconds, 0.95), 2),
        "max_s": round(max(seconds), 2),
        "wall_s": round(wall, 1),
        "questions_per_s": round(len(bodies) / wall, 2),
    }
    failures = sorted({why for _, _, why in results if why})
    if failures:
        report["lost_because"] = failures[:5]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
