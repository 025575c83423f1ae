"""The yes/no classifier's pooling of passages, joined reading (and training on what it reads),
and the PubMedQA questions kept out of training."""

from __future__ import annotations

import json
import math

import pytest
from transformers import AutoTokenizer, BertForSequenceClassification

from qa.corpus.pubmedqa import read_pubmedqa_labels
from qa.errors import CorpusFormatError
from qa.read.yesno import YesNoClassifier, join_texts, pool
from qa.train.yesno import JOINED_ORDERS, YesNoPair, joined_pairs, pairs_from_pubmedqa
from qa.types import Passage

from .conftest import save_tiny_bert

QUESTION = "Is aspirin an inhibitor of cyclooxygenase?"


@pytest.fixture(scope="module")
def tiny_yesno(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-yesno")
    return save_tiny_bert(folder, 0, BertForSequenceClassification, labels=["no", "yes"])


def test_one_clear_no_decides_under_max_pooling_but_not_under_the_mean() -> None:
    odds = [1.0, 1.0, -4.0]  # two passages that lean yes, one that clearly says no
    assert pool(odds, "mean") == pytest.approx(-2 / 3)
    assert pool(odds, "max") == -4.0
    weights = [math.exp(-3), math.exp(-3), 1.0]
    expected = (weights[0] + weights[1] - 4 * weights[2]) / sum(weights)
    assert pool(odds, "attention") == pytest.approx(expected)
    assert pool([0.5, 2.0], "max") == 2.0


def test_held_out_pubmedqa_questions_are_not_trained_on(tmp_path) -> None:
    entry = {"QUESTION": "Does X help?", "CONTEXTS": ["X helped."], "LONG_ANSWER": "Yes."}
    data = {
        "1": {**entry, "final_decision": "yes"},
        "2": {**entry, "QUESTION": "Does Y help?", "final_decision": "no"},
        "3": {**entry, "final_decision": "maybe"},
    }
    pqal = tmp_path / "ori_pqal.json"
    pqal.write_text(json.dumps(data), encoding="utf-8")
    truth = tmp_path / "test_ground_truth.json"
    truth.write_text(json.dumps({"2": "no"}), encoding="utf-8")
    held_out = set(read_pubmedqa_labels(truth))
    assert held_out == {"2"}
    assert {p.question for p in pairs_from_pubmedqa(pqal)} == {"Does X help?", "Does Y help?"}
    assert {p.question for p in pairs_from_pubmedqa(pqal, held_out)} == {"Does X help?"}
    assert read_pubmedqa_labels(pqal) == {"1": "yes", "2": "no", "3": "maybe"}


def test_a_file_without_labels_is_refused_with_what_to_pass(tmp_path) -> None:
    bad = tmp_path / "labels.json"
    bad.write_text(json.dumps({"7": "perhaps"}), encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="test_ground_truth.json"):
        read_pubmedqa_labels(bad)


def test_joined_reading_fills_each_window_with_consecutive_passages(tiny_yesno) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_yesno)
    short = "Aspirin inhibits cyclooxygenase."  # 8 word pieces
    long = " ".join(["platelet"] * 300)  # too long for any window: alone, truncated
    texts = [short] * 5 + [long, short]
    groups = join_texts(tokenizer, QUESTION, texts, 40)
    assert [i for g in groups for i in g] == list(range(7))  # each once, in order
    assert groups[-2:] == [[5], [6]]
    room = 40 - len(tokenizer.tokenize(QUESTION)) - 3
    for group in groups[:-2]:
        assert sum(len(tokenizer.tokenize(texts[i])) + 1 for i in group) <= room
    assert len(groups[0]) > 1  # short passages share a window

    passages = [Passage(f"p{i}", t) for i, t in enumerate(texts)]
    one_each = YesNoClassifier(str(tiny_yesno), device="cpu", max_seq_length=40)
    together = YesNoClassifier(str(tiny_yesno), device="cpu", max_seq_length=40, joined=True)
    assert one_each.window_odds(QUESTION, passages)[0] == [[i] for i in range(7)]
    windows, odds = together.window_odds(QUESTION, passages)
    assert windows == groups and len(odds) == len(groups)
    answer = together.predict(QUESTION, passages)
    # every passage is shown with the log-odds of the window it was read in
    assert [pid for pid, _ in answer.evidence] == [p.id for p in passages]
    assert dict(answer.evidence)["p0"] == pytest.approx(odds[0], abs=1e-4)
    assert answer.probability == pytest.approx(1 / (1 + math.exp(-sum(odds) / len(odds))))


