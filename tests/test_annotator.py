"""Annotations on the answer passages: entities, relations, the cache, and the answer marked."""

from __future__ import annotations

import pytest

from qa.errors import QAError
from qa.types import Passage

from .test_ner import LEXICON, save_tiny_tagger
from .test_reader import Oracle
from .test_relations import save_tiny_relation_model

RETT = "Rett syndrome is caused by mutations in MECP2, a gene on the X chromosome."


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from transformers import BertForQuestionAnswering

    from .conftest import save_tiny_bert

    root = tmp_path_factory.mktemp("annotate")
    return {
        "ner": save_tiny_tagger(root / "ner", lexicon=LEXICON),
        "relations": save_tiny_relation_model(
            root / "rel", {"gene-disease:association": 9.0, "none": 1.0}
        ),
        "reader": save_tiny_bert(root / "reader", 0, BertForQuestionAnswering),
        "embedder": save_tiny_bert(root / "embedder", 1),
    }


def test_annotate_finds_entities_and_a_relation_within_the_sentence(models) -> None:
    from qa.annotate.annotator import Annotator

    annotator = Annotator(str(models["ner"]), str(models["relations"]), device="cpu")
    found = annotator.annotate(RETT)
    assert {(e.text, e.label) for e in found.entities} >= {
        ("Rett syndrome", "DISEASE"),
        ("MECP2", "GENE"),
    }
    for e in found.entities:
        assert RETT[e.start : e.end] == e.text
    assert [(r.head.text, r.tail.text, r.label) for r in found.relations] == [
        ("Rett syndrome", "MECP2", "gene-disease:association")
    ] or [(r.tail.text, r.head.text) for r in found.relations] == [("Rett syndrome", "MECP2")]


def test_entities_in_different_windows_of_a_long_passage_get_no_invented_relation(models) -> None:
    from qa.annotate.annotator import Annotator

    filler = "The cohort was followed for several years without further events. " * 160
    text = "Rett syndrome was studied. " + filler + "MECP2 was sequenced. " + RETT
    assert len(text) > 10_000
    annotator = Annotator(str(models["ner"]), str(models["relations"]), device="cpu")
    found = annotator.annotate(text)
    genes = [e for e in found.entities if e.text == "MECP2"]
    diseases = [e for e in found.entities if e.text == "Rett syndrome"]
    assert len(genes) == 2 and len(diseases) == 2  # both windows were tagged
    for e in found.entities:
        assert text[e.start : e.end] == e.text
    # The model relates every gene-disease pair it is shown, so any pair across sentences
    # (and across windows) would appear: only the pair of the last sentence does.
    last = text.rindex(RETT)
    assert len(found.relations) == 1
    (relation,) = found.relations
    assert min(relation.head.start, relation.tail.start) >= last


def test_a_passage_is_tagged_once_then_served_from_the_cache(models, monkeypatch) -> None:
    from qa.annotate.annotator import Annotator

    annotator = Annotator(str(models["ner"]), device="cpu")
    calls = []
    tag = annotator.tagger.tag
    monkeypatch.setattr(
        annotator.tagger, "tag", lambda texts: calls.append(len(texts)) or tag(texts)
    )
    passages = [Passage("a", RETT), Passage("b", "Aspirin was given.")]
    first = annotator.annotate_passages(passages)
    again = annotator.annotate_passages(passages[:1])
    assert calls == [2]  # the second call tagged nothing
    assert again["a"] == first["a"]
    # A passage id whose text changed (an index rebuilt with new text) is tagged again.
    annotator.annotate_passages([Passage("a", "Crohn’s disease.")])
    assert calls == [2, 1]


def test_qa_marks_the_entity_inside_the_answer_span(models) -> None:
    from qa.config import load_profile, profile_from_dict
    from qa.pipeline import QA

    data = load_profile("embedded").to_dict()
    data["embedder"]["model"] = str(models["embedder"])
    data["reader"] = {"model": str(models["reader"])}
    data["annotate"] = {"ner_model": str(models["ner"]), "passages": 1}
    qa = QA(None, profile_from_dict(data), device="cpu")
    ids = qa.components.reader.tokenizer("MECP2", add_special_tokens=False)["input_ids"]
    qa.components.reader.model = Oracle(ids[0], ids[-1])
    passages = [Passage("a", RETT, pmid="1"), Passage("b", "Aspirin inhibits COX.", pmid="2")]
    result = qa.answer("Which gene?", passages, qtype="factoid")
    assert result.answers[0].text == "MECP2"
    assert [(e.text, e.label) for e in result.answers[0].entities] == [("MECP2", "GENE")]
    assert list(result.annotations) == ["a"]  # only the passage behind the top answer(s)
    assert "annotate_ms" in result.timings
    assert result.to_dict()["annotations"]["a"]["entities"]
    plain = qa.answer("Which gene?", passages, qtype="factoid", annotate=False)
    assert plain.annotations == {} and "annotate_ms" not in plain.timings
    with pytest.raises(QAError, match="Nothing to annotate"):
        qa.annotate("  ")
    assert qa.annotate(RETT).entities


def test_qa_annotate_prints_entities_and_relations_of_a_text_or_a_file(
    models, tmp_path, capsys
) -> None:
    import json

    from qa.cli import main

    profile = tmp_path / "annotate.toml"
    profile.write_text(
        f'name = "annotate"\n[embedder]\nmodel = "{models["embedder"]}"\n'
        f'[annotate]\nner_model = "{models["ner"]}"\nrelations_model = "{models["relations"]}"\n',
        encoding="utf-8",
    )
    assert main(["annotate", RETT, "--profile", str(profile), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [(e["text"], e["label"]) for e in found["entities"]] == [
        ("Rett syndrome", "DISEASE"),
        ("MECP2", "GENE"),
    ]
    for e in found["entities"]:
        assert RETT[e["start"] : e["end"]] == e["text"]
    assert [(r["head"]["text"], r["label"], r["tail"]["text"]) for r in found["relations"]] == [
        ("MECP2", "gene-disease:association", "Rett syndrome")  # head and tail by family
    ]
    text_file = tmp_path / "passage.txt"
    text_file.write_text(RETT, encoding="utf-8")
    assert main(["annotate", "--file", str(text_file), "--profile", str(profile)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 entities, 1 relations")
    assert "MECP2 (GENE) is associated with Rett syndrome (DISEASE)" in out
    assert "gene-disease:association" not in out  # the label in words, not the raw label
    # Bad input: both or neither of text and --file, a missing file, a file that is not text.
    assert main(["annotate", "--profile", str(profile)]) == 2
    assert "Give either a text" in capsys.readouterr().err
    assert main(["annotate", "--file", str(tmp_path / "none.txt"), "--profile", str(profile)]) == 2
    assert "No file" in capsys.readouterr().err
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    assert main(["annotate", "--file", str(tmp_path / "bin.txt"), "--profile", str(profile)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err
