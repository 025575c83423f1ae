"""The README's commands and example are the ones that work."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from qa.index.store import build_index

from .conftest import tiny_profile

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_blocks(section: str, lang: str = "") -> list[str]:
    body = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", body, flags=re.S)


def test_readme_has_exactly_two_fresh_machine_commands_and_ci_runs_the_test_one() -> None:
    blocks = [b.strip() for b in code_blocks("Fresh machine: two commands")]
    assert len(blocks) == 2
    demo, tests = blocks
    assert demo.endswith("qa demo")
    assert "pytest" in tests
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci_lines[-1] == tests


def test_python_example_runs(tmp_path, tiny_model, sample_passages) -> None:
    from transformers import BertForQuestionAnswering

    from qa.config import profile_from_dict

    from .conftest import save_tiny_bert

    folder = tmp_path / "demo"
    profile = tiny_profile(tiny_model).to_dict()
    reader = save_tiny_bert(tmp_path / "reader", 0, BertForQuestionAnswering)
    profile["reader"] = {"model": str(reader), "qtype_model": "qa-models:qtype-bioasq"}
    build_index(sample_passages, folder, profile_from_dict(profile), show_progress=False)
    (example,) = code_blocks("Python", "python")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(example.replace('"indexes/demo"', repr(str(folder))), {})
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("factoid [")  # the type was predicted, answers read
    assert "p1" in lines[1]  # the Rett syndrome passage comes first
