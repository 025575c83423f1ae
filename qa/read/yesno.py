"""Yes/no answers: a question + passage classifier whose verdicts are pooled over passages.

Each (question, passage) pair gets a yes-vs-no log-odds from a sequence-classification head;
the question's log-odds is their mean over the passages read, so one odd snippet cannot flip a
verdict that the others agree on, and the answer keeps a probability (``sigmoid`` of the mean).
The per-passage log-odds are kept too: they tell the user which passages argue for which side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from qa.config import resolve_device
from qa.errors import ModelLoadError
from qa.modelhub import ModelLocation, locate, require_overlay_kind, revision
from qa.read.reader import clip_question
from qa.types import Hit, Passage, YesNo

LABELS = ("no", "yes")


def load_yesno_model(location: ModelLocation):
    """Tokenizer and model; refuses a model without a yes/no head."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    from qa.retrieve.encoder import load_transformer

    if location.overlay_base:
        require_overlay_kind(
            location,
            "yesno",
            "a yes/no classifier",
            "point the profile's [reader] yesno_model at one trained by qa train yesno",
        )
    else:
        try:
            config = AutoConfig.from_pretrained(location.path)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"Could not read a model config from {location.path}: {exc}"
            ) from exc
        labels = {str(v).lower() for v in (config.id2label or {}).values()}
        if not {"yes", "no"} <= labels:
            raise ModelLoadError(
                f"{location.spec} is not a yes/no classifier (its labels are "
                f"{sorted(labels) or 'unknown'}): train one with qa train yesno."
            )
    return load_transformer(location, AutoModelForSequenceClassification)


class YesNoClassifier:
    """``classify(question, passages)`` -> :class:`YesNo`."""

    def __init__(
        self,
        spec: str,
        *,
        device: str = "auto",
        max_seq_length: int = 256,
        max_passages: int = 10,
        threshold: float = 0.5,
        batch_size: int | None = None,
    ) -> None:
        self.spec = spec
        self.location = locate(spec)
        self.revision = revision(self.location)
        self.tokenizer, self.model = load_yesno_model(self.location)
        self.device = resolve_device(device)
        self.model.to(self.device).eval()
        id2label = {i: str(v).lower() for i, v in self.model.config.id2label.items()}
        self.yes_index = next(i for i, v in id2label.items() if v == "yes")
        self.no_index = next(i for i, v in id2label.items() if v == "no")
        self.max_seq_length = max_seq_length
        self.max_passages = max_passages
        self.threshold = threshold
        # Windows per forward pass: a GPU takes many more at once than two CPU cores want.
        self.batch_size = batch_size or (128 if self.device.startswith("cuda") else 32)

    def log_odds(self, question: str, passages: Sequence[Passage]) -> list[float]:
        """Log-odds of "yes" for each passage (question and passage read together)."""
        if not passages:
            return []
        question = clip_question(self.tokenizer, question)
        enc = self.tokenizer(
            [question] * len(passages),
            [p.text for p in passages],
            truncation="only_second",
            max_length=self.max_seq_length,
            padding=True,
            return_tensors="pt",
        )
        out: list[float] = []
        use_amp = self.device.startswith("cuda")
        with torch.inference_mode():
            for lo in range(0, len(passages), self.batch_size):
                batch = {k: v[lo : lo + self.batch_size].to(self.device) for k, v in enc.items()}
                with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
                    logits = self.model(**batch).logits.float()
                out.extend((logits[:, self.yes_index] - logits[:, self.no_index]).cpu().tolist())
        return out

    def classify(self, question: str, hits: Sequence[Hit] | Sequence[Passage]) -> YesNo:
        passages = [h.passage if isinstance(h, Hit) else h for h in hits][: self.max_passages]
        if not passages:
            return YesNo("yes" if self.threshold <= 0.5 else "no", 0.5)
        odds = self.log_odds(question, passages)
        probability = 1.0 / (1.0 + math.exp(-sum(odds) / len(odds)))
        return YesNo(
            label="yes" if probability >= self.threshold else "no",
            probability=probability,
            evidence=tuple((p.id, round(o, 4)) for p, o in zip(passages, odds)),
        )
