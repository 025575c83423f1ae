"""Every ``qa`` sub-command against bad input: one line that says what to do, the right exit
status, and nothing touched.

The cases (malformed and hostile files, wrong option values, missing and damaged indexes and
models, SIGTERM and SIGINT sent to a running ``qa index build``) live in
``benchmarks/error_catalogue.py``, which also prints them as the table of the issue's closing
note; this runs each one and asserts what the user sees.
"""

from __future__ import annotations

import importlib.util
import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _catalogue():
    spec = importlib.util.spec_from_file_location(
        "error_catalogue", ROOT / "benchmarks/error_catalogue.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


catalogue = _catalogue()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return catalogue.build_workspace(tmp_path_factory.mktemp("catalogue"))


def test_the_catalogue_spans_every_command_group_with_at_least_forty_cases() -> None:
    groups = {c.argv[0] for c in catalogue.CASES if c.argv}
    assert groups == {
        *("corpus", "index", "search", "ask", "eval", "train", "annotate", "serve", "demo"),
        "serch",  # an unknown command
    }
    evaluated = {c.argv[1] for c in catalogue.CASES if c.argv[:1] == ("eval",)}
    assert evaluated == {"retrieval", "bioasq", "score", "ner", "relations"}
    indexed = {c.argv[1] for c in catalogue.CASES if c.argv[:1] == ("index",)}
    assert indexed == {"build", "info", "add", "delete", "compact"}
    assert len(catalogue.CASES) >= 40
    assert {c.signal for c in catalogue.CASES} == {0, signal.SIGTERM, signal.SIGINT}
    assert len({c.name for c in catalogue.CASES}) == len(catalogue.CASES)


@pytest.mark.slow
@pytest.mark.parametrize("case", catalogue.CASES, ids=[c.name for c in catalogue.CASES])
def test_a_bad_input_is_one_line_with_the_right_status_and_touches_nothing(workspace, case) -> None:
    row = catalogue.run_case(case, workspace)
    assert (row["status"], row["traceback"], row["lines"]) == (case.status, False, 1), row
    assert case.message in row["message"]
    assert row["message"].startswith("error: " if case.status == 2 else "qa: ")
    assert (row["changed"], row["written"]) == ([], [])
    if case.signal:
        assert row["exit_after_signal_s"] <= catalogue.MAX_STOP_SECONDS
    assert row["passed"]


def test_progress_bars_are_not_counted_as_lines_of_the_message() -> None:
    stderr = (
        "Building idx:  33%|███▎      | 1/3 [00:00<00:00, 305.28stage/s, dense]error: it broke.\n"
        "Building idx:  33%|███▎      | 1/3 [00:00<00:00, 305.28stage/s, dense]\n"
        "\x1b[AEmbedding passages:   0%|          | 0/2 [00:00<?, ?text/s]\n"
    )
    assert catalogue.message_lines(stderr) == ["error: it broke."]
