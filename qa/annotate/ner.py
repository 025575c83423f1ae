"""Named entities over any Hugging Face token-classification checkpoint, as character spans.

A model predicts one BIO tag per word piece; users need whole mentions with offsets into their
own text. So:

* only the first piece of each word is read (that is the piece trainers label), and a mention
  runs from the first character of its first word to the last character of its last word, taken
  from the tokenizer's offset mapping: ``text[start:end] == entity.text`` holds by construction,
  for accents, Greek letters, punctuation and words cut into many pieces alike. A "word" is what
  the tokenizer's pre-tokenizer calls one (BERT: split at spaces and punctuation);
* the words of a text are tagged together: the most probable valid BIO sequence (an ``I-X``
  only after ``B-X`` or ``I-X``), not each word's most probable tag;
* texts longer than a window are cut into windows that overlap by ``stride`` tokens. A word seen
  by several windows takes the prediction of the window where it sits most centrally (most
  context on both sides), ties going to the earlier window; mentions are then chunked once over
  the whole text, so windows can never produce overlapping or duplicated mentions, and the result
  does not depend on batch size or on the order of the texts;
* windows of all texts are batched together, sorted by length so little is spent on padding.

An entity's score is the mean probability of the tags chosen for its words.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from qa.batching import pad_batch
from qa.config import resolve_device
from qa.corpus.ner import bio_spans, canonical_type
from qa.errors import ModelLoadError
from qa.modelhub.component import ModelComponent
from qa.modelhub.load import model_config
from qa.types import Entity


def bio_labels(id2label: dict) -> list[str]:
    """The model's labels as ``O`` / ``B-TYPE`` / ``I-TYPE`` with canonical types, by id.

    Refuses label sets that are not BIO (``LABEL_0``, BIOES ``S-X``), since chunking them as BIO
    would silently produce wrong mentions."""
    labels = []
    for index in range(len(id2label)):
        raw = str(id2label.get(index, id2label.get(str(index), "")))
        prefix, dash, kind = raw.partition("-")
        if raw == "O":
            labels.append("O")
        elif prefix in ("B", "I") and dash and kind:
            labels.append(f"{prefix}-{canonical_type(kind)}")
        else:
            shown = ", ".join(str(v) for v in list(id2label.values())[:6])
            raise ModelLoadError(
                f"The model's labels ({shown}) are not BIO tags (O, B-TYPE, I-TYPE): set "
                "id2label in its config.json, or train one with qa train ner."
            )
    if "O" not in labels:
        raise ModelLoadError("The model's labels have no 'O' tag: it is not a BIO NER model.")
    return labels


def first_pieces(encoding, windows: Sequence[int]) -> list[list[tuple[int, int, int]]]:
    """For each window of one text, ``(token position, word id, centrality)`` of the first
    piece of every word it holds.

    A word cut by a window edge may begin in the previous window; its first piece is the one
    with the word's smallest start offset, which only the window holding it can read.
    Centrality is the distance to the nearer edge of the window's content tokens."""
    starts: dict[int, int] = {}
    for w in windows:
        for word, (begin, _) in zip(encoding.word_ids(w), encoding["offset_mapping"][w]):
            if word is not None and begin < starts.get(word, 1 << 62):
                starts[word] = begin
    result = []
    for w in windows:
        words = encoding.word_ids(w)
        content = [i for i, word in enumerate(words) if word is not None]
        pieces = []
        seen: set[int] = set()
        for i in content:
            word = words[i]
            if word not in seen and encoding["offset_mapping"][w][i][0] == starts[word]:
                seen.add(word)
                pieces.append((i, word, min(i - content[0], content[-1] - i)))
        result.append(pieces)
    return result


def resolve_overlaps(
    candidates: Iterable[tuple[int, int, int, np.ndarray]],
) -> dict[int, np.ndarray]:
    """One vector of tag probabilities per word from ``(word, window, centrality, probs)``.

    The most central window wins, then the earlier window: a fixed rule, so the same text always
    gets the same mentions however it was windowed or batched."""
    best: dict[int, tuple[int, int, np.ndarray]] = {}
    for word, window, centrality, probs in candidates:
        current = best.get(word)
        if current is None or (centrality, -window) > (current[0], -current[1]):
            best[word] = (centrality, window, probs)
    return {word: probs for word, (_, _, probs) in best.items()}


