"""The expected answer type: spans typed by number rules and NER, gold answers labelled the
same way, the classifier trained on them, and the prior that prefers spans of that type."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from qa.annotate.annotator import Annotator
from qa.cli import main
from qa.corpus.bioasq import load_golden
from qa.read.answer_type import answer_types, is_number, prefer_expected, span_type
from qa.read.qtype import QuestionTypeClassifier
from qa.train.answer_type import label_questions
from qa.types import Answer, Entity, Passage
from tests.test_ner import LEXICON, save_tiny_tagger


@pytest.fixture(scope="module")
def oracle_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny tagger that tags MECP2 as a gene and Rett syndrome as a disease (tests/test_ner)."""
    return save_tiny_tagger(tmp_path_factory.mktemp("oracle-ner"), lexicon=LEXICON)


def test_numbers_are_told_from_names_that_start_with_a_digit() -> None:
    for number in ("25%", "2-3 days", "10-fold", "three", "1 in 10,000", "0.5 mg/kg"):
        assert is_number(number), number
    for name in ("5-fluorouracil", "3q26", "MECP2", "2-AG", "tenascin", "Oncogene"):
        assert not is_number(name), name


def test_a_span_takes_the_type_of_the_entity_covering_most_of_it() -> None:
    text = "Mutations in the MECP2 gene cause Rett syndrome in 1 in 10,000 girls."
    gene = Entity(17, 22, "GENE", "MECP2")
    disease = Entity(34, 47, "DISEASE", "Rett syndrome")
    entities = [gene, disease]
    assert span_type(text, 17, 22, entities) == "gene"
    assert span_type(text, 17, 27, entities) == "gene"  # "MECP2 gene": 5 of 10 characters
    assert span_type(text, 13, 27, entities) == "other"  # "the MECP2 gene": under half
    assert span_type(text, 34, 47, entities) == "disease"
    assert span_type(text, 51, 62, entities) == "number"
    assert span_type(text, 63, 68, entities) == "other"  # "girls"


def answer(text: str, passage: Passage, score: float) -> Answer:
    start = passage.text.index(text)
    return Answer(text, score, passage, start, start + len(text))


def test_the_prior_puts_spans_of_the_expected_type_first(oracle_folder: Path) -> None:
    passage = Passage("p1", "Most patients are girls. Rett syndrome is caused by MECP2 mutations.")
    answers = [answer("girls", passage, 2.0), answer("MECP2", passage, 1.5)]
    tagger = Annotator(str(oracle_folder), device="cpu")
    types = answer_types(answers, tagger.entities)
    assert types == ["other", "gene"]
    expected = {"gene": 0.9, "other": 0.05}
    assert [a.text for a in prefer_expected(answers, types, expected, 0.0)] == ["girls", "MECP2"]
    preferred = prefer_expected(answers, types, expected, 1.0)
    assert [a.text for a in preferred] == ["MECP2", "girls"]
    assert preferred[0].score == pytest.approx(1.5 + math.log(0.9))
    # A type the classifier gives no probability is floored, not ruled out.
    assert prefer_expected(answers, types, {"gene": 1.0}, 1.0)[1].text == "girls"


def golden(path: Path) -> Path:
    questions = [  # the oracle tags words that start with "me" as genes
        {
            "id": f"g{i}",
            "type": "factoid",
            "body": f"Which gene is mutated in disorder {i}?",
            "exact_answer": [["MECP2"]],
            "snippets": [{"text": f"Disorder {i} is caused by MECP2 mutations."}],
        }
        for i in range(4)
    ]
    questions += [
        {
            "id": f"n{i}",
            "type": "factoid",
            "body": f"How many patients carry variant {i}?",
            "exact_answer": [[f"{10 + i}%"]],
            "snippets": [{"text": f"Variant {i} was found in {10 + i}% of the patients."}],
        }
        for i in range(4)
    ]
    questions.append(  # an answer no snippet mentions is typed from its own words
        {
            "id": "x",
            "type": "list",
            "body": "Which genes are linked to disorder 9?",
            "exact_answer": [["MECP2"]],
            "snippets": [{"text": "Nothing is known about disorder 9."}],
        }
    )
    questions.append({"id": "y", "type": "yesno", "body": "Is it?", "exact_answer": "yes"})
    path.write_text(json.dumps({"questions": questions}), encoding="utf-8")
    return path


