"""The one training loop: the loss goes down, the best epoch is the one kept, frozen weights
stay, and the learning rate follows the library's linear warm-up schedule."""

from __future__ import annotations

import random
from functools import partial

import pytest
import torch
from transformers import BertForSequenceClassification, get_linear_schedule_with_warmup

from qa.errors import InvalidInput
from qa.modelhub.load import load_model
from qa.train.common import BatchesByLength, pad_rows, stop_note, word_embeddings
from qa.train.fit import fit
from qa.train.settings import DEFAULT_BASE, TrainingConfig, TrainingRun

from .conftest import save_tiny_bert


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    folder = save_tiny_bert(
        tmp_path_factory.mktemp("tiny-cls"), 0, BertForSequenceClassification, labels=["no", "yes"]
    )
    return load_model(str(folder), "sequence-classification", kind="yesno")


def test_fit_lowers_the_loss_keeps_the_best_epoch_and_follows_the_library_schedule(
    classifier, capsys
) -> None:
    tokenizer, model = classifier
    texts = [f"{word} number {i}" for i in range(8) for word in ("aspirin", "nothing")]
    rows = [dict(tokenizer(t)) for t in texts]
    labels = torch.tensor([int(t.startswith("aspirin")) for t in texts])
    frozen = word_embeddings(model)
    config = TrainingConfig(epochs=4, batch_size=4, lr=1e-3, device="cpu", frozen=frozen)
    batches = BatchesByLength(rows, 4, random.Random(0), partial(pad_rows, rows, 0, labels=labels))
    embeddings_before = model.bert.embeddings.word_embeddings.weight.detach().clone()
    states, scores = [], iter([0.2, 0.9, 0.5, 0.1])

    def evaluate(m) -> dict:
        states.append({k: v.detach().clone() for k, v in m.state_dict().items()})
        return {"score": next(scores)}

    run = fit(model, batches, lambda m, b: m(**b).loss, config, evaluate=evaluate, select="score")

    assert run.steps == 16 and [h["epoch"] for h in run.history] == [1, 2, 3, 4]
    assert run.loss_summary()["last_loss"] < run.loss_summary()["first_loss"]
    assert (run.best_epoch, run.best_score) == (2, 0.9)
    assert "Epoch 2 on dev: score 0.9\n" in capsys.readouterr().err  # told as it goes
    assert all(torch.equal(v, states[1][k]) for k, v in model.state_dict().items())
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, embeddings_before)
    probe = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    schedule = get_linear_schedule_with_warmup(probe, 1, 16)  # 10% of 16 steps warm up
    expected = []
    for _ in range(16):
        expected.append(schedule.get_last_lr()[0])
        probe.step()
        schedule.step()
    assert run.learning_rates == expected


def test_max_steps_cuts_the_run_inside_an_epoch(classifier) -> None:
    tokenizer, model = classifier
    rows = [dict(tokenizer(f"text {i}")) for i in range(10)]
    labels = torch.tensor([i % 2 for i in range(10)])
    config = TrainingConfig(epochs=3, batch_size=4, max_steps=4, device="cpu")
    batches = BatchesByLength(rows, 4, random.Random(0), partial(pad_rows, rows, 0, labels=labels))
    run = fit(model, batches, lambda m, b: m(**b).loss, config)
    assert run.steps == 4 and [h["steps"] for h in run.history] == [3, 4]
    assert run.best_epoch == 2 and run.best_score is None


def test_a_run_without_settings_takes_the_trainers_own() -> None:
    default, given = TrainingConfig(epochs=2), TrainingConfig(epochs=5)
    assert TrainingRun(["t"], [], "out").settings(default) is default
    assert TrainingRun(["t"], [], "out", config=given).settings(default) is given
    assert TrainingRun(["t"], [], "out").base == DEFAULT_BASE


def test_stopping_after_an_epoch_keeps_the_whole_schedules_learning_rates(classifier) -> None:
    """A refit that stops where a dev set chose (``--stop-after-epochs``) trains with the same
    learning rates as the first epochs of the full run, not with a schedule squeezed into them."""
    tokenizer, model = classifier
    rows = [dict(tokenizer(f"text {i}")) for i in range(8)]
    labels = torch.tensor([i % 2 for i in range(8)])
    batches = BatchesByLength(rows, 4, random.Random(0), partial(pad_rows, rows, 0, labels=labels))
    runs = {
        name: fit(model, batches, lambda m, b: m(**b).loss, TrainingConfig(device="cpu", **given))
        for name, given in {
            "full": {"epochs": 3, "batch_size": 4},
            "stopped": {"epochs": 3, "batch_size": 4, "stop_after_epochs": 1},
            "short": {"epochs": 1, "batch_size": 4},
        }.items()
    }
    assert runs["stopped"].steps == 2 and [h["epoch"] for h in runs["stopped"].history] == [1]
    assert runs["stopped"].learning_rates == runs["full"].learning_rates[:2]
    assert runs["stopped"].learning_rates != runs["short"].learning_rates
    summary = TrainingConfig(epochs=3, stop_after_epochs=1).summary()
    assert "Stopped after epoch 1 of a 3-epoch schedule" in stop_note(summary)  # the cards
    assert stop_note(TrainingConfig(epochs=3).summary()) == ""
    with pytest.raises(InvalidInput, match="--stop-after-epochs must be between 1 and --epochs"):
        TrainingConfig(epochs=2, stop_after_epochs=3)
