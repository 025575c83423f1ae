"""Fine-tuning the sentence encoder: the loss goes down and the overlay reloads faithfully."""

from __future__ import annotations

import json
import random

import numpy as np
import torch

from qa.modelhub import locate
from qa.retrieve.encoder import SentenceEncoder
from qa.train.embedder import Pair, contrastive_loss, make_batches, train_embedder

from .conftest import tiny_run

QUESTIONS = [
    (
        "q1",
        "Which gene is mutated in Rett syndrome?",
        [
            "MECP2 mutations cause Rett syndrome.",
            "Rett syndrome affects girls and is linked to MECP2.",
        ],
    ),
    ("q2", "What does imatinib inhibit?", ["Imatinib inhibits the BCR-ABL kinase."]),
    (
        "q3",
        "Is metformin used for type 2 diabetes?",
        ["Metformin is first-line therapy for type 2 diabetes."],
    ),
    ("q4", "Which enzyme does aspirin inhibit?", ["Aspirin inhibits cyclooxygenase."]),
    ("q5", "What causes malaria?", ["Malaria is caused by Plasmodium parasites."]),
]


def golden_file(path, questions=QUESTIONS):
    data = {
        "questions": [
            {
                "id": qid,
                "body": body,
                "type": "factoid",
                "documents": [f"http://www.ncbi.nlm.nih.gov/pubmed/{100 + i}"],
                "snippets": [
                    {
                        "text": t,
                        "document": f"http://www.ncbi.nlm.nih.gov/pubmed/{100 + i}",
                        "beginSection": "abstract",
                        "offsetInBeginSection": 0,
                        "offsetInEndSection": len(t),
                    }
                    for t in texts
                ],
            }
            for i, (qid, body, texts) in enumerate(questions)
        ]
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_batches_never_repeat_a_question_or_a_snippet() -> None:
    pairs = [Pair(f"q{i % 13}", "question", f"p{i % 50}", "text") for i in range(200)]
    batches = make_batches(pairs, 8, random.Random(0))
    for batch in batches:
        assert len({p.qid for p in batch}) == len(batch)
        assert len({p.passage_id for p in batch}) == len(batch)
    # A pair left alone in a batch of one has no negatives and is dropped (two, here).
    assert sum(len(b) for b in batches) == 198
    assert sum(len(b) == 8 for b in batches) == 24


def test_a_few_steps_of_contrastive_training_lower_the_loss(tiny_model) -> None:
    torch.manual_seed(0)
    encoder = SentenceEncoder(str(tiny_model), device="cpu")
    encoder.model.train()
    optimizer = torch.optim.AdamW(encoder.model.parameters(), lr=1e-3)
    questions = [q for _, q, _ in QUESTIONS]
    passages = [texts[0] for _, _, texts in QUESTIONS]
    losses = []
    for _ in range(15):
        loss = contrastive_loss(encoder.embed(questions), encoder.embed(passages), scale=20.0)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.5


def test_trained_overlay_holds_only_changed_weights_and_loads_over_its_base(
    tmp_path, tiny_model
) -> None:
    train = golden_file(tmp_path / "train_golden.json")
    dev = golden_file(tmp_path / "dev_golden.json", QUESTIONS[:3])
    out = tmp_path / "embedder"
    run = tiny_run(
        [train], [dev], out, tiny_model, "qa train embedder …", epochs=3, max_steps=3, lr=1e-3
    )
    result = train_embedder(run, hard_negatives=True)
    assert result["steps"] == 3
    assert set(result["dev_tuned"]) >= {"hit@10", "mrr@10", "recall@100"}
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "qa train embedder" in card and "Base model" in card
    location = locate(str(out))
    assert location.overlay_base == str(tiny_model)
    # The frozen word embeddings are not stored in the overlay.
    from safetensors.torch import load_file

    stored = load_file(str(out / "overlay.safetensors"))
    assert not any(name.startswith("embeddings.word_embeddings") for name in stored)
    tuned = SentenceEncoder(str(out), device="cpu")
    base = SentenceEncoder(str(tiny_model), device="cpu")
    texts = ["MECP2 and Rett syndrome", "imatinib"]
    assert not np.allclose(tuned.encode(texts), base.encode(texts), atol=1e-4)
    assert tuned.revision != base.revision
