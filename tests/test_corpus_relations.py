"""Relation corpora: each format's reader, the pairs it makes and the errors it names."""

from __future__ import annotations

import json

import pytest

from qa.corpus.relations import corpus_format, read_relations
from qa.corpus.relations.chemprot import read_chemprot
from qa.corpus.relations.ddi import read_ddi
from qa.corpus.relations.examples import CHEMICAL_OR_GENE, LABELS, NONE, sentence_groups
from qa.corpus.relations.pubtator import cid_coverage, read_bc5cdr_cid, read_pubtator
from qa.corpus.relations.tsv import read_tsv
from qa.errors import CorpusFormatError

from .conftest import missing_data
from .relation_samples import (
    BIORED,
    CHEMPROT,
    DDI,
    GAD_TEST,
    GAD_TRAIN,
    PUBTATOR,
    assert_offsets_hold,
    chemprot_file,
    mention,
    write,
)


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


def test_biored_pairs_of_every_family_are_related_when_the_abstract_relates_them(
    tmp_path,
) -> None:
    path = write(tmp_path / "BioRED_Dev.txt", BIORED)  # told by its mention types, not its name
    assert corpus_format(path) == "biored"
    examples = read_relations([path])
    assert_offsets_hold(examples)
    pairs = [(e.text.split()[0], e.head.text, e.tail.text, e.family, e.label) for e in examples]
    assert pairs == [
        ("Tamoxifen", "Tamoxifen", "CYP2D6", "chemical-gene", NONE),
        ("Tamoxifen", "Tamoxifen", "breast cancer", "chemical-disease", "related"),
        ("Tamoxifen", "CYP2D6", "breast cancer", "gene-disease", NONE),
        ("Tamoxifen", "Tamoxifen", "ESR1", "chemical-gene", "related"),  # the second sentence
        ("CYP2D6", "CYP2D6", "breast cancer", "gene-disease", NONE),
    ]
    assert {e.corpus for e in examples} == {f"biored-{e.family}" for e in examples}


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
    assert corpus_format(write(tmp_path / "BioRED.PubTator", BIORED)) == "biored"
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
            missing_data(path)  # fails under CI=true, skips on a machine without the data
    examples = read_relations([cdr_test, chemprot, ddi, gad, euadr])
    assert_offsets_hold(examples)
    by_corpus = {}
    for e in examples:
        by_corpus.setdefault(e.corpus, []).append(e)
    assert set(by_corpus) == {"bc5cdr-cid", "chemprot", "ddi-2013", "gad", "eu-adr"}
    # The CDR test set has 1066 CID relations, 317 of them (30%) across sentences.
    assert cid_coverage(read_pubtator(cdr_test)) == {
        "documents": 500,
        "relations": 1066,
        "within_sentence": 749,
        "cross_sentence": 317,
    }
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


def test_the_shared_biored_dev_split_gives_every_family_related_and_unrelated_pairs(
    shared_data,
) -> None:
    path = shared_data / "relations" / "yookontian__RE_on_BioRED" / "data__BioRED__Dev.PubTator"
    if not path.exists():
        missing_data(path)
    examples = read_relations([path])
    assert_offsets_hold(examples)
    counts: dict[str, list[int]] = {}
    for e in examples:
        counts.setdefault(e.corpus, [0, 0])[e.label == NONE] += 1
    # [related, unrelated] per family: what benchmarks/tune_relations.py judges precision on.
    assert counts == {
        "biored-chemical-chemical": [297, 365],
        "biored-chemical-disease": [471, 192],
        "biored-chemical-gene": [314, 340],
        "biored-gene-disease": [676, 237],
    }


def test_a_byte_order_mark_at_the_start_of_a_file_is_not_text(tmp_path) -> None:
    plain = chemprot_file(tmp_path / "plain")
    marked = tmp_path / "marked" / "chemprot.txt"
    marked.parent.mkdir()
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert corpus_format(marked) == "chemprot"

    def content(examples):
        return [(e.text, e.head, e.tail, e.label) for e in examples]

    assert content(read_relations([marked])) == content(read_relations([plain]))