def test_gold_answers_are_typed_by_the_tagger_and_numbers_by_rule(
    tmp_path: Path, oracle_folder: Path
) -> None:
    questions = load_golden([golden(tmp_path / "gold.json")])
    labelled = dict(label_questions(questions, Annotator(str(oracle_folder)).entities, batch=3))
    assert labelled["Which gene is mutated in disorder 0?"] == "gene"
    assert labelled["How many patients carry variant 2?"] == "number"
    assert labelled["Which genes are linked to disorder 9?"] == "gene"
    assert "Is it?" not in labelled  # yes/no questions expect no span


def test_qa_train_answer_type_learns_the_types_from_the_question_words(
    tmp_path: Path, oracle_folder: Path, capsys: pytest.CaptureFixture
) -> None:
    gold = golden(tmp_path / "gold.json")
    out = tmp_path / "atype"
    argv = ["train", "answer-type", "--train", str(gold), "--ner-model", str(oracle_folder)]
    assert main([*argv, "--device", "cpu", "-o", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["train_labels"] == {"gene": 5, "number": 4}
    model = QuestionTypeClassifier(str(out))
    assert model.predict("Which gene is mutated in disorder 7?")[0] == "gene"
    assert model.predict("How many patients carry variant 8?")[0] == "number"
    assert "typed by the NER model" in (out / "README.md").read_text(encoding="utf-8")


def test_the_lift_form_weighs_a_type_against_how_common_it_is() -> None:
    passage = Passage("p1", "Most patients are girls. Rett syndrome is caused by MECP2 mutations.")
    answers = [answer("girls", passage, 1.0), answer("MECP2", passage, 1.0)]
    expected = {"gene": 0.3, "other": 0.6}
    plain = prefer_expected(answers, ["other", "gene"], expected, 1.0)
    assert [a.text for a in plain] == ["girls", "MECP2"]
    # Genes are 10% of the training questions: a 30% chance is three times the usual.
    lift = prefer_expected(answers, ["other", "gene"], expected, 1.0, {"gene": 0.1, "other": 0.5})
    assert [a.text for a in lift] == ["MECP2", "girls"]
    assert lift[0].score == pytest.approx(1.0 + math.log(3.0))


def test_the_pipeline_prefers_answers_of_the_type_the_question_expects(
    tmp_path: Path, oracle_folder: Path
) -> None:
    """The shipped reader answers MECP2; an answer-type model that (trained so) expects no
    entity for this wording puts the best span that is none first."""
    from dataclasses import replace

    from qa.config import load_profile
    from qa.pipeline import QA
    from qa.train.answer_type import answer_type_pairs, train_answer_type

    questions = [
        {
            "id": f"d{i}",
            "type": "factoid",
            "body": f"Which gene is mutated in disorder {i}?",
            "exact_answer": [["a deletion"]],
            "snippets": [{"text": f"Disorder {i} is caused by a deletion."}],
        }
        for i in range(6)
    ]
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps({"questions": questions}), encoding="utf-8")
    tagger = Annotator(str(oracle_folder))
    train, _ = answer_type_pairs([gold], [], tagger.entities)
    train_answer_type(train, [], tmp_path / "atype", str(oracle_folder))

    profile = load_profile("embedded")
    passages = [Passage("a", "Rett syndrome is caused by mutations in the MECP2 gene.")]
    question = "Which gene is mutated in Rett syndrome?"
    top = {}
    for weight in (0.0, 50.0):
        reader = replace(
            profile.reader, answer_type_model=str(tmp_path / "atype"), answer_type_weight=weight
        )
        annotate = replace(profile.annotate, ner_model=str(oracle_folder), relations_model="")
        qa = QA(None, replace(profile, reader=reader, annotate=annotate), device="cpu")
        top[weight] = qa.answer(question, passages, qtype="factoid", annotate=False).answers[0]
    assert top[0.0].text == "MECP2"
    best = top[50.0].text  # a span that holds MECP2, which covers under half of it
    assert "MECP2" in best and len("MECP2") < len(best) / 2


def test_the_shipped_answer_type_model_expects_genes_drugs_and_numbers() -> None:
    model = QuestionTypeClassifier("qa-models:answer-type-bioasq")
    assert model.predict("Which gene is mutated in Rett syndrome?")[0] == "gene"
    assert model.predict("Which drug is used to treat chronic myeloid leukemia?")[0] == "chemical"
    assert model.predict("How many genes are imprinted in humans?")[0] == "number"
    assert set(model.label_shares) <= set(model.labels)
    assert sum(model.label_shares.values()) == pytest.approx(1.0, abs=1e-4)