@functools.cache
def valid_bio(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Which tags may open a sentence, and which may follow which (``[previous, next]``, as
    0 or minus infinity, to add to log-probabilities): ``I-X`` only after ``B-X`` or ``I-X``."""

    def may_follow(previous: str, label: str) -> bool:
        return not label.startswith("I-") or previous[2:] == label[2:] != ""

    opening = np.array([-np.inf if label.startswith("I-") else 0.0 for label in labels])
    follows = np.array([[0.0 if may_follow(p, n) else -np.inf for n in labels] for p in labels])
    opening.setflags(write=False)  # cached: shared by every call
    follows.setflags(write=False)
    return opening, follows


def constrained_tags(probs: np.ndarray, labels: Sequence[str]) -> list[int]:
    """The most probable tag sequence (Viterbi over the words' log-probabilities) among the
    valid BIO ones.

    Tagging each word by its own argmax lets a mention change type halfway or start with an
    ``I``; chunking then cuts it in two or guesses its start. A mention's words are decided
    together instead, so a confident ``B-CHEMICAL`` carries a hesitant next word with it."""
    if len(probs) == 0:
        return []
    opening, transition = valid_bio(tuple(labels))
    log_p = np.log(np.clip(probs, 1e-12, None))
    score = opening + log_p[0]
    back = np.zeros((len(probs), len(labels)), dtype=int)
    for i in range(1, len(probs)):
        options = score[:, None] + transition  # [previous, next]
        back[i] = options.argmax(axis=0)
        score = options.max(axis=0) + log_p[i]
    tags = [int(score.argmax())]
    for i in range(len(probs) - 1, 0, -1):
        tags.append(int(back[i][tags[-1]]))
    return tags[::-1]


class EntityTagger(ModelComponent):
    """``tag(texts)`` -> the entities of each text, as character spans with a type and score."""

    task, kind, half_on_gpu, needs_offsets = "token-classification", "ner", True, True

    def __init__(
        self,
        spec: str,
        *,
        device: str = "auto",
        batch_size: int = 32,
        max_length: int = 256,
        stride: int = 64,
    ) -> None:
        self._settle(spec, device)
        self._windows(batch_size, max_length, stride)
        self._use_labels(model_config(self.location).id2label)  # fail before loading weights

    @classmethod
    def from_model(
        cls,
        model,
        tokenizer,
        *,
        device: str = "auto",
        batch_size: int = 32,
        max_length: int = 256,
        stride: int = 64,
        spec: str = "(in memory)",
    ) -> EntityTagger:
        """A tagger over a model already in memory (the trainer's dev evaluation); the model's
        dtype is left alone, so training can go on after tagging."""
        tagger = cls.__new__(cls)
        tagger.spec, tagger.location, tagger.revision = spec, None, ""
        tagger.device = resolve_device(device)
        tagger._windows(batch_size, max_length, stride)
        tagger._use_labels(model.config.id2label)
        tagger._attach(tokenizer, model, half=False)
        return tagger

    def _windows(self, batch_size: int, max_length: int, stride: int) -> None:
        if stride >= max_length - 2 or stride < 0:
            raise ValueError(f"stride {stride} must be below max_length {max_length} - 2.")
        self.batch_size = batch_size
        self.max_length = max_length
        self.stride = stride

    def _use_labels(self, id2label: dict) -> None:
        self.labels = bio_labels(id2label)
        self.types = tuple(dict.fromkeys(label[2:] for label in self.labels if label != "O"))

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        """Entities of each text, in text order; ``text[e.start:e.end] == e.text`` always."""
        texts = list(texts)
        if not any(t.strip() for t in texts):
            return [[] for _ in texts]
        enc = self.tokenizer(
            texts,
            truncation=True,
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        probs = self._window_probabilities(enc)
        by_sample: dict[int, list[int]] = {}
        for w, sample in enumerate(enc["overflow_to_sample_mapping"]):
            by_sample.setdefault(int(sample), []).append(w)
        return [
            self._entities(text, enc, by_sample.get(i, []), probs) for i, text in enumerate(texts)
        ]

    def _window_probabilities(self, enc) -> list[np.ndarray]:
        """Tag probabilities per token of every window, batched by similar length."""
        keys = [k for k in self.tokenizer.model_input_names if k in enc]
        lengths = [len(ids) for ids in enc["input_ids"]]
        order = np.argsort(lengths, kind="stable")
        pad = self.tokenizer.pad_token_id or 0
        result: list[np.ndarray] = [np.empty(0)] * len(lengths)
        with torch.inference_mode():
            for lo in range(0, len(order), self.batch_size):
                idx = order[lo : lo + self.batch_size]
                rows = [{k: list(enc[k][i]) for k in keys} for i in idx]
                batch = {k: v.to(self.device) for k, v in pad_batch(rows, pad).items()}
                logits = self.model(**batch).logits.float()
                p = torch.softmax(logits, dim=-1).cpu().numpy()
                for row, i in enumerate(idx):
                    result[i] = p[row, : lengths[i]]
        return result

    def _entities(
        self, text: str, enc, windows: list[int], probs: list[np.ndarray]
    ) -> list[Entity]:
        if not windows:
            return []
        spans: dict[int, list[int]] = {}
        for w in windows:
            for word, (begin, end) in zip(enc.word_ids(w), enc["offset_mapping"][w]):
                if word is None or end <= begin:
                    continue
                span = spans.setdefault(word, [begin, end])
                span[0], span[1] = min(span[0], begin), max(span[1], end)
        candidates = [
            (word, w, centrality, probs[w][position])
            for w, pieces in zip(windows, first_pieces(enc, windows))
            for position, word, centrality in pieces
        ]
        chosen = resolve_overlaps(candidates)
        words = sorted(word for word in chosen if word in spans)
        word_probs = np.array([chosen[word] for word in words]).reshape(
            len(words), len(self.labels)
        )
        ids = constrained_tags(word_probs, self.labels)
        chance = [float(p[i]) for p, i in zip(word_probs, ids)]
        entities = []
        for a, b, kind in bio_spans([self.labels[i] for i in ids]):
            start, end = spans[words[a]][0], spans[words[b - 1]][1]
            score = float(np.mean(chance[a:b]))
            entities.append(Entity(start, end, kind, text[start:end], round(score, 4)))
        return entities
