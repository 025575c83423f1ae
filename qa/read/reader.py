"""Extractive reading: the best answer spans of a question over its retrieved passages.

Works with any Hugging Face ``AutoModelForQuestionAnswering`` checkpoint (local folder, hub id
or a shipped overlay). Passages longer than the model's window are read in overlapping windows
(``doc_stride``), so an answer cut by one window is whole in the next. Span scores are raw
start + end logits, never soft-maxed per passage, so they compare across passages. Character
offsets come from the tokenizer's offset mapping: ``passage.text[start:end] == answer.text``.
Candidates inside one sentence that name the same thing (:mod:`qa.read.clean`) are merged into
one answer whose score is the log-sum-exp of its occurrences, and which keeps every supporting
passage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from qa.batching import forward_batches, inference_batch_size
from qa.modelhub.component import ModelComponent
from qa.read.clean import (
    answer_key,
    balanced,
    split_items,
    synonym_keys,
    within_sentences,
)
from qa.types import Answer, Hit, Passage


@dataclass(frozen=True)
class Span:
    """One candidate span in one passage."""

    passage_index: int
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Reading:
    """What a reader found: its answers, and how answerable the passages make the question.

    ``answerability`` is the SQuAD 2.0 null-score margin of the best window: its best span's
    score minus its [CLS] ("no answer") score. The reader is trained to score windows without an
    answer at [CLS], so a question whose passages hold no answer gets a low margin everywhere;
    below a threshold calibrated on held-out questions, the system says so instead of answering.
    """

    answers: list[Answer]
    answerability: float


@dataclass
class _Group:
    spans: list[Span] = field(default_factory=list)


MAX_QUESTION_TOKENS = 64
MAX_SYNONYMS = 4  # other names an answer lists beside its own


def clip_question(tokenizer, question: str, max_tokens: int = MAX_QUESTION_TOKENS) -> str:
    """The question cut to ``max_tokens`` word pieces, so a passage always has room beside it.

    As in SQuAD readers (``max_query_length``); without it a long question leaves no room for
    the passage and the tokenizer refuses to truncate.
    """
    offsets = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)[
        "offset_mapping"
    ]
    if len(offsets) <= max_tokens:
        return question
    return question[: offsets[max_tokens - 1][1]]


def encode_with_question(
    tokenizer, question: str, passages: Sequence[Passage], max_length: int, **options
):
    """The (clipped) question paired with each passage, as padded tensors; only the passage is
    ever truncated. ``options`` go to the tokenizer (windows with a stride, offsets)."""
    question = clip_question(tokenizer, question)
    return tokenizer(
        [question] * len(passages),
        [p.text for p in passages],
        truncation="only_second",
        max_length=max_length,
        padding=True,
        return_tensors="pt",
        **options,
    )


def best_spans(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    context_mask: torch.Tensor,
    max_answer_length: int,
    n_best: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Top ``n_best`` (score, start token, end token) per window, over context tokens only.

    Scores every (start, end) pair at once: start + end logits, masked where either token is
    outside the context, the end precedes the start, or the span is too long.
    """
    windows, length = start_logits.shape
    scores = start_logits.unsqueeze(2) + end_logits.unsqueeze(1)  # (W, L, L)
    idx = torch.arange(length, device=scores.device)
    width = idx.unsqueeze(0) - idx.unsqueeze(1)  # end - start
    valid = (width >= 0) & (width < max_answer_length)
    valid = valid.unsqueeze(0) & context_mask.unsqueeze(2) & context_mask.unsqueeze(1)
    scores = scores.masked_fill(~valid, float("-inf"))
    top = scores.view(windows, -1).topk(min(n_best, length * length), dim=1)
    return top.values, top.indices // length, top.indices % length


