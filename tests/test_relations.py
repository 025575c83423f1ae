"""Relations between entities: corpus loaders, the pair classifier, its measures and trainer."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch

from qa.annotate.relation_data import (
    CHEMICAL_OR_GENE,
    LABELS,
    NONE,
    cid_coverage,
    corpus_format,
    examples_from_cid,
    read_bc5cdr_cid,
    read_chemprot,
    read_ddi,
    read_pubtator,
    read_relations,
    read_tsv,
    sentence_groups,
)
from qa.annotate.relations import (
    PairInput,
    RelationClassifier,
    encode_pairs,
    mark_pair,
    pair_family,
)
from qa.cli_relations import add_eval_relations, add_train_relations
from qa.errors import CorpusFormatError, ModelLoadError
from qa.evaluate.relations import cid_document_scores, evaluate_relations, relation_scores
from qa.modelhub import locate
from qa.train.relations import train_relations
from qa.types import Entity

from .conftest import TINY_TRAINING, save_tiny_bert

# --- samples, written as the real files are -------------------------------------------------

TITLE = "Lidocaine-induced cardiac asystole."
ABSTRACT = (
    "Intravenous lidocaine caused profound bradycardia in a man. "
    "Naloxone was given. He later developed seizures."
)
PUBTATOR = f"""354896|t|{TITLE}
354896|a|{ABSTRACT}
354896\t0\t9\tLidocaine\tChemical\tD008012
354896\t18\t34\tcardiac asystole\tDisease\tD006323
354896\t48\t57\tlidocaine\tChemical\tD008012
354896\t74\t85\tbradycardia\tDisease\tD001919
354896\t96\t104\tNaloxone\tChemical\t-1
354896\t135\t143\tseizures\tDisease\tD012640
354896\tCID\tD008012\tD006323
354896\tCID\tD008012\tD001919
354896\tCID\tD008012\tD012640

"""

CHEMPROT = [
    {"text": "<< Aspirin >> irreversibly inhibits [[ COX-1 ]] and COX-2.", "label": "INHIBITOR"},
    {"text": "<< Aspirin >> irreversibly inhibits COX-1 and [[ COX-2 ]].", "label": "INHIBITOR"},
    {"text": "Aspirin irreversibly inhibits << COX-1 >> and [[ COX-2 ]]x.", "label": "INHIBITOR"},
    {"text": "<< Dopamine >> is an [[ D2 receptor ]] agonist and L-dopa.", "label": "AGONIST"},
    {"text": "<< Dopamine >> is an D2 receptor agonist and [[ L-dopa ]].", "label": "PRODUCT-OF"},
]

DDI = """<?xml version="1.0" encoding="UTF-8"?>
<document id="DDI-DrugBank.d1">
    <sentence id="DDI-DrugBank.d1.s0" text="Warfarin with aspirin or beta blocking and calcium channel agents raises bleeding.&#xd;&#xa;">
        <entity id="DDI-DrugBank.d1.s0.e0" charOffset="0-7"
            type="drug" text="Warfarin"/>
        <entity id="DDI-DrugBank.d1.s0.e1" charOffset="14-20"
            type="brand" text="aspirin"/>
        <entity id="DDI-DrugBank.d1.s0.e2" charOffset="25-37;59-64"
            type="group" text="beta blocking agents"/>
        <pair id="DDI-DrugBank.d1.s0.p0" e1="DDI-DrugBank.d1.s0.e0"
            e2="DDI-DrugBank.d1.s0.e1" ddi="true" type="effect"/>
        <pair id="DDI-DrugBank.d1.s0.p1" e1="DDI-DrugBank.d1.s0.e0"
            e2="DDI-DrugBank.d1.s0.e2" ddi="false"/>
    </sentence>
    <sentence id="DDI-DrugBank.d1.s1" text="No interactions were seen.">
    </sentence>
