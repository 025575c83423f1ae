"""Relations between entities: the pair classifier, its measures and its trainer."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import torch

from qa.annotate.relations import (
    PairInput,
    RelationClassifier,
    encode_pairs,
    mark_pair,
    pair_family,
)
from qa.cli import build_parser
from qa.corpus.relations.examples import LABELS, NONE
from qa.corpus.relations.pubtator import examples_from_cid, read_pubtator
from qa.errors import ModelLoadError
from qa.evaluate.relations import cid_document_scores, evaluate_relations, relation_scores
from qa.modelhub import locate
from qa.train.relations import rare_label_weights, train_relations
from qa.types import Entity

from .conftest import save_tiny_bert, tiny_run
from .relation_samples import BIORED, DDI, GAD_TRAIN, PUBTATOR, chemprot_file, mention, write

# --- the classifier -----------------------------------------------------------------------


def save_tiny_relation_model(folder: Path, biases: dict[str, float] | None = None) -> Path:
    """A tiny BERT with the relation labels; with ``biases`` its head ignores the input."""
    from transformers import BertForSequenceClassification

    def build(config):
        model = BertForSequenceClassification(config)
        if biases is not None:
            with torch.no_grad():
                model.classifier.weight.zero_()
                model.classifier.bias.copy_(torch.tensor([biases.get(x, 0.0) for x in LABELS]))
        return model

    return save_tiny_bert(folder, 0, build, labels=LABELS)


@pytest.fixture(scope="session")
def always_induces(tmp_path_factory) -> Path:
    """Says 'induces' (or, outside that family, the family's first relation) for every pair."""
    biases = {"chemical-disease:induces": 5.0, "gene-disease:association": 9.0, NONE: 1.0}
    return save_tiny_relation_model(tmp_path_factory.mktemp("always-induces"), biases)


def test_a_relation_is_found_within_a_sentence_but_never_across_sentences(always_induces) -> None:
    text = "Cocaine caused seizures. Later, haloperidol was given and the patient had fever."
    cocaine, haloperidol = (
        mention(text, "Cocaine", "CHEMICAL"),
        mention(text, "haloperidol", "CHEMICAL"),
    )
    seizures, fever = mention(text, "seizures"), mention(text, "fever")
    classifier = RelationClassifier(str(always_induces), device="cpu")
    relations = classifier.predict(text, [fever, seizures, haloperidol, cocaine])
    assert {(r.head.text, r.tail.text) for r in relations} == {
        ("Cocaine", "seizures"),
        ("haloperidol", "fever"),
    }
    assert all(r.label == "chemical-disease:induces" for r in relations)
    assert all(text[r.head.start : r.head.end] == r.head.text for r in relations)


def test_a_pair_only_takes_labels_of_its_own_family(always_induces) -> None:
    text = "BRCA1 mutations cause breast cancer, and tamoxifen prevents it."
    brca1, cancer = mention(text, "BRCA1", "GENE"), mention(text, "breast cancer")
    tamoxifen = mention(text, "tamoxifen", "CHEMICAL")
    relations = RelationClassifier(str(always_induces), device="cpu").predict(
        text, [brca1, cancer, tamoxifen]
    )
    found = {(r.head.text, r.tail.text): r.label for r in relations}
    # The gene-disease bias is the largest, yet the chemical-disease pair cannot take it;
    # the chemical-gene pair's only choices are CPR groups and none (none wins, bias 1 > 0).
    assert found == {
        ("BRCA1", "breast cancer"): "gene-disease:association",
        ("tamoxifen", "breast cancer"): "chemical-disease:induces",
    }


def test_all_pairs_of_a_passage_go_through_the_model_in_one_batch(always_induces) -> None:
    classifier = RelationClassifier(str(always_induces), device="cpu")
    calls = []
    classifier.model.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(1), with_kwargs=True
    )
    text = "Cocaine and heroin caused seizures and stroke."
    entities = [mention(text, "Cocaine", "CHEMICAL"), mention(text, "heroin", "CHEMICAL")]
    entities += [mention(text, "seizures"), mention(text, "stroke")]
    relations = classifier.predict(text, entities)
    assert len(calls) == 1
    assert len(relations) == 4  # 4 chemical-disease pairs; the drug pair's best label is none


def test_entities_without_a_family_or_text_give_no_relations(always_induces) -> None:
    classifier = RelationClassifier(str(always_induces), device="cpu")
    assert classifier.predict("", []) == []
    text = "Mice carry Plasmodium."
    species = [mention(text, "Mice", "SPECIES"), mention(text, "Plasmodium", "SPECIES")]
    assert classifier.predict(text, species) == []


