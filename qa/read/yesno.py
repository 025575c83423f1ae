"""Yes/no answers: a question + passage classifier whose verdicts are pooled over passages.

Each (question, passage) pair gets a yes-vs-no log-odds from a sequence-classification head,
and :func:`pool` turns the passages' log-odds into the question's:

* ``mean``: every passage counts the same, so one odd snippet cannot flip a verdict the others
  agree on, but neither can the one passage that clearly says no among several that merely
  describe the topic (and read as a mild "yes");
* ``max``: the most confident passage decides, whichever side it is on;
* ``attention``: a mean weighted by ``exp(|log-odds|)``, so confident passages count more
  without one of them deciding alone.

Read one at a time, a passage answers for itself, and a training label (the question's
answer) is wrong for every snippet that only gives background. ``joined`` reading instead
puts consecutive passages together in as few windows as fit beside the question
(:func:`join_texts`), so the model weighs the evidence side by side as it was labelled, and the
pooling runs over those windows. A model trained so says it in its config, and is read so.

The answer keeps a probability (``sigmoid`` of the pooled log-odds), compared with the
threshold. The per-passage log-odds are kept too: they tell the user which passages argue for
which side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qa.batching import forward_batches, inference_batch_size
from qa.errors import ModelLoadError, check_choice
from qa.modelhub.component import ModelComponent
from qa.modelhub.load import YESNO_JOINED, model_config
from qa.read.reader import encode_with_question
from qa.types import Hit, Passage, YesNo

LABELS = ("no", "yes")
POOLINGS = ("mean", "max", "attention")


def pool(odds: Sequence[float], pooling: str) -> float:
    """The question's log-odds from its passages' (see the module's docstring)."""
    if pooling == "max":
        return max(odds, key=abs)
    if pooling == "attention":
        top = max(abs(o) for o in odds)
        weights = [math.exp(abs(o) - top) for o in odds]
        return sum(w * o for w, o in zip(weights, odds)) / sum(weights)
    return sum(odds) / len(odds)


def join_texts(tokenizer, question: str, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Indices of the texts read together: consecutive texts while their tokens fit beside the
    question in ``max_length`` (a text too long alone gets a window of its own, truncated)."""
    room = max_length - len(tokenizer.tokenize(question)) - 3  # [CLS] q [SEP] texts [SEP]
    groups: list[list[int]] = []
    used = room
    for i, text in enumerate(texts):
        size = len(tokenizer.tokenize(text)) + 1
        if used + size > room:
            groups.append([])
            used = 0
        groups[-1].append(i)
        used += size
    return groups


def join_passages(passages: Sequence[Passage], group: Sequence[int]) -> Passage:
    """The passages of ``group`` as one (ids joined by "+", texts by a space)."""
    if len(group) == 1:
        return passages[group[0]]
    return Passage(
        "+".join(passages[i].id for i in group), " ".join(passages[i].text for i in group)
    )


class YesNoClassifier(ModelComponent):
    """``predict(question, passages)`` -> :class:`YesNo`."""

    task, kind = "sequence-classification", "yesno"

    def __init__(
        self,
        spec: str,
        *,
        device: str = "auto",
        max_seq_length: int = 256,
        max_passages: int = 10,
        threshold: float = 0.5,
        pooling: str = "mean",
        joined: bool | None = None,
        batch_size: int | None = None,
    ) -> None:
        """``joined`` None: as the model was trained (its config's ``qa_yesno_joined``)."""
        check_choice("yes/no pooling", pooling, POOLINGS)
        self._settle(spec, device)
        config = model_config(self.location)
        id2label = {i: str(v).lower() for i, v in config.id2label.items()}
        if not {"yes", "no"} <= set(id2label.values()):
            raise ModelLoadError(
                f"{spec} is not a yes/no classifier (its labels are "
                f"{sorted(set(id2label.values()))}): train one with qa train yesno."
            )
        self.yes_index = next(i for i, v in id2label.items() if v == "yes")
        self.no_index = next(i for i, v in id2label.items() if v == "no")
        self.max_seq_length = max_seq_length
        self.max_passages = max_passages
        self.threshold = threshold
        self.pooling = pooling
        trained = bool(getattr(config, YESNO_JOINED, False))
        self.joined = trained if joined is None else joined
        self.batch_size = inference_batch_size(self.device, batch_size)

    def log_odds(self, question: str, passages: Sequence[Passage]) -> list[float]:
        """Log-odds of "yes" for each passage (question and passage read together)."""
        if not passages:
            return []
        enc = encode_with_question(self.tokenizer, question, passages, self.max_seq_length)
        out: list[float] = []
        for _, result in forward_batches(self.model, enc, self.batch_size, self.device):
            logits = result.logits.float()
            out.extend((logits[:, self.yes_index] - logits[:, self.no_index]).cpu().tolist())
        return out

    def groups(self, question: str, passages: Sequence[Passage]) -> list[list[int]]:
        """The passages read together: one window each, or joined (see the module)."""
        if not self.joined:
            return [[i] for i in range(len(passages))]
        texts = [p.text for p in passages]
        return join_texts(self.tokenizer, question, texts, self.max_seq_length)

    def window_odds(
        self, question: str, passages: Sequence[Passage]
    ) -> tuple[list[list[int]], list[float]]:
        """The windows the passages are read in (:meth:`groups`) and the log-odds of "yes" of
        each."""
        groups = self.groups(question, passages)
        return groups, self.log_odds(question, [join_passages(passages, g) for g in groups])

    def predict(self, question: str, hits: Sequence[Hit] | Sequence[Passage]) -> YesNo:
        passages = [h.passage if isinstance(h, Hit) else h for h in hits][: self.max_passages]
        if not passages:
            return YesNo("yes" if self.threshold <= 0.5 else "no", 0.5)
        groups, odds = self.window_odds(question, passages)
        probability = 1.0 / (1.0 + math.exp(-pool(odds, self.pooling)))
        return YesNo(
            label="yes" if probability >= self.threshold else "no",
            probability=probability,
            # each passage shows the log-odds of the window it was read in
            evidence=tuple((passages[i].id, round(o, 4)) for g, o in zip(groups, odds) for i in g),
        )
