"""A long command stopped with SIGTERM (a plain ``kill``, a scheduler's time limit) or Ctrl-C
ends within seconds, with one line and its own exit status, and leaves nothing half written.

``qa index build`` stopped while encoding is in the error catalogue
(tests/test_errors_catalogue.py); here a trainer is stopped in the middle of its loop, and the
in-process handlers are checked to be put back once ``main`` returns.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qa.cli import main

from .test_embedder_training import golden_file

ROOT = Path(__file__).resolve().parent.parent


def start(argv: list[str]) -> tuple[subprocess.Popen, list[str]]:
    """``python -m qa.cli ARGV`` with its stderr collected, as it comes, into the list."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("QA_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    chunks: list[str] = []

    def read() -> None:
        while data := os.read(proc.stderr.fileno(), 4096):
            chunks.append(data.decode("utf-8", "replace"))

    threading.Thread(target=read, daemon=True).start()
    return proc, chunks


def wait_for(chunks: list[str], text: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.time() + seconds
    while text not in "".join(chunks):
        assert proc.poll() is None, "".join(chunks)
        assert time.time() < deadline, f"no {text!r} in {seconds} s:\n" + "".join(chunks)
        time.sleep(0.1)


@pytest.mark.slow
def test_sigterm_stops_a_training_loop_within_seconds_and_writes_no_model(tmp_path) -> None:
    gold = golden_file(tmp_path / "gold.json")
    before = gold.read_bytes()
    out = tmp_path / "model"
    argv = ["train", "embedder", "--train", str(gold), "--dev", str(gold), "-o", str(out)]
    proc, chunks = start([*argv, "--epochs", "1000", "--batch-size", "2", "--device", "cpu"])
    try:
        wait_for(chunks, "Training", proc, seconds=180)
        time.sleep(1)  # well inside the loop
        proc.send_signal(signal.SIGTERM)
        sent = time.time()
        status = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    took = time.time() - sent
    time.sleep(0.2)  # the reader thread takes the last bytes
    err = "".join(chunks)
    assert (status, "Traceback" in err) == (143, False)
    assert took < 10
    assert err.rstrip("\n").split("\n")[-1] == (
        "qa: stopped (SIGTERM); no file was left half-written"
    )
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gold.json"]
    assert gold.read_bytes() == before


def test_main_puts_the_previous_signal_handlers_back(tmp_path, capsys) -> None:
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert main(["index", "info", str(tmp_path / "none")]) == 2
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == previous
    assert capsys.readouterr().err.startswith("error: No index at ")


def test_ctrl_c_while_python_runs_code_from_a_string_still_exits_130(tmp_path) -> None:
    """Ctrl-C landing while a dataclass or named tuple is being made (code run from a string)
    used to leave CPython's 'unhandled KeyboardInterrupt' mark set, so ``python -m qa.cli``
    died of SIGINT (-2) after ``main`` had printed its line and returned 130."""
    (tmp_path / "interrupted_in_exec.py").write_text(
        "import contextlib, signal, sys\n"
        "from qa.cli import Stopped, stop_on_signals\n"
        "with contextlib.suppress(Stopped), stop_on_signals():\n"
        "    exec('import signal; signal.raise_signal(signal.SIGINT)', {})\n"
        "sys.exit(130)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    done = subprocess.run([sys.executable, "-m", "interrupted_in_exec"], env=env, timeout=60)
    assert done.returncode == 130