def test_markers_wrap_the_first_and_second_mention_in_text_order() -> None:
    text = "Tamoxifen blocks ESR1."
    gene, chemical = mention(text, "ESR1", "GENE"), mention(text, "Tamoxifen", "CHEMICAL")
    family, head, tail = pair_family(gene, chemical)
    assert (family, head, tail) == ("chemical-gene", chemical, gene)
    marked = mark_pair(PairInput(family, text, chemical, gene))
    assert marked == "<< Tamoxifen >> blocks [[ ESR1 ]]."
    long_text = "x " * 400 + text + " y" * 400
    shifted = [Entity(e.start + 800, e.end + 800, e.label, e.text) for e in (chemical, gene)]
    cropped = mark_pair(PairInput(family, long_text, *shifted), max_chars=120)
    assert "<< Tamoxifen >> blocks [[ ESR1 ]]" in cropped and len(cropped) <= 140


def test_a_long_list_sentence_is_cropped_around_its_pair_not_cut_at_the_end(tiny_model) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    drugs = ";".join(f"drug{i}*" for i in range(200))  # ~2 characters a word piece
    text = f"Warfarin response is raised by: {drugs};aspirin;{drugs}."
    pair = PairInput("chemical-chemical", text, mention(text, "Warfarin"), mention(text, "aspirin"))
    (features,) = encode_pairs(tokenizer, [pair], max_length=64)
    decoded = tokenizer.decode(features["input_ids"])
    assert len(features["input_ids"]) <= 64
    assert "aspirin ] ]" in decoded.replace("]]", "] ]")  # the second marker survived


def test_a_folder_that_is_not_a_relation_model_is_refused_with_what_to_do(
    tmp_path, tiny_model
) -> None:
    with pytest.raises(ModelLoadError, match="no config.json"):
        RelationClassifier(str(tmp_path), device="cpu")
    with pytest.raises(ModelLoadError, match="sequence-classification head.*qa train relations"):
        RelationClassifier(str(tiny_model), device="cpu")
    from transformers import BertForSequenceClassification

    plain = save_tiny_bert(tmp_path / "binary", 0, BertForSequenceClassification)
    with pytest.raises(ModelLoadError, match="no 'none' label"):
        RelationClassifier(str(plain), device="cpu")


# --- measures -----------------------------------------------------------------------------


def test_micro_f1_leaves_none_out_and_counts_confusions_on_both_sides() -> None:
    e, m, n = "chemical-chemical:effect", "chemical-chemical:mechanism", NONE
    gold = [e, e, m, n, n, m]
    pred = [e, m, m, e, n, n]
    scores = relation_scores(gold, pred)
    # effect: tp 1, fp 1 (gold none), fn 1 (called mechanism)
    assert scores["per_type"][e] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    # mechanism: tp 1, fp 1 (gold effect), fn 1 (called none)
    assert scores["per_type"][m] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert scores["micro"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 4}
    assert NONE not in scores["per_type"]
    assert relation_scores([n, n], [n, n])["micro"]["f1"] == 0.0


def test_document_level_cid_counts_cross_sentence_relations_as_misses(tmp_path) -> None:
    documents = read_pubtator(write(tmp_path / "cdr.PubTator.txt", PUBTATOR))
    examples = examples_from_cid(documents)
    gold = {("354896", c, d) for c, d in documents[0].relations}
    perfect = [e.label for e in examples]
    scores = cid_document_scores(examples, perfect, gold)
    # Both within-sentence relations found; lidocaine -> seizures cannot be: recall 2/3.
    assert scores == {"precision": 1.0, "recall": 0.6667, "f1": 0.8, "support": 3}


# --- training and evaluation end to end ---------------------------------------------------


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-rel-base"), 3)


def small_corpora(folder: Path) -> list[Path]:
    return [
        write(folder / "cdr.PubTator.txt", PUBTATOR),
        chemprot_file(folder),
        write(folder / "ddi" / "d1.xml", DDI).parent,
        write(folder / "GAD" / "1" / "train.tsv", GAD_TRAIN),
    ]


