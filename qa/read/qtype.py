"""Which kind of question is this: factoid, list, yesno or summary?

BioASQ gives the type; a user typing into the UI does not. The type is mostly written in the
first words ("Is ...", "Which genes ...", "What is the role of ...") and in a few cues ("list",
plural nouns after "which"), so a linear model over word n-grams and the question's opening
words does the job in microseconds, with no transformer to load. It is a multinomial logistic
regression trained by ``qa train qtype`` (:mod:`qa.train.qtype`) on BioASQ 4B-9B and stored as
safetensors + JSON.

The same model, with other labels, predicts the type of answer a question expects (gene,
chemical, ...: :mod:`qa.read.answer_type`, trained by ``qa train answer-type``): the words that
tell one ("Which drug", "How many") are of the same kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import torch

from qa.errors import ModelLoadError
from qa.modelhub import model_folder

WEIGHTS_FILE = "qtype.safetensors"
META_FILE = "qtype.json"
_WORD = re.compile(r"\w+|\?")


def features(question: str) -> list[str]:
    """Word unigrams and bigrams, plus the first one, two and three words as their own cues."""
    words = _WORD.findall(question.lower())
    feats = [f"w:{w}" for w in words]
    feats += [f"b:{a}_{b}" for a, b in zip(words, words[1:])]
    for n in (1, 2, 3):
        if len(words) >= n:
            feats.append(f"f{n}:" + "_".join(words[:n]))
    return feats


QTYPE_HINT = "train one with qa train qtype, or pass the question type yourself"


def qtype_folder(spec: str, hint: str = QTYPE_HINT) -> Path:
    """The folder of a question classifier (``qa-models:NAME`` or a path), checked."""
    path = model_folder(spec) or Path(spec)
    if not (path / META_FILE).is_file() or not (path / WEIGHTS_FILE).is_file():
        raise ModelLoadError(
            f"{path} is not a question classifier (it needs {META_FILE} and {WEIGHTS_FILE}): "
            f"{hint}."
        )
    return path


class QuestionTypeClassifier:
    """``predict(question)`` -> (type, probability); the labels are those it was trained with.
    ``hint`` says, when ``spec`` is no such model, how to get one."""

    def __init__(self, spec: str, hint: str = QTYPE_HINT) -> None:
        self.spec = spec
        self.path = qtype_folder(spec, hint)
        self._labels: list[str] = []

    def warm_up(self) -> None:
        """Load the weights and vocabulary (once); every public method calls it first."""
        from safetensors.torch import load_file

        if self._labels:
            return
        meta = json.loads((self.path / META_FILE).read_text(encoding="utf-8"))
        tensors = load_file(str(self.path / WEIGHTS_FILE))
        self.vocab = {f: i for i, f in enumerate(meta["vocab"])}
        self.weight = tensors["weight"].float()
        self.bias = tensors["bias"].float()
        if self.weight.shape != (len(meta["labels"]), len(self.vocab)):
            raise ModelLoadError(f"{self.path}: weights do not match the vocabulary; retrain it.")
        self._labels = list(meta["labels"])
        # Each label's share of the training questions (older models did not keep it).
        self.label_shares = dict(meta.get("label_shares", {}))

    @property
    def labels(self) -> list[str]:
        self.warm_up()
        return self._labels

    def probabilities(self, questions: Sequence[str]) -> torch.Tensor:
        self.warm_up()
        x = vectorise(questions, self.vocab)
        return torch.softmax(x @ self.weight.T + self.bias, dim=1)

    def predict(self, question: str) -> tuple[str, float]:
        probs = self.probabilities([question])[0]
        best = int(probs.argmax())
        return self.labels[best], float(probs[best])


def vectorise(questions: Sequence[str], vocab: dict[str, int]) -> torch.Tensor:
    x = torch.zeros(len(questions), len(vocab))
    for row, question in enumerate(questions):
        for feat in features(question):
            col = vocab.get(feat)
            if col is not None:
                x[row, col] = 1.0
    return x