def test_joined_training_pairs_keep_each_question_and_label_in_several_orders(tiny_yesno) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_yesno)
    texts = [f"Passage {word} about cyclooxygenase." for word in "abcdef"]
    pairs = [YesNoPair(QUESTION, t, 1) for t in texts] + [YesNoPair("Is it safe?", "No.", 0)]
    joined = joined_pairs(tokenizer, pairs, 40, seed=0)
    asked = [p for p in joined if p.question == QUESTION]
    assert {p.label for p in asked} == {1}
    assert [p for p in joined if p.question != QUESTION] == [YesNoPair("Is it safe?", "No.", 0)]
    first_order = join_texts(tokenizer, QUESTION, texts, 40)
    assert asked[: len(first_order)] == [
        YesNoPair(QUESTION, " ".join(texts[i] for i in g), 1) for g in first_order
    ]
    assert len(first_order) < len(asked) <= JOINED_ORDERS * len(texts)
    for pair in asked:  # every window holds whole passages of the question
        assert all(t in texts for t in pair.text.replace(". ", ".|").split("|"))


def test_joined_training_writes_a_model_that_reads_joined_and_says_how_it_was_trained(
    tmp_path, tiny_yesno
) -> None:
    from qa.train.yesno import train_yesno

    from .conftest import tiny_run

    questions = []
    for i, (answer, verb) in enumerate([("yes", "inhibits"), ("no", "does not inhibit")] * 4):
        snippets = [
            {"text": f"Study {k}: aspirin {verb} target {i}.", "document": f"pubmed/{i}{k}"}
            for k in range(4)
        ]
        body = f"Does aspirin inhibit target {i}?"
        questions.append(
            {
                "id": f"q{i}",
                "body": body,
                "type": "yesno",
                "exact_answer": answer,
                "snippets": snippets,
            }
        )
    train, dev = tmp_path / "train_golden.json", tmp_path / "dev_golden.json"
    train.write_text(json.dumps({"questions": questions[:6]}), encoding="utf-8")
    dev.write_text(json.dumps({"questions": questions[6:]}), encoding="utf-8")
    out = tmp_path / "joined"
    run = tiny_run([train], [dev], out, tiny_yesno, epochs=1, max_steps=2)
    result = train_yesno(run, max_seq_length=64, joined=True, class_weights=False)
    # four short snippets share one window: one pair per question and order, deduplicated
    assert result["joined"] and not result["class_weights"]
    assert 6 <= result["pairs"] <= JOINED_ORDERS * 6
    assert result["history"][0]["questions"] == 2  # both dev questions scored
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "joined in windows (the config's `qa_yesno_joined = true`)" in card
    assert "Classes unweighted" in card
    classifier = YesNoClassifier(str(out), device="cpu", max_seq_length=64)  # as trained
    assert classifier.joined
    assert not YesNoClassifier(str(out), device="cpu", joined=False).joined  # a profile's say
    info = json.loads((out / "qa_overlay.json").read_text(encoding="utf-8"))
    info["config"].pop("qa_yesno_joined")  # an overlay saved before the config held it
    (out / "qa_overlay.json").write_text(json.dumps(info), encoding="utf-8")
    assert YesNoClassifier(str(out), device="cpu").joined
    passages = [Passage(f"s{k}", s["text"]) for k, s in enumerate(questions[0]["snippets"])]
    assert classifier.window_odds(questions[0]["body"], passages)[0] == [[0, 1, 2, 3]]


def test_swapped_questions_name_an_entity_of_the_same_type_that_the_evidence_does_not() -> None:
    from qa.train.yesno import swapped_pairs
    from qa.types import Entity

    def gene(question: str, name: str) -> Entity:
        start = question.index(name)
        return Entity(start, start + len(name), "GENE", name)

    cf = "Is cystic fibrosis caused by mutations in CFTR?"
    dmd = "Is Duchenne muscular dystrophy caused by DMD mutations?"
    unnamed = "Is CFTR a chloride channel?"  # its evidence never names CFTR
    pairs = [
        YesNoPair(cf, "CFTR mutations cause cystic fibrosis.", 1),
        YesNoPair(cf, "Most patients carry F508del.", 1),
        YesNoPair(dmd, "Loss of dystrophin (DMD) causes the disease.", 1),
        YesNoPair(unnamed, "It conducts chloride ions.", 1),
        YesNoPair("Is DMD a chloride channel?", "DMD encodes dystrophin.", 0),
    ]
    entities = {q: [gene(q, name)] for q, name in ((cf, "CFTR"), (dmd, "DMD"), (unnamed, "CFTR"))}
    swapped = swapped_pairs(pairs, entities, share=1.0, seed=0)
    # Each "yes" question that names an entity of its evidence is asked again about the other
    # gene, over all its own passages, labelled "no"; the "no" question is never swapped.
    assert set(swapped) == {
        YesNoPair("Is cystic fibrosis caused by mutations in DMD?", pairs[0].text, 0),
        YesNoPair("Is cystic fibrosis caused by mutations in DMD?", pairs[1].text, 0),
        YesNoPair("Is Duchenne muscular dystrophy caused by CFTR mutations?", pairs[2].text, 0),
    }
    assert swapped_pairs(pairs, entities, share=0.0, seed=0) == []


def test_the_swapped_share_must_be_a_fraction() -> None:
    from qa.cli import UsageError, build_parser

    with pytest.raises(UsageError, match="--swapped-entities: expected a number .* at most 1"):
        build_parser().parse_args(
            ["train", "yesno", "--train", "x.json", "-o", "out", "--swapped-entities", "1.5"]
        )
