"""Fine-tuning the sentence encoder on sentence-transformers' trainer: batches hold no question or
snippet twice, the loss goes down, and the overlay reloads faithfully."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from qa.modelhub import locate
from qa.retrieve.encoder import SentenceEncoder
from qa.train.embedder import Pair, pair_datasets, train_embedder

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
    from sentence_transformers.base.sampler import NoDuplicatesBatchSampler

    # 13 questions over 50 snippets: many pairs share a question or a snippet.
    pairs = [
        Pair(f"q{i % 13}", f"question {i % 13}", f"p{i % 50}", f"snippet {i % 50}", f"neg {i}")
        for i in range(200)
    ]
    dataset = pair_datasets(pairs)
    assert dataset.column_names == ["anchor", "positive", "negative"]
    sampler = NoDuplicatesBatchSampler(dataset, batch_size=8, drop_last=False, seed=0)
    batches = list(sampler)
    for batch in batches:
        rows = [dataset[i] for i in batch]
        assert len({r["anchor"] for r in rows}) == len(rows)
        assert len({r["positive"] for r in rows}) == len(rows)
    assert sorted(i for b in batches for i in b) == list(range(200))


def test_pairs_without_a_hard_negative_train_as_pairs() -> None:
    pairs = [Pair("q1", "a?", "p1", "one", "neg"), Pair("q2", "b?", "p2", "two")]
    parts = pair_datasets(pairs)
    assert parts["triplets"].column_names == ["anchor", "positive", "negative"]
    assert parts["pairs"].column_names == ["anchor", "positive"]
    assert pair_datasets(pairs[1:]).num_rows == 1


def test_embed_keeps_gradients_so_a_few_contrastive_steps_lower_the_loss(tiny_model) -> None:
    torch.manual_seed(0)
    encoder = SentenceEncoder(str(tiny_model), device="cpu")
    encoder.model.train()
    optimizer = torch.optim.AdamW(encoder.model.parameters(), lr=1e-3)
    questions = [q for _, q, _ in QUESTIONS]
    passages = [texts[0] for _, _, texts in QUESTIONS]
    target = torch.arange(len(questions))
    losses = []
    for _ in range(15):
        scores = encoder.embed(questions) @ encoder.embed(passages).T * 20.0
        loss = torch.nn.functional.cross_entropy(scores, target)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.5


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model):
    """A tiny run on sentence-transformers' trainer: 10 steps of batch 4 over 6 pairs."""
    tmp_path = tmp_path_factory.mktemp("embedder-run")
    train = golden_file(tmp_path / "train_golden.json")
    dev = golden_file(tmp_path / "dev_golden.json", QUESTIONS[:3])
    out = tmp_path / "embedder"
    run = tiny_run(
        [train], [dev], out, tiny_model, "qa train embedder …", epochs=8, max_steps=10, lr=1e-3
    )
    return out, train_embedder(run, hard_negatives=True)


def test_training_on_sentence_transformers_lowers_the_loss_and_measures_dev(trained) -> None:
    out, result = trained
    assert result["steps"] == 10
    assert result["loss"] == "MultipleNegativesRankingLoss"
    assert result["last_loss"] < result["first_loss"]
    assert set(result["dev_tuned"]) >= {"hit@10", "mrr@10", "recall@100"}
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "qa train embedder" in card and "Base model" in card
    assert "MultipleNegativesRankingLoss" in card
    from qa.modelhub.catalog import headline

    assert headline(card).startswith("hit@10 ")  # what `qa models list` shows


def test_trained_overlay_holds_only_changed_weights_and_loads_over_its_base(
    trained, tiny_model
) -> None:
    out, _ = trained
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
    assert tuned.pooling == "mean"


def test_batches_above_the_mini_batch_train_through_the_gradient_cached_loss(
    tmp_path, tiny_model
) -> None:
    train = golden_file(tmp_path / "train_golden.json")
    out = tmp_path / "embedder"
    run = tiny_run([train], [train], out, tiny_model, epochs=1, max_steps=2, lr=1e-3)
    result = train_embedder(run, hard_negatives=False, mini_batch_size=2)
    assert result["loss"] == "CachedMultipleNegativesRankingLoss"
    assert result["steps"] == 2 and len(result["history"]) == 1
    assert "no hard negatives" in (out / "README.md").read_text(encoding="utf-8")


def test_qa_train_embedder_prints_only_its_json_on_stdout(tmp_path, tiny_model, capsys) -> None:
    """The Trainer's own progress callback writes log lines to stdout; ours keeps it for JSON."""
    from qa.cli import main

    train = golden_file(tmp_path / "train_golden.json")
    out = tmp_path / "embedder"
    argv = ["train", "embedder", "--train", str(train), "--dev", str(train), "-o", str(out)]
    options = ["--base", str(tiny_model), "--max-steps", "2", "--batch-size", "4"]
    assert main([*argv, *options, "--device", "cpu", "--no-hard-negatives"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["steps"] == 2
    assert "Training embedder" in captured.err
