"""Which kind of question is this: factoid, list, yesno or summary?

BioASQ gives the type; a user typing into the UI does not. The type is mostly written in the
first words ("Is ...", "Which genes ...", "What is the role of ...") and in a few cues ("list",
plural nouns after "which"), so a linear model over word n-grams and the question's opening
words does the job in microseconds, with no transformer to load. It is a multinomial logistic
regression trained by ``qa train qtype`` on BioASQ 4B-9B and stored as safetensors + JSON.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch

from qa.errors import ModelLoadError
from qa.modelhub import model_folder

TYPES = ("factoid", "list", "yesno", "summary")
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


def qtype_folder(spec: str) -> Path:
    """The folder of a question-type model (``qa-models:NAME`` or a path), checked."""
    path = model_folder(spec) or Path(spec)
    if not (path / META_FILE).is_file() or not (path / WEIGHTS_FILE).is_file():
        raise ModelLoadError(
            f"{path} is not a question-type model (it needs {META_FILE} and {WEIGHTS_FILE}): "
            "train one with qa train qtype, or pass the question type yourself."
        )
    return path


class QuestionTypeClassifier:
    """``predict(question)`` -> (type, probability)."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.path = qtype_folder(spec)
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


def train_qtype(
    train: Sequence[tuple[str, str]],
    dev: Sequence[tuple[str, str]],
    out: str | Path,
    *,
    min_count: int = 2,
    weight_decay: float = 1e-3,
    steps: int = 300,
    command: str = "",
) -> dict:
    """Fit on (question, type) pairs, report dev accuracy, save weights, vocabulary and card."""
    from safetensors.torch import save_file

    started = time.time()
    counts = Counter(f for q, _ in train for f in set(features(q)))
    vocab = sorted(f for f, c in counts.items() if c >= min_count)
    index = {f: i for i, f in enumerate(vocab)}
    labels = list(TYPES)
    x = vectorise([q for q, _ in train], index)
    y = torch.tensor([labels.index(t) for _, t in train])
    torch.manual_seed(0)
    weight = torch.zeros(len(labels), len(vocab), requires_grad=True)
    bias = torch.zeros(len(labels), requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight.T + bias, y)
        (loss + weight_decay * weight.pow(2).sum()).backward()
        optimizer.step()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        {"weight": weight.detach().contiguous(), "bias": bias.detach()}, str(out / WEIGHTS_FILE)
    )
    meta = {"labels": labels, "vocab": vocab}
    (out / META_FILE).write_text(json.dumps(meta) + "\n", encoding="utf-8")
    model = QuestionTypeClassifier(str(out))
    result = {
        "train_questions": len(train),
        "features": len(vocab),
        "train_accuracy": _accuracy(model, train),
        "dev_questions": len(dev),
        "dev_accuracy": _accuracy(model, dev) if dev else None,
        "dev_confusion": _confusion(model, dev) if dev else {},
        "train_seconds": round(time.time() - started, 2),
    }
    (out / "README.md").write_text(model_card(result, command), encoding="utf-8")
    return result


def _accuracy(model: QuestionTypeClassifier, pairs: Sequence[tuple[str, str]]) -> float:
    probs = model.probabilities([q for q, _ in pairs])
    predicted = [model.labels[i] for i in probs.argmax(dim=1).tolist()]
    return round(sum(p == t for p, (_, t) in zip(predicted, pairs)) / max(1, len(pairs)), 4)


def _confusion(model: QuestionTypeClassifier, pairs: Sequence[tuple[str, str]]) -> dict:
    probs = model.probabilities([q for q, _ in pairs])
    table: dict[str, Counter] = {t: Counter() for t in model.labels}
    for i, (_, gold) in zip(probs.argmax(dim=1).tolist(), pairs):
        table[gold][model.labels[i]] += 1
    return {gold: dict(row) for gold, row in table.items()}


def model_card(result: dict, command: str) -> str:
    return f"""# Question-type classifier (factoid / list / yesno / summary)

A multinomial logistic regression over word unigrams, bigrams and the first 1-3 words of the
question (`qa/read/qtype.py`); {result["features"]} features, stored as `{WEIGHTS_FILE}` plus the
vocabulary in `{META_FILE}`: plain tensors and JSON, nothing that runs code on load.

- **Training data**: the {result["train_questions"]} questions of the BioASQ 4B-9B golden files in
  ../shared/data/bioasq (their `type` field). BioASQ data is subject to the BioASQ terms of use.
- **Command**: `{command or "qa train qtype"}` ({result["train_seconds"]} s on CPU)
- **Train accuracy**: {result["train_accuracy"]}
- **Dev accuracy** (the {result["dev_questions"]} questions of 10B): {result["dev_accuracy"]}

Dev confusion (gold type -> predicted counts): `{json.dumps(result["dev_confusion"])}`
"""
