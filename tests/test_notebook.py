"""The quickstart notebook runs from top to bottom and prints sensible results.

The notebook is executed with the kernel of this interpreter (jupyter_client swaps the kernel
spec's ``python`` for ``sys.executable``), in a temporary working folder, with
``QA_SHARED_DATA`` pointing at the shared data. Its last cell prints one JSON line that sums up
what it did; the checks read that line and the printed answers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.conftest import BIOASQ

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


def read_notebook():
    import nbformat

    return nbformat.read(NOTEBOOK, as_version=4)


def stdout_of(cell) -> str:
    return "".join(
        o.get("text", "")
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )


def execute(workdir: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path):
    """The executed notebook (run in ``workdir``) and the JSON summary its last cell printed."""
    from nbclient import NotebookClient

    monkeypatch.setenv("QA_SHARED_DATA", str(data_dir))
    nb = read_notebook()
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute()
    summaries = [
        json.loads(line)
        for line in stdout_of(nb.cells[-1]).splitlines()
        if line.startswith("{") and line.endswith("}")
    ]
    assert summaries, "the last cell printed no JSON summary"
    return nb, summaries[-1]


def printed(nb) -> str:
    return "\n".join(stdout_of(c) for c in nb.cells if c.cell_type == "code")


def check_common(nb, summary: dict) -> None:
    assert summary["passages"] > 0
    assert summary["questions_asked"] >= 2
    assert summary["answers_shown"] >= 1
    text = printed(nb)
    assert "answer 1: " in text or "answer: yes" in text or "answer: no" in text
    assert "'question'" in text and "'hits'" in text  # the to_dict() keys
    # The embedded profile ships an NER model, so the annotation cell shows entities; a
    # profile without one makes the cell say so instead of failing.
    from qa.config import load_profile

    if load_profile("embedded").annotate.ner_model:
        assert summary["entities_shown"] >= 1
    else:
        assert summary["entities_shown"] is None and "names no NER model" in text
    assert summary["eval_questions"] > 0


def test_notebook_is_stored_clean():
    nb = read_notebook()
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "strip the outputs"


@pytest.mark.integration
@pytest.mark.slow
def test_quickstart_runs_on_bioasq(shared_data, shared_file, tmp_path, monkeypatch):
    shared_file(BIOASQ)  # without it the notebook falls back to the demo corpus: fail in CI
    nb, summary = execute(tmp_path, monkeypatch, shared_data)
    check_common(nb, summary)
    assert summary["corpus"] == "bioasq"
    assert "PMID " in printed(nb)  # answers and hits point at their PubMed article
    assert summary["eval_questions"] == 10
    for key in ("factoid_mrr", "list_f1", "yesno_accuracy", "yesno_macro_f1"):
        value = summary[key]
        assert isinstance(value, (int, float)) and math.isfinite(value), key
        assert 0.0 <= value <= 1.0, (key, value)
    assert list(tmp_path.iterdir()) == [], "the notebook wrote into its working folder"


@pytest.mark.slow
def test_quickstart_falls_back_to_the_demo_corpus(tmp_path, monkeypatch):
    empty = tmp_path / "no-shared-data"
    empty.mkdir()
    workdir = tmp_path / "work"
    workdir.mkdir()
    nb, summary = execute(workdir, monkeypatch, empty)
    check_common(nb, summary)
    assert summary["corpus"] == "demo"
    assert summary["eval_questions"] == 3
    assert 0.0 <= summary["hit@10"] <= 1.0
    assert list(workdir.iterdir()) == []
