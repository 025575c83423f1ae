"""The clinicalbert profile's reader is trained here from Bio_ClinicalBERT, a base without a
span head: until it is, every command that uses the profile says at once how to make it; once
`qa train reader` has written it, the profile answers.

A tiny BERT in a local copy of the hub's cache stands in for emilyalsentzer/Bio_ClinicalBERT
and for the profile's sentence encoder, so the shipped profile's own hub ids (pinned @main) are
what loads; only its reader folder is pointed at the test's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.cli import main
from qa.config import PROFILE_DIR, load_profile, profile_from_dict
from qa.errors import ModelLoadError
from qa.modelhub.trained import require_trained
from qa.types import Passage

from . import test_hub_pins
from .test_answer_types import GENES, factoid_question
from .test_hub_pins import NEW, put_on_fake_hub

CLINICAL = "emilyalsentzer/Bio_ClinicalBERT"
ENCODER = "pritamdeka/S-BioBert-snli-multinli-stsb"
fake_hub = test_hub_pins.fake_hub  # the offline hub cache, a fixture shared with those tests
SHIPPED_READER = 'model = "qa-models:reader-clinicalbert-bioasq"'


def clinicalbert_copy(folder: Path, reader: Path) -> Path:
    """The shipped clinicalbert.toml with its reader pointed at ``reader``."""
    text = (PROFILE_DIR / "clinicalbert.toml").read_text(encoding="utf-8")
    assert text.count(SHIPPED_READER) == 1
    path = folder / "clinicalbert.toml"
    path.write_text(text.replace(SHIPPED_READER, f'model = "{reader}"'), encoding="utf-8")
    return path


def refusal(reader: Path) -> str:
    return (
        f"error: Profile clinicalbert: its reader is not trained yet; run qa train reader --base "
        f"{CLINICAL}@main --train BIOASQ_4B-9B_GOLDEN.json... --dev BIOASQ_10B_GOLDEN.json... "
        f"-o {reader}"
    )


@pytest.fixture()
def passages_file(tmp_path, sample_passages) -> Path:
    path = tmp_path / "passages.jsonl"
    path.write_text("".join(json.dumps(p.to_dict()) + "\n" for p in sample_passages))
    return path


def test_the_shipped_profile_names_the_training_command_until_its_reader_exists() -> None:
    profile = load_profile("clinicalbert")
    with pytest.raises(ModelLoadError, match="qa train reader --base emilyalsentzer"):
        require_trained(profile)


@pytest.mark.parametrize(
    "command",
    [
        ["index", "build", "{passages}", "-o", "{tmp}/idx"],
        ["ask", "Which gene causes disease 0?", "--index", "{tmp}/no-index-yet"],
        ["serve", "--index", "{tmp}/no-index-yet"],
    ],
    ids=["index build", "ask", "serve"],
)
def test_every_command_refuses_an_untrained_reader_at_once(
    command, tmp_path, passages_file, capsys
) -> None:
    """The refusal comes before any index is read or written and before any model loads: the
    hub ids here are not even in a cache (the hub is unreachable), and the index is missing."""
    reader = tmp_path / "reader-clinicalbert"
    profile = clinicalbert_copy(tmp_path, reader)
    argv = [a.format(passages=passages_file, tmp=tmp_path) for a in command]
    capsys.readouterr()
    assert main([*argv, "--profile", str(profile)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [refusal(reader)]
    assert not (tmp_path / "idx").exists()


def test_the_reader_trained_from_the_base_answers_through_the_profile(
    fake_hub, tmp_path, passages_file
) -> None:
    from transformers import BertModel

    from qa.pipeline import QA

    # A plain encoder, without a span head, as Bio_ClinicalBERT is.
    put_on_fake_hub(fake_hub, CLINICAL, {NEW: 5}, main=NEW, model_class=BertModel)
    put_on_fake_hub(fake_hub, ENCODER, {NEW: 0}, main=NEW)
    gold = tmp_path / "golden.json"
    questions = [factoid_question(i) for i in range(len(GENES))]
    gold.write_text(json.dumps({"questions": questions}), encoding="utf-8")
    reader = tmp_path / "reader-clinicalbert"
    train = ["train", "reader", "--base", f"{CLINICAL}@main", "--train", str(gold)]
    steps = ["--epochs", "30", "--batch-size", "8", "--lr", "3e-3", "--device", "cpu"]
    assert main([*train, "-o", str(reader), *steps]) == 0
    overlay = json.loads((reader / "qa_overlay.json").read_text(encoding="utf-8"))
    assert (overlay["kind"], overlay["base"]) == ("reader", f"{CLINICAL}@main")  # pinned base

    profile = clinicalbert_copy(tmp_path, reader)
    index = tmp_path / "idx"
    build = ["index", "build", str(passages_file), "-o", str(index), "--profile", str(profile)]
    assert main(build) == 0
    qa = QA.load(index, profile=profile, device="cpu")
    assert qa.components.reader.spec == str(reader)
    result = qa.ask("Which gene is mutated in Rett syndrome?", qtype="factoid", k=3, annotate=False)
    assert result.answers
    for answer in result.answers:
        assert answer.passage.text[answer.start : answer.end] == answer.text
    snippet = Passage("gold", questions[3]["snippets"][0]["text"])
    read = qa.answer("Which gene causes disease 3?", [snippet], qtype="factoid", annotate=False)
    assert read.answers[0].text == "DMD"

    # The reader is an overlay on the pinned base: a profile noting another revision is refused.
    data = load_profile(profile).to_dict()
    data["reader"]["model_base"] = f"{CLINICAL}@{NEW}"
    with pytest.raises(
        ModelLoadError, match=f"an overlay on {CLINICAL}@main, not on its model_base"
    ):
        require_trained(profile_from_dict(data, source=str(profile)))