class Reader(ModelComponent):
    """``read(question, hits)`` -> distinct answers, best first."""

    task, kind, needs_offsets = "question-answering", "reader", True

    def __init__(
        self,
        spec: str,
        *,
        device: str = "auto",
        max_seq_length: int = 384,
        doc_stride: int = 128,
        max_answer_length: int = 30,
        n_best: int = 20,
        batch_size: int | None = None,
        temperature: float = 1.0,
    ) -> None:
        self._settle(spec, device)
        self.max_seq_length = max_seq_length
        self.doc_stride = doc_stride
        self.max_answer_length = max_answer_length
        self.n_best = n_best
        self.temperature = temperature
        self.batch_size = inference_batch_size(self.device, batch_size)

    def spans(self, question: str, passages: Sequence[Passage]) -> tuple[list[Span], float]:
        """Every candidate span of every window, de-duplicated across overlapping windows, and
        the answerability of the passages (see :class:`Reading`)."""
        if not passages:
            return [], float("-inf")
        features = encode_with_question(
            self.tokenizer,
            question,
            passages,
            self.max_seq_length,
            stride=self.doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        owners = features.pop("overflow_to_sample_mapping").tolist()
        offsets = features.pop("offset_mapping").tolist()
        context = torch.tensor(
            [[sid == 1 for sid in features.sequence_ids(i)] for i in range(len(owners))]
        )
        best: dict[tuple[int, int, int], float] = {}
        answerability = float("-inf")
        for lo, out in forward_batches(self.model, features, self.batch_size, self.device):
            start_logits, end_logits = out.start_logits.float().cpu(), out.end_logits.float().cpu()
            top = best_spans(
                start_logits,
                end_logits,
                context[lo : lo + self.batch_size],
                self.max_answer_length,
                self.n_best,
            )
            # [CLS] is token 0: its start + end score is the window's "no answer" (SQuAD 2.0).
            margins = top[0][:, 0] - (start_logits[:, 0] + end_logits[:, 0])
            answerability = max(answerability, float(margins.max()))
            windows = zip(owners[lo:], offsets[lo:], *(t.tolist() for t in top))
            for owner, window_offsets, *candidates in windows:
                for score, s, e in zip(*candidates):
                    key = (owner, window_offsets[s][0], window_offsets[e][1])
                    if score > float("-inf") and key[2] > key[1] and score > best.get(key, -1e9):
                        best[key] = score
        return [Span(p, s, e, score) for (p, s, e), score in best.items()], answerability

    def read(
        self,
        question: str,
        hits: Sequence[Hit] | Sequence[Passage],
        top_k: int = 5,
        rank_prior: float = 0.0,
    ) -> list[Answer]:
        """Distinct answers, best first (:meth:`reading` without its answerability)."""
        return self.reading(question, hits, top_k, rank_prior).answers

    def reading(
        self,
        question: str,
        hits: Sequence[Hit] | Sequence[Passage],
        top_k: int = 5,
        rank_prior: float = 0.0,
    ) -> Reading:
        """Distinct answers, best first, and the question's answerability.

        ``rank_prior`` trusts the retriever's order: a span in the passage ranked r (from 1)
        loses ``rank_prior * ln(r)`` before spans are merged, so a likely-looking name in the
        tenth passage no longer beats the answer in the first.
        """
        passages = [h.passage if isinstance(h, Hit) else h for h in hits]
        found, answerability = self.spans(question, passages)
        spans = balanced(within_sentences(found, passages), passages)
        if rank_prior:
            spans = [
                Span(
                    s.passage_index,
                    s.start,
                    s.end,
                    s.score - rank_prior * math.log1p(s.passage_index),
                )
                for s in spans
            ]
        answers = aggregate(spans, passages, top_k, self.temperature)
        return Reading(answers, answerability)


def aggregate(
    spans: Sequence[Span], passages: Sequence[Passage], top_k: int, temperature: float = 1.0
) -> list[Answer]:
    """Merge spans that name one thing (:func:`~qa.read.clean.answer_key`, long forms under
    their abbreviation's key); score = ``T * logsumexp(scores / T)``.

    With ``T = 1`` that is the log of the summed span probabilities (as if soft-maxed over all
    spans of the question together); a larger ``T`` gives more weight to an answer found in
    several passages over one found once with a higher score (``T`` is tuned on 10B).
    """
    synonyms = synonym_keys(passages)
    groups: dict[str, _Group] = {}
    for span in spans:
        key = answer_key(passages[span.passage_index].text[span.start : span.end])
        if key:
            groups.setdefault(synonyms.get(key, key), _Group()).spans.append(span)
    answers = [merged_answer(group.spans, passages, temperature) for group in groups.values()]
    answers.sort(key=lambda a: (-a.score, a.text))
    return answers[:top_k]


def merged_answer(spans: Sequence[Span], passages: Sequence[Passage], t: float) -> Answer:
    """One answer from the spans of one group: the best span's text, the other names (a long
    form beside its abbreviation) as synonyms, every span as support."""
    ranked = sorted(spans, key=lambda s: -s.score)
    top = ranked[0].score
    score = top + t * math.log(sum(math.exp((s.score - top) / t) for s in ranked))
    best = ranked[0]
    passage = passages[best.passage_index]
    names: dict[str, str] = {}  # one per key: "MECP2 gene" is no synonym of "MECP2"
    for s in ranked:
        text = passages[s.passage_index].text[s.start : s.end]
        names.setdefault(answer_key(text), text)
    support = tuple(
        (passages[s.passage_index].id, s.start, s.end, round(s.score, 4)) for s in ranked
    )
    return Answer(
        text=passage.text[best.start : best.end],
        score=score,
        passage=passage,
        start=best.start,
        end=best.end,
        support=support,
        synonyms=tuple(names.values())[1 : MAX_SYNONYMS + 1],
    )


def select_list(
    answers: Sequence[Answer], delta: float, max_items: int, split: bool = False
) -> list[Answer]:
    """The items of a list answer: candidates whose score is within ``delta`` of the best.

    Scores are log-sum-exp span logits, so ``delta`` is a log ratio: an item is kept while its
    evidence is at least ``exp(-delta)`` times that of the best item. With ``split``, spans
    that enumerate several items are cut into them first (the same item twice is kept once).
    ``delta`` is tuned on held-out BioASQ 9B (``benchmarks/tune_reader.py``) and set in the profile.
    """
    if not answers:
        return []
    ranked = sorted(answers, key=lambda a: -a.score)
    top = ranked[0].score
    kept = [a for a in ranked if a.score >= top - delta]
    if split:
        seen: set[str] = set()
        items = []
        for a in kept:
            for item in split_items(a):
                key = answer_key(item.text)
                if key not in seen:
                    seen.add(key)
                    items.append(item)
        kept = items
    return kept[:max_items]
