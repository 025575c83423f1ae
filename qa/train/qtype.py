"""Train the question-type classifier on BioASQ questions, with its model card.

BioASQ repeats questions across batches, so a dev question (10B) can also stand in a training
batch (4B–9B); such copies are dropped from training, or the dev accuracy would be measured
partly on questions the classifier has seen. The model itself (features, weights, prediction)
is :mod:`qa.read.qtype`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import torch

from qa.atomic import save_tensors, staged_folder
from qa.corpus.bioasq import load_golden
from qa.modelhub.load import check_model_output, is_model_folder
from qa.read.qtype import META_FILE, WEIGHTS_FILE, QuestionTypeClassifier, features, vectorise
from qa.types import QUESTION_TYPES

TypedQuestion = tuple[str, str]  # (body, type)


def qtype_pairs(
    train_paths: Sequence[str | Path], dev_paths: Sequence[str | Path] = ()
) -> tuple[list[TypedQuestion], list[TypedQuestion]]:
    """(train, dev) pairs of the golden files; a training question whose body, case aside, is
    also a dev question is left out of train."""
    train = [(q.body, q.type) for q in load_golden(train_paths)]
    dev = [(q.body, q.type) for q in load_golden(dev_paths)] if dev_paths else []
    dev_bodies = {body.lower() for body, _ in dev}
    return [(b, t) for b, t in train if b.lower() not in dev_bodies], dev


def train_qtype(
    train: Sequence[TypedQuestion], dev: Sequence[TypedQuestion], out: str | Path, command: str = ""
) -> dict:
    """The question-type classifier fitted on (question, type) pairs, saved with its card."""
    card = partial(model_card, command=command)
    return train_question_classifier(train, dev, QUESTION_TYPES, "qtype", out, card)


def train_question_classifier(
    train: Sequence[TypedQuestion],
    dev: Sequence[TypedQuestion],
    labels: Sequence[str],
    kind: str,
    out: str | Path,
    card: Callable[[dict], str],
    *,
    min_count: int = 2,
    weight_decay: float = 1e-3,
    steps: int = 300,
) -> dict:
    """Fit on (question, label) pairs, report dev accuracy, save weights, vocabulary, ``kind``
    (what the catalog calls the model) and the ``card`` of the result.

    ``out`` is written whole or not at all (:func:`qa.atomic.staged_folder`); a folder the
    project did not write is refused before training."""
    check_model_output(out)
    started = time.time()
    counts = Counter(f for q, _ in train for f in set(features(q)))
    vocab = sorted(f for f, c in counts.items() if c >= min_count)
    labels = list(labels)
    weight, bias = fit_linear(
        vectorise([q for q, _ in train], {f: i for i, f in enumerate(vocab)}),
        torch.tensor([labels.index(t) for _, t in train]),
        len(labels),
        weight_decay,
        steps,
    )
    with staged_folder(out, is_model_folder, "a model folder") as tmp:
        save_tensors({"weight": weight, "bias": bias}, tmp / WEIGHTS_FILE)
        shares = {t: round(n / len(train), 6) for t, n in Counter(t for _, t in train).items()}
        meta = {"kind": kind, "labels": labels, "label_shares": shares, "vocab": vocab}
        (tmp / META_FILE).write_text(json.dumps(meta) + "\n", encoding="utf-8")
        model = QuestionTypeClassifier(str(tmp))
        result = {
            "train_questions": len(train),
            "train_labels": dict(Counter(t for _, t in train)),
            "features": len(vocab),
            "train_accuracy": _accuracy(model, train),
            "dev_questions": len(dev),
            "dev_accuracy": _accuracy(model, dev) if dev else None,
            "dev_confusion": _confusion(model, dev) if dev else {},
            "train_seconds": round(time.time() - started, 2),
        }
        (tmp / "README.md").write_text(card(result), encoding="utf-8")
    return result


def fit_linear(
    x: torch.Tensor, y: torch.Tensor, n_labels: int, weight_decay: float, steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of a multinomial logistic regression of ``y`` on ``x``, L2-regularised."""
    torch.manual_seed(0)
    weight = torch.zeros(n_labels, x.shape[1], requires_grad=True)
    bias = torch.zeros(n_labels, requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight.T + bias, y)
        (loss + weight_decay * weight.pow(2).sum()).backward()
        optimizer.step()
    return weight.detach().contiguous(), bias.detach()


def _accuracy(model: QuestionTypeClassifier, pairs: Sequence[TypedQuestion]) -> float:
    probs = model.probabilities([q for q, _ in pairs])
    predicted = [model.labels[i] for i in probs.argmax(dim=1).tolist()]
    return round(sum(p == t for p, (_, t) in zip(predicted, pairs)) / max(1, len(pairs)), 4)


def _confusion(model: QuestionTypeClassifier, pairs: Sequence[TypedQuestion]) -> dict:
    probs = model.probabilities([q for q, _ in pairs])
    table: dict[str, Counter] = {t: Counter() for t in model.labels}
    for i, (_, gold) in zip(probs.argmax(dim=1).tolist(), pairs):
        table[gold][model.labels[i]] += 1
    return {gold: dict(row) for gold, row in table.items()}


def model_card(result: dict, command: str) -> str:
    return f"""# Question-type classifier (factoid / list / yesno / summary)

A multinomial logistic regression over word unigrams, bigrams and the first 1-3 words of the
question (`qa/read/qtype.py`, trained by `qa/train/qtype.py`); {result["features"]} features, stored as `{WEIGHTS_FILE}` plus the
vocabulary in `{META_FILE}`: plain tensors and JSON, nothing that runs code on load.

- **Training data**: the {result["train_questions"]} questions of the BioASQ 4B-9B golden files in
  ../shared/data/bioasq (their `type` field). BioASQ data is subject to the BioASQ terms of use.
- **Command**: `{command or "qa train qtype"}` ({result["train_seconds"]} s on CPU)
- **Train accuracy**: {result["train_accuracy"]}
- **Dev accuracy** (the {result["dev_questions"]} questions of 10B): {result["dev_accuracy"]}

Dev confusion (gold type -> predicted counts): `{json.dumps(result["dev_confusion"])}`
"""