</document>
"""

GAD_TRAIN = (
    "A/A genotype in @GENE$ predicts @DISEASE$ development.\t1\n"
    "No link between @DISEASE$ and the @GENE$ gene was found.\t0\n"
)
GAD_TEST = "index\tsentence\tlabel\n0\tVariants of @GENE$ raise the risk of @DISEASE$.\t1\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def chemprot_file(folder: Path, records=CHEMPROT) -> Path:
    return write(folder / "chemprot.txt", "".join(json.dumps(r) + "\n" for r in records))


def mention(text: str, words: str, label: str = "DISEASE") -> Entity:
    start = text.index(words)
    return Entity(start, start + len(words), label, words)


def assert_offsets_hold(examples) -> None:
    for e in examples:
        assert e.text[e.head.start : e.head.end] == e.head.text
        assert e.text[e.tail.start : e.tail.end] == e.tail.text


# --- loaders ------------------------------------------------------------------------------


def test_bc5cdr_cid_pairs_are_mentions_in_one_sentence_labelled_from_the_document(
    tmp_path,
) -> None:
    examples = read_bc5cdr_cid(write(tmp_path / "cdr.PubTator.txt", PUBTATOR))
    assert_offsets_hold(examples)
    pairs = {(e.head.text, e.tail.text): e.label for e in examples}
    # Title: its own sentence; lidocaine/bradycardia: sentence 2; naloxone has no MeSH id.
    assert pairs == {
        ("Lidocaine", "cardiac asystole"): "chemical-disease:induces",
        ("lidocaine", "bradycardia"): "chemical-disease:induces",
    }
    assert {e.head.label for e in examples} == {"CHEMICAL"}
    assert {e.tail.label for e in examples} == {"DISEASE"}
    assert examples[1].text == "Intravenous lidocaine caused profound bradycardia in a man."


def test_cross_sentence_cid_relations_are_counted_not_invented(tmp_path) -> None:
    documents = read_pubtator(write(tmp_path / "cdr.PubTator.txt", PUBTATOR))
    # lidocaine -> seizures is a CID relation, but the two never share a sentence.
    assert cid_coverage(documents) == {
        "documents": 1,
        "relations": 3,
        "within_sentence": 2,
        "cross_sentence": 1,
    }


def test_chemprot_markers_are_removed_and_their_mentions_become_entities(tmp_path) -> None:
    examples = read_chemprot(chemprot_file(tmp_path), negatives=False)
    assert_offsets_hold(examples)
    first = examples[0]
    assert first.text == "Aspirin irreversibly inhibits COX-1 and COX-2."
    assert (first.head.text, first.tail.text) == ("Aspirin", "COX-1")
    assert first.head.label == first.tail.label == CHEMICAL_OR_GENE  # positional markers
    assert [e.label for e in examples] == [
        "chemical-gene:CPR:4",
        "chemical-gene:CPR:4",
        "chemical-gene:CPR:4",
        "chemical-gene:CPR:5",
        "chemical-gene:CPR:9",
    ]
    assert examples[2].tail.text == "COX-2" and examples[2].text.endswith("COX-2x.")


def test_chemprot_negatives_come_only_from_opposite_sides_of_related_mentions(tmp_path) -> None:
    records = [
        {"text": "<< A >> binds [[ G1 ]] but not G2 or B.", "label": "INHIBITOR"},
        {"text": "A binds G1 but not << G2 >> or [[ B ]].", "label": "AGONIST"},
    ]
    examples = read_chemprot(chemprot_file(tmp_path, records))
    negatives = [(e.head.text, e.tail.text) for e in examples if e.label == NONE]
    # Graph A-G1, G2-B: two components; no pair across components is assumed unrelated.
    assert negatives == []
    records.append({"text": "<< A >> binds G1 but not [[ G2 ]] or B.", "label": "ANTAGONIST"})
    examples = read_chemprot(chemprot_file(tmp_path, records))
    negatives = {(e.head.text, e.tail.text) for e in examples if e.label == NONE}
    # Now A-G1, A-G2, G2-B: sides {A, B} and {G1, G2}; B-G1 is unrelated.
    assert negatives == {("G1", "B")}


def test_ddi_offsets_are_inclusive_and_discontinuous_mentions_span_their_parts(tmp_path) -> None:
    examples = read_ddi(write(tmp_path / "ddi" / "d1.xml", DDI).parent)
    assert_offsets_hold(examples)
    assert [(e.head.text, e.tail.text, e.label) for e in examples] == [
        ("Warfarin", "aspirin", "chemical-chemical:effect"),
        ("Warfarin", "beta blocking and calcium channel agents", NONE),
    ]
    assert examples[0].text.endswith("bleeding.")  # the trailing CR LF is dropped
    assert examples[0].source.endswith("d1.xml:10")  # the line of its <pair>


def test_anonymised_tsv_placeholders_are_the_entity_spans(tmp_path) -> None:
    train = read_tsv(write(tmp_path / "GAD" / "1" / "train.tsv", GAD_TRAIN))
    test = read_tsv(write(tmp_path / "GAD" / "1" / "test.tsv", GAD_TEST))
    assert_offsets_hold(train + test)
    assert [(e.head.text, e.tail.text, e.label) for e in train] == [
        ("@GENE$", "@DISEASE$", "gene-disease:association"),
        ("@GENE$", "@DISEASE$", NONE),  # the head is the gene even when it comes second
    ]
    assert len(test) == 1 and test[0].corpus == "gad"


def test_blurb_style_chemprot_and_ddi_tsvs_load_too(tmp_path) -> None:
    text = (
        "@CHEMICAL$ blocks @GENE$ strongly.\tCPR:6\n"
        "@DRUG$ raises levels of @DRUG$.\tDDI-mechanism\n"
        "@CHEMICAL$ and @GENE$ were measured.\tfalse\n"
    )
    examples = read_tsv(write(tmp_path / "blurb.tsv", text))
    assert [(e.family, e.label) for e in examples] == [
        ("chemical-gene", "chemical-gene:CPR:6"),
        ("chemical-chemical", "chemical-chemical:mechanism"),
        ("chemical-gene", NONE),
    ]


def test_each_format_is_told_from_its_file(tmp_path) -> None:
    assert corpus_format(write(tmp_path / "CDR_TestSet.PubTator.txt", PUBTATOR)) == "pubtator"
    assert corpus_format(write(tmp_path / "cdr.txt", PUBTATOR)) == "pubtator"
    assert corpus_format(chemprot_file(tmp_path)) == "chemprot"
    assert corpus_format(write(tmp_path / "ddi" / "a.xml", DDI).parent) == "ddi"
    assert corpus_format(write(tmp_path / "gad.tsv", GAD_TRAIN)) == "tsv"
    with pytest.raises(CorpusFormatError, match="Cannot tell the format"):
        corpus_format(write(tmp_path / "notes.txt", "just some notes\n"))


@pytest.mark.parametrize(
    ("name", "content", "line", "what"),
    [
        (
            "cdr.PubTator.txt",
            PUBTATOR.replace("48\t57\tlidocaine", "48\t57\tlidokaine"),
            5,
            "does not match the text",
        ),
        ("cdr.PubTator.txt", PUBTATOR.replace("\t-1\n", "\n"), 7, "5 tab-separated fields"),
        ("chemprot.txt", json.dumps(CHEMPROT[0]) + "\n{not json\n", 2, "JSON object"),
        (
            "chemprot.txt",
            json.dumps(CHEMPROT[0]) + "\n" + json.dumps({"text": "no markers", "label": "X"}),
            2,
            "mention marker",
        ),
        ("chemprot.txt", json.dumps({**CHEMPROT[0], "label": "FRIEND"}), 1, "unknown ChemProt"),
        ("d.xml", DDI.replace('charOffset="14-20"', 'charOffset="14-21"'), 6, "does not match"),
        ("d.xml", DDI.replace('ddi="true" type="effect"', 'ddi="true"'), 10, "expected ddi"),
        (
            "d.xml",
            DDI.replace("</sentence>\n    <sentence", "<sentence", 1),
            16,
            "not well-formed XML",
        ),
        ("train.tsv", GAD_TRAIN + "Only @GENE$ here.\t1\n", 3, "1 entity placeholders"),
        ("train.tsv", GAD_TRAIN + "@GENE$ and @DISEASE$\tmaybe\n", 3, "does not fit"),
        ("test.tsv", GAD_TEST + "1\t@GENE$\t@DISEASE$\t1\n", 3, "4 tab-separated fields"),
    ],
)
def test_loaders_refuse_malformed_lines_naming_file_and_line(
    tmp_path, name, content, line, what
) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(CorpusFormatError) as error:
        read_relations([path])
    message = str(error.value)
    assert f"{path}, line {line}:" in message
    assert what in message


def test_sentence_groups_never_cut_an_entity_in_two() -> None:
    text = "Treated with vit. C. Patients improved. Then fever."
    # The splitter ends sentences after "vit." and after "C."; the mention spans both cuts.
    groups = sentence_groups(text, [mention(text, "vit. C.", "CHEMICAL"), mention(text, "fever")])
    assert [(text[s:e], [m.text for m in found]) for s, e, found in groups] == [
        ("Treated with vit. C.", ["vit. C."]),
        ("Patients improved.", []),
        ("Then fever.", ["fever"]),
    ]


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
    result = train_relations(
        files,
        files[:1],
        out,
        base=str(tiny_base),
        epochs=12,
        max_steps=36,
        command="qa train relations (test)",
        **TINY_TRAINING,
    )
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
    evaluation = evaluate_relations(classifier, files)
    assert set(evaluation["corpora"]) == {"bc5cdr-cid", "chemprot", "ddi-2013", "gad"}
    assert "document_level" in evaluation["corpora"]["bc5cdr-cid"]
    assert evaluation["all"]["pairs"] == 11


def test_the_eval_command_prints_json_scores(tmp_path, always_induces, capsys) -> None:
    parser = argparse.ArgumentParser(prog="qa")
    commands = parser.add_subparsers(dest="command", required=True)
    add_train_relations(commands.add_parser("train").add_subparsers(dest="what"))
    add_eval_relations(commands.add_parser("eval").add_subparsers(dest="what"))
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


# --- the real corpora ---------------------------------------------------------------------


@pytest.mark.integration
def test_the_shared_relation_corpora_load_with_offsets_that_hold(shared_data) -> None:
    rel = shared_data / "relations"
    cdr = shared_data / "ner" / "cryptoradon__biomedRelExt"
    cdr_test = cdr / "CDR_Data__CDR.Corpus.v010516__CDR_TestSet.PubTator.txt"
    chemprot = rel / "allenai__scibert" / "data__text_classification__chemprot__test.txt"
    ddi = (
        rel
        / "yardstick17__DDIExtraction"
        / "dataset"
        / "DDICorpus"
        / "Test"
        / "test_for_ddi_extraction_task"
    )
    gad = rel / "BioMedBERT__biomedbert" / "datasets__RE__GAD__1__test.tsv"
    euadr = rel / "BioMedBERT__biomedbert" / "datasets__RE__euadr__1__train.tsv"
    for path in (cdr_test, chemprot, ddi, gad, euadr):
        if not path.exists():
            pytest.fail(f"{path} is missing from the shared data")
    examples = read_relations([cdr_test, chemprot, ddi, gad, euadr])
    assert_offsets_hold(examples)
    by_corpus = {}
    for e in examples:
        by_corpus.setdefault(e.corpus, []).append(e)
    assert set(by_corpus) == {"bc5cdr-cid", "chemprot", "ddi-2013", "gad", "eu-adr"}
    # The CDR test set has 1066 CID relations, about 30% of them across sentences.
    coverage = cid_coverage(read_pubtator(cdr_test))
    assert coverage["relations"] == 1066
    assert 0.2 < coverage["cross_sentence"] / coverage["relations"] < 0.4
    # SciBERT's ChemProt test: 3469 positive pairs, all in the five evaluated groups.
    positives = [e for e in by_corpus["chemprot"] if e.label != NONE]
    assert len(positives) == 3469
    assert {e.label.split(":", 1)[1] for e in positives} == {
        "CPR:3",
        "CPR:4",
        "CPR:5",
        "CPR:6",
        "CPR:9",
    }
    assert len([e for e in by_corpus["ddi-2013"] if e.label != NONE]) == 777
    assert len(by_corpus["gad"]) == 534
    assert len(by_corpus["eu-adr"]) == 318
    assert {e.label for e in examples} <= set(LABELS)


def test_training_only_the_top_layer_stores_only_that_layer_and_the_head(
    tmp_path, tiny_base
) -> None:
    from safetensors.torch import load_file

    files = small_corpora(tmp_path / "data")
    out = tmp_path / "top-layer"
    result = train_relations(
        files, [], out, base=str(tiny_base), max_steps=3, trainable_layers=1, **TINY_TRAINING
    )
    assert result["trainable_layers"] == 1
    stored = set(load_file(str(out / "overlay.safetensors")))
    assert stored and all(".layer.0." not in k and "embeddings" not in k for k in stored)
    assert any(".layer.1." in k for k in stored) and any("classifier" in k for k in stored)
    # The layers left out come from the base when it loads, so it still classifies.
    classifier = RelationClassifier(str(out), device="cpu")
    text = "Cocaine caused seizures."
    classifier.predict(text, [mention(text, "Cocaine", "CHEMICAL"), mention(text, "seizures")])