def test_training_lowers_the_loss_and_the_overlay_reloads_with_its_labels(
    tmp_path, tiny_base
) -> None:
    files = small_corpora(tmp_path / "data")
    out = tmp_path / "relations-model"
    run = tiny_run(
        files, files[:1], out, tiny_base, "qa train relations (test)", epochs=12, max_steps=36
    )
    result = train_relations(run)
    assert result["last_loss"] < result["first_loss"]
    assert result["examples_per_corpus"] == {
        "bc5cdr-cid": 2,
        "chemprot": 5,
        "ddi-2013": 2,
        "gad": 2,
    }
    # 11 pairs in batches of 4: 3 steps an epoch, so 36 steps are all 12 epochs.
    assert len(result["history"]) == 12 and "bc5cdr-cid" in result["history"][0]["dev_f1"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "qa train relations (test)" in card and "non-commercial" in card
    assert locate(str(out)).overlay_base == str(tiny_base)
    info = json.loads((out / "qa_overlay.json").read_text(encoding="utf-8"))
    assert info["kind"] == "relations"
    from safetensors.torch import load_file

    assert not any("word_embeddings" in k for k in load_file(str(out / "overlay.safetensors")))

    classifier = RelationClassifier(str(out), device="cpu")
    assert classifier.labels == LABELS
    assert classifier.max_length == 128  # the trained length, from the model's config
    info["config"].pop("qa_max_seq_length")  # an overlay saved before the config held it
    (out / "qa_overlay.json").write_text(json.dumps({**info, "max_seq_length": 96}), "utf-8")
    assert RelationClassifier(str(out), device="cpu").max_length == 96
    evaluation = evaluate_relations(classifier, files)
    assert set(evaluation["corpora"]) == {"bc5cdr-cid", "chemprot", "ddi-2013", "gad"}
    assert "document_level" in evaluation["corpora"]["bc5cdr-cid"]
    assert evaluation["all"]["pairs"] == 11


def test_biored_trains_its_unrelated_pairs_only_and_a_negative_cap_keeps_them(
    tmp_path, tiny_base
) -> None:
    files = [write(tmp_path / "BioRED_Train.PubTator", BIORED), *small_corpora(tmp_path)[:1]]
    run = tiny_run(files, [], tmp_path / "biored-model", tiny_base, max_steps=1)
    result = train_relations(run, negative_ratio=1.0)
    # BioRED's related pairs carry no label of the model; its three unrelated ones stay
    # whole under the cap, which has no positives of theirs to count from.
    assert result["examples_per_corpus"] == {
        "bc5cdr-cid": 2,
        "biored-chemical-gene": 1,
        "biored-gene-disease": 2,
    }


def test_the_eval_command_prints_json_scores(tmp_path, always_induces, capsys) -> None:
    parser = build_parser()
    cdr = write(tmp_path / "cdr.PubTator.txt", PUBTATOR)
    args = parser.parse_args(
        ["eval", "relations", "--model", str(always_induces), "--data", str(cdr), "--json"]
    )
    assert args.func(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["corpora"]["bc5cdr-cid"]["micro"]["f1"] == 1.0
    train = parser.parse_args(
        ["train", "relations", "--base", "b", "--corpora", "x", "-o", "out", "--max-steps", "5"]
    )
    assert (train.max_steps, train.epochs, train.dev) == (5, 3, [])


def test_training_only_the_top_layer_stores_only_that_layer_and_the_head(
    tmp_path, tiny_base
) -> None:
    from safetensors.torch import load_file

    files = small_corpora(tmp_path / "data")
    out = tmp_path / "top-layer"
    # 11 pairs in batches of 4: 3 steps are the first epoch.
    result = train_relations(tiny_run(files, [], out, tiny_base, max_steps=3), trainable_layers=1)
    assert result["trainable_layers"] == 1
    stored = set(load_file(str(out / "overlay.safetensors")))
    assert stored and all(".layer.0." not in k and "embeddings" not in k for k in stored)
    assert any(".layer.1." in k for k in stored) and any("classifier" in k for k in stored)
    # The layers left out come from the base when it loads, so it still classifies.
    classifier = RelationClassifier(str(out), device="cpu")
    text = "Cocaine caused seizures."
    classifier.predict(text, [mention(text, "Cocaine", "CHEMICAL"), mention(text, "seizures")])


def test_relation_labels_rarer_than_the_median_weigh_more_and_none_never_does() -> None:
    counts = Counter(
        {
            NONE: 5000,
            "chemical-chemical:int": 100,
            "chemical-chemical:advise": 400,
            "chemical-chemical:effect": 900,
        }
    )
    weights = dict(zip(LABELS, rare_label_weights(counts).tolist()))
    assert weights["chemical-chemical:int"] == pytest.approx(2.0)  # sqrt(400 / 100)
    assert weights["chemical-chemical:advise"] == weights["chemical-chemical:effect"] == 1.0
    assert weights[NONE] == 1.0
    assert weights["chemical-gene:CPR:4"] == 1.0  # unseen: nothing to weigh


def test_training_with_rare_labels_weighed_records_the_weights_in_its_card(
    tmp_path, tiny_base
) -> None:
    files = small_corpora(tmp_path / "data")
    out = tmp_path / "weighed"
    # BC5CDR and ChemProt read twice: DDI's effect and GAD's association (1 pair each) fall
    # below the median relation label (2 pairs).
    run = tiny_run([*files, *files[:2]], [], out, tiny_base, max_steps=2)
    result = train_relations(run, weigh_rare_labels=True)
    assert result["label_weights"] == {
        "chemical-chemical:effect": pytest.approx(2**0.5, abs=1e-3),
        "gene-disease:association": pytest.approx(2**0.5, abs=1e-3),
    }
    card = (out / "README.md").read_text()
    assert "rare labels weighed `chemical-chemical:effect` 1.414" in card
