"""Loading and saving models: every task round-trips through an overlay bit for bit, and a
model of the wrong kind or over the wrong base is refused with what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import (
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
)

from qa.errors import ModelLoadError
from qa.modelhub import locate
from qa.modelhub.load import load_model, save_overlay
from qa.train.common import word_embeddings

from .conftest import save_tiny_bert

LABELS = ["O", "B-GENE", "I-GENE"]
CASES = [  # task, kind, the checkpoint's class, its labels
    ("encoder", "sentence-encoder", BertModel, ()),
    ("question-answering", "reader", BertForQuestionAnswering, ()),
    ("token-classification", "ner", BertForTokenClassification, LABELS),
    ("sequence-classification", "yesno", BertForSequenceClassification, ["no", "yes"]),
]


def fp16_exact(model_class):
    """Builds models whose weights fp16 holds exactly, so an overlay (stored in fp16) must give
    back the very same numbers."""

    def build(config):
        model = model_class(config)
        with torch.no_grad():
            for param in model.parameters():
                param.copy_(param.half().float())
        return model

    return build


@pytest.mark.parametrize(("task", "kind", "model_class", "labels"), CASES)
def test_a_model_and_its_overlay_load_with_identical_weights(
    tmp_path: Path, task: str, kind: str, model_class, labels
) -> None:
    folder = save_tiny_bert(tmp_path / "plain", 0, fp16_exact(model_class), labels=labels)
    _, model = load_model(str(folder), task, kind="" if task == "encoder" else kind)
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():  # what training would change; the word embeddings stay frozen
        for name, param in model.named_parameters():
            if "word_embeddings" not in name:
                param.copy_((param * 0.5 + 0.25).half().float())
    tuned = {k: v.clone() for k, v in model.state_dict().items()}
    out = tmp_path / "overlay"
    save_overlay(model, out, base=str(folder), kind=kind, frozen=word_embeddings(model))

    assert locate(str(out)).overlay_base == str(folder)
    tokenizer, reloaded = load_model(str(out), task, kind=kind)
    state = reloaded.state_dict()
    assert set(state) == set(tuned)
    assert all(torch.equal(state[k], tuned[k]) for k in tuned)
    assert not torch.equal(
        state[next(k for k in tuned if "query.weight" in k)],
        expected[next(k for k in tuned if "query.weight" in k)],
    )
    if labels:
        assert [reloaded.config.id2label[i] for i in range(len(labels))] == list(labels)
    assert tokenizer("MECP2")["input_ids"][0] == tokenizer.cls_token_id


def test_an_overlay_of_another_kind_is_refused_with_what_to_do(tmp_path: Path) -> None:
    folder = save_tiny_bert(tmp_path / "qa", 0, BertForQuestionAnswering)
    _, model = load_model(str(folder), "question-answering")
    save_overlay(model, tmp_path / "reader", base=str(folder), kind="reader")
    with pytest.raises(
        ModelLoadError, match=r"is a reader overlay, not a yes/no classifier: .*qa train yesno"
    ):
        load_model(str(tmp_path / "reader"), "sequence-classification", kind="yesno")
    with pytest.raises(
        ModelLoadError, match=r"not a token-classification \(NER\) model: it has no token"
    ):
        load_model(str(folder), "token-classification", kind="ner")


def test_an_overlay_over_the_wrong_base_is_refused(tmp_path: Path) -> None:
    folder = save_tiny_bert(tmp_path / "base", 0, BertForTokenClassification, labels=LABELS)
    _, model = load_model(str(folder), "token-classification", kind="ner")
    out = tmp_path / "ner"
    save_overlay(model, out, base=str(folder), kind="ner", frozen=word_embeddings(model))
    narrower = save_tiny_bert(tmp_path / "narrow", 0, hidden=32)
    info = json.loads((out / "qa_overlay.json").read_text(encoding="utf-8"))
    (out / "qa_overlay.json").write_text(json.dumps({**info, "base": str(narrower)}))
    with pytest.raises(
        ModelLoadError, match="does not fit its base model.*restore the matching base"
    ):
        load_model(str(out), "token-classification", kind="ner")


def test_a_trainer_starts_from_any_model_with_a_head_for_its_labels(tmp_path: Path) -> None:
    encoder = save_tiny_bert(tmp_path / "encoder", 0)
    _, fresh = load_model(str(encoder), "sequence-classification", labels=["no", "yes"])
    assert fresh.config.id2label == {0: "no", 1: "yes"} and fresh.classifier.out_features == 2

    tagger = save_tiny_bert(tmp_path / "tagger", 0, BertForTokenClassification, labels=LABELS)
    _, old = load_model(str(tagger), "token-classification", kind="ner")
    wanted = ["O", "B-CHEMICAL", "I-CHEMICAL", "B-GENE", "I-GENE"]
    _, new = load_model(str(tagger), "token-classification", labels=wanted)
    assert [new.config.id2label[i] for i in range(5)] == wanted
    # Rows of the labels both share are kept (continued training); new ones start fresh.
    for label in ("O", "B-GENE", "I-GENE"):
        row_new, row_old = wanted.index(label), LABELS.index(label)
        assert torch.equal(new.classifier.weight[row_new], old.classifier.weight[row_old])


def test_components_check_the_spec_at_once_and_load_weights_on_first_use(tmp_path: Path) -> None:
    from qa.read.reader import Reader
    from qa.retrieve.encoder import SentenceEncoder
    from qa.types import Passage

    encoder = SentenceEncoder(str(save_tiny_bert(tmp_path / "encoder", 0)), device="cpu")
    assert encoder._model is None  # built from settings: the vector size needs only the config
    assert encoder.dim == 64 and len(encoder.revision) == 16 and encoder._model is None
    folder = save_tiny_bert(tmp_path / "qa", 0, BertForQuestionAnswering)
    reader = Reader(str(folder), device="cpu")
    assert reader._model is None
    answers = reader.read("Which gene?", [Passage("p", "MECP2 causes Rett syndrome.")])
    model = reader._model
    assert model is not None and answers
    reader.warm_up()
    assert reader.model is model  # loaded once
    with pytest.raises(ModelLoadError, match="not a question-answering model"):
        Reader(str(tmp_path / "encoder"), device="cpu")  # refused before any weights load
