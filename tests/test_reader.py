"""The extractive reader: offsets, windows, aggregation, and refusing what is not a reader."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from qa.batching import pad_batch
from qa.errors import ModelLoadError
from qa.read.clean import normalise_answer
from qa.read.reader import Reader, Span, aggregate
from qa.train.reader import examples_from_golden, featurize, synonyms, train_reader
from qa.types import Passage

from .conftest import save_tiny_bert, tiny_run


@pytest.fixture(scope="session")
def tiny_qa_model(tmp_path_factory):
    from transformers import BertForQuestionAnswering

    return save_tiny_bert(tmp_path_factory.mktemp("tiny-qa"), 0, BertForQuestionAnswering)


class Oracle(torch.nn.Module):
    """Stands in for a trained head: start logit high on ``first`` tokens, end on ``last``."""

    def __init__(self, first: int, last: int) -> None:
        super().__init__()
        self.first, self.last = first, last

    def forward(self, input_ids, **_):
        start = (input_ids == self.first).float() * 10
        end = (input_ids == self.last).float() * 10
        return SimpleNamespace(start_logits=start, end_logits=end)


def oracle_reader(tiny_qa_model, answer: str, **kwargs) -> Reader:
    reader = Reader(str(tiny_qa_model), device="cpu", **kwargs)
    ids = reader.tokenizer(answer, add_special_tokens=False)["input_ids"]
    reader.model = Oracle(ids[0], ids[-1])
    return reader


def test_answer_offsets_point_into_the_passage_with_unicode(tiny_qa_model) -> None:
    text = "In mice, β-catenin signalling (Wnt) is activated; the 5′-UTR of MECP2 — Rett’s gene — matters."
    reader = oracle_reader(tiny_qa_model, "MECP2")
    passage = Passage("u", text)
    answers = reader.read("Which gene?", [passage])
    assert answers[0].text == "MECP2"
    for a in answers:
        assert passage.text[a.start : a.end] == a.text


def test_an_answer_deep_in_a_long_passage_is_found_in_a_later_window(tiny_qa_model) -> None:
    filler = " ".join(f"Sentence {i} says nothing about genes." for i in range(60))
    text = f"{filler} The causal gene is MECP2 in Rett syndrome. {filler}"
    reader = oracle_reader(tiny_qa_model, "MECP2", max_seq_length=64, doc_stride=24)
    answers = reader.read("Which gene is mutated in Rett syndrome?", [Passage("long", text)])
    assert answers[0].text == "MECP2"
    assert text[answers[0].start : answers[0].end] == "MECP2"
    assert answers[0].start > len(filler)


def test_an_answer_straddling_a_window_boundary_is_still_found(tiny_qa_model) -> None:
    reader = oracle_reader(
        tiny_qa_model, "methyl CpG binding protein", max_seq_length=40, doc_stride=16
    )
    budget = 40 - 3 - len(reader.tokenizer("Which protein?", add_special_tokens=False)["input_ids"])
    lead = " ".join(["alpha"] * (budget - 2))  # the answer starts two tokens before the cut
    text = f"{lead} methyl CpG binding protein is encoded by MECP2."
    answers = reader.read("Which protein?", [Passage("edge", text)])
    assert answers[0].text == "methyl CpG binding protein"
    assert text[answers[0].start : answers[0].end] == answers[0].text


def test_all_passages_of_a_question_share_batched_forward_passes(tiny_qa_model) -> None:
    reader = Reader(str(tiny_qa_model), device="cpu", batch_size=8)
    calls = []
    original = reader.model.forward
    reader.model.forward = lambda **kw: calls.append(kw["input_ids"].shape[0]) or original(**kw)
    passages = [Passage(str(i), f"Passage {i} mentions BRCA{i} and cancer.") for i in range(10)]
    answers = reader.read("Which gene?", passages, top_k=5)
    assert calls == [8, 2]
    assert len(answers) == 5
    for a in answers:
        assert a.passage.text[a.start : a.end] == a.text


def test_aggregation_merges_the_same_answer_from_several_passages() -> None:
    passages = [
        Passage("a", "MECP2 causes Rett."),
        Passage("b", "Mutations in Mecp2."),
        Passage("c", "FMR1 causes fragile X."),
    ]
    spans = [Span(0, 0, 5, 2.0), Span(1, 13, 18, 1.5), Span(2, 0, 4, 2.2)]
    answers = aggregate(spans, passages, top_k=5)
    assert [normalise_answer(a.text) for a in answers] == ["mecp2", "fmr1"]
    mecp2 = answers[0]
    assert mecp2.score == pytest.approx(torch.logsumexp(torch.tensor([2.0, 1.5]), 0).item())
    assert [s[0] for s in mecp2.support] == ["a", "b"]
    assert (mecp2.passage.id, mecp2.text) == ("a", "MECP2")
    # A higher temperature favours the answer found twice even more (it was already first).
    warm = aggregate(spans, passages, top_k=5, temperature=2.0)
    assert warm[0].score == pytest.approx(2 * torch.logsumexp(torch.tensor([1.0, 0.75]), 0).item())
    # and can turn a ranking around: one strong span against two weaker ones.
    close = [Span(0, 0, 5, 2.0), Span(1, 13, 18, 2.0), Span(2, 0, 4, 2.6)]
    assert normalise_answer(aggregate(close, passages, 5)[0].text) == "mecp2"
    assert normalise_answer(aggregate(close, passages, 5, temperature=0.25)[0].text) == "fmr1"


def test_a_folder_that_is_not_a_qa_model_gives_a_clear_error(tiny_model) -> None:
    with pytest.raises(ModelLoadError, match="not a question-answering model"):
        Reader(str(tiny_model), device="cpu")


def test_exact_answers_are_located_in_gold_snippets() -> None:
    from qa.corpus.bioasq import GoldQuestion, Snippet

    q = GoldQuestion(
        "1",
        "Which gene?",
        "list",
        snippets=(Snippet("Both MECP2 and FOXG1 matter.", "1"),),
        exact_answer=[["MeCP2"], ["FOXG1", "forkhead box G1"]],
    )
    examples = examples_from_golden([q])
    assert sorted(e.context[e.start : e.end] for e in examples) == ["FOXG1", "MECP2"]
    assert synonyms(["BRCA1", "breast cancer 1"], "factoid") == [["BRCA1", "breast cancer 1"]]


def test_windows_without_the_answer_point_at_cls(tiny_qa_model) -> None:
    from transformers import AutoTokenizer

    from qa.train.reader import SpanExample

    tok = AutoTokenizer.from_pretrained(tiny_qa_model)
    context = " ".join(["filler"] * 60) + " MECP2"
    example = SpanExample("Which gene?", context, context.index("MECP2"), len(context))
    windows = featurize([example], tok, max_length=32, stride=8)
    starts = [w["start_positions"] for w in windows]
    # 61 words in windows of 26 context tokens overlapping by 8: only the last holds MECP2.
    assert starts == [0, 0, 0, 0, 0, 0, 17]
    last = windows[-1]
    span = last["input_ids"][last["start_positions"] : last["end_positions"] + 1]
    assert tok.decode(span).replace(" ", "").lower() == "mecp2"
    batch = pad_batch(windows)
    assert batch["input_ids"].shape == (len(windows), max(len(w["input_ids"]) for w in windows))


def test_a_few_training_steps_on_a_tiny_model_lower_the_loss(tmp_path, tiny_qa_model) -> None:
    questions = []
    genes = ["MECP2", "CFTR", "HTT", "DMD", "FMR1", "HBB", "PAH", "NF1"]
    for i, gene in enumerate(genes):
        text = f"Disease {i} is caused by mutations in the {gene} gene."
        questions.append(
            {
                "id": f"q{i}",
                "body": f"Which gene causes disease {i}?",
                "type": "factoid",
                "exact_answer": [gene],
                "documents": [],
                "snippets": [{"text": text, "document": f"http://x/pubmed/{i}"}],
            }
        )
    gold = tmp_path / "train_golden.json"
    gold.write_text(json.dumps({"questions": questions}), encoding="utf-8")
    out = tmp_path / "reader"
    run = tiny_run([gold], [], out, tiny_qa_model, "qa train reader …", epochs=30, batch_size=8)
    result = train_reader(run)
    assert result["last_loss"] < result["first_loss"] * 0.6
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.count("qa train reader") == 1
    assert "No dev files: the last epoch is kept." in card and "## Dev" not in card
    reader = Reader(str(out), device="cpu")
    assert reader.read(
        "Which gene causes disease 3?", [Passage("x", questions[3]["snippets"][0]["text"])]
    )


def test_ask_retrieves_then_reads_with_timings(
    tmp_path, tiny_model, tiny_qa_model, sample_passages
) -> None:
    from qa.config import profile_from_dict
    from qa.index.store import build_index
    from qa.pipeline import QA

    from .conftest import tiny_profile

    data = tiny_profile(tiny_model).to_dict()
    data["reader"] = {"model": str(tiny_qa_model)}
    build_index(sample_passages, tmp_path / "idx", profile_from_dict(data), show_progress=False)
    qa = QA.load(tmp_path / "idx", device="cpu")
    result = qa.ask("Which gene is mutated in Rett syndrome?", qtype="factoid", k=4)
    assert len(result.hits) == 4
    assert len(result.answers) == 5  # the profile's top_k: a random head finds many spans
    hit_ids = {h.passage.id for h in result.hits}
    for answer in result.answers:
        assert answer.passage.id in hit_ids
        assert answer.passage.text[answer.start : answer.end] == answer.text
    assert set(result.timings) == {"retrieve_ms", "read_ms", "total_ms"}
    assert result.to_dict()["answers"][0]["text"] == result.answers[0].text


def test_a_rank_prior_lets_the_top_passage_win_a_close_call(tiny_qa_model) -> None:
    reader = oracle_reader(tiny_qa_model, "MECP2")
    passages = [Passage("top", "Rett: MECP2 here."), Passage("tenth", "Also MECP2 and MECP2.")]
    plain = reader.read("Which gene?", passages)
    weighted = reader.read("Which gene?", passages, rank_prior=5.0)
    assert plain[0].text == weighted[0].text == "MECP2"
    # The merged score falls, and the best occurrence now comes from the first passage.
    assert weighted[0].score < plain[0].score
    assert weighted[0].passage.id == "top"
    assert [s[0] for s in weighted[0].support][0] == "top"


def test_snippets_without_the_answer_become_no_answer_examples() -> None:
    from qa.corpus.bioasq import GoldQuestion, Snippet
    from qa.train.reader import NO_ANSWER

    rett = GoldQuestion(
        "1",
        "Which gene is mutated in Rett syndrome?",
        "factoid",
        snippets=(
            Snippet("Rett syndrome is caused by MECP2 mutations.", "1"),
            Snippet("Rett syndrome affects girls.", "1"),
            Snippet("Its prevalence is 1 in 10,000.", "1"),
        ),
        exact_answer=[["MECP2"]],
    )
    cf = GoldQuestion(
        "2",
        "Which gene causes cystic fibrosis?",
        "factoid",
        snippets=(Snippet("CFTR mutations cause cystic fibrosis.", "2"),),
        exact_answer=[["CFTR"]],
    )
    examples = [e for e in examples_from_golden([rett, cf]) if e.question == rett.body]
    answered = [e.context[e.start : e.end] for e in examples if e.start != NO_ANSWER]
    unanswered = [e.context for e in examples if e.start == NO_ANSWER]
    assert answered == ["MECP2"]
    # As many unanswered snippets as answered ones, its own first.
    assert unanswered == ["Rett syndrome affects girls."]
    # Where its own snippets all answer, a snippet of another question stands in.
    cf_examples = [e for e in examples_from_golden([rett, cf]) if e.question == cf.body]
    assert [e.context for e in cf_examples if e.start == NO_ANSWER] == [rett.snippets[0].text]


def test_every_window_of_a_no_answer_example_points_at_cls(tiny_qa_model) -> None:
    from transformers import AutoTokenizer

    from qa.train.reader import no_answer

    tok = AutoTokenizer.from_pretrained(tiny_qa_model)
    context = " ".join(["filler"] * 60) + " MECP2"
    windows = featurize([no_answer("Which gene?", context)], tok, max_length=32, stride=8)
    assert len(windows) == 7
    assert {(w["start_positions"], w["end_positions"]) for w in windows} == {(0, 0)}


def test_answerability_is_high_where_a_passage_holds_the_answer(tiny_qa_model) -> None:
    reader = oracle_reader(tiny_qa_model, "MECP2")
    holds = Passage("a", "Rett syndrome is caused by MECP2 mutations.")
    lacks = Passage("b", "Cystic fibrosis is caused by CFTR mutations.")
    # The oracle's span logits are 10 + 10 on the answer, 0 elsewhere and at [CLS].
    assert reader.reading("Which gene?", [lacks, holds]).answerability == 20.0
    assert reader.reading("Which gene?", [lacks]).answerability == 0.0
    assert reader.reading("Which gene?", []).answerability == float("-inf")


def test_a_question_below_the_answerability_threshold_is_abstained(tiny_qa_model) -> None:
    from qa.config import ReaderConfig
    from qa.read.answering import answer_passages
    from qa.types import Hit

    reader = oracle_reader(tiny_qa_model, "MECP2")
    models = SimpleNamespace(reader=reader)
    hits = [Hit(Passage("b", "Cystic fibrosis is caused by CFTR mutations."), 1.0)]
    cfg = ReaderConfig(abstain_below=5.0)
    result = answer_passages("Which gene?", hits, models, cfg, None, qtype="factoid")
    assert result.abstained and result.answerability == 0.0
    hits.append(Hit(Passage("a", "Rett syndrome is caused by MECP2 mutations."), 0.5))
    result = answer_passages("Which gene?", hits, models, cfg, None, qtype="factoid")
    assert not result.abstained and result.answers[0].text == "MECP2"


def test_a_question_far_from_its_best_passage_is_abstained(tiny_qa_model, tiny_model) -> None:
    from qa.config import ReaderConfig
    from qa.read.answering import answer_passages, evidence_similarity
    from qa.retrieve.encoder import SentenceEncoder
    from qa.types import Hit, YesNo

    encoder = SentenceEncoder(str(tiny_model), device="cpu")
    models = SimpleNamespace(reader=oracle_reader(tiny_qa_model, "MECP2"), encoder=encoder)
    near = Passage("a", "Which gene is mutated in Rett syndrome? MECP2.")
    far = Passage("b", "Tables of renal clearance in adult dogs, 1978.")
    question = "Which gene is mutated in Rett syndrome?"
    close, distant = (evidence_similarity(question, [p], encoder, True) for p in (near, far))
    assert -1.0 <= distant < close <= 1.0 + 1e-6
    # ranked: the retriever's first passage speaks for the evidence; unranked: the closest one
    assert evidence_similarity(question, [far, near], encoder, True) == pytest.approx(distant)
    assert evidence_similarity(question, [far, near], encoder, False) == pytest.approx(close)
    assert evidence_similarity(question, [], encoder, True) == -1.0
    cfg = ReaderConfig(abstain_similarity_below=(close + distant) / 2)
    hits = [Hit(far, 1.0), Hit(near, 0.5)]
    held = answer_passages(question, hits, models, cfg, None, qtype="factoid", ranked=True)
    assert held.abstained and held.evidence_similarity == pytest.approx(distant, abs=1e-4)
    assert held.answers[0].text == "MECP2"  # the reader found it; the evidence was too far
    hits.reverse()
    shown = answer_passages(question, hits, models, cfg, None, qtype="factoid", ranked=True)
    assert (
        not shown.abstained and shown.to_dict()["evidence_similarity"] == shown.evidence_similarity
    )
    off = answer_passages(question, hits, models, ReaderConfig(), None, qtype="factoid")
    assert off.evidence_similarity is None  # not computed when the profile does not abstain by it
    models.yesno = SimpleNamespace(predict=lambda q, passages: YesNo("yes", 0.9))
    asked = "Is MECP2 mutated in Rett syndrome?"
    above_far = ReaderConfig(
        abstain_similarity_below=evidence_similarity(asked, [far], encoder, True) + 0.01
    )
    far_only = [Hit(far, 1.0)]
    yesno = answer_passages(asked, far_only, models, above_far, None, qtype="yesno", ranked=True)
    assert yesno.abstained and yesno.yesno.label == "yes"  # kept for a submission


def test_a_result_read_from_no_passage_stays_valid_json() -> None:
    from qa.types import QAResult

    result = QAResult("Which gene?", "factoid", [], [], answerability=float("-inf"), abstained=True)
    assert json.loads(json.dumps(result.to_dict(), allow_nan=False))["answerability"] is None


def test_an_abstained_question_annotates_its_top_passages_not_its_answers(tiny_qa_model) -> None:
    from qa.config import AnnotateConfig, ReaderConfig
    from qa.read.answering import answer_passages
    from qa.types import Annotations, Hit

    class Recorder:  # the PassageAnnotator protocol; tags nothing, remembers what it was given
        def __init__(self) -> None:
            self.seen: list[str] = []

        def annotate_passages(self, passages):
            self.seen += [p.id for p in passages]
            return {p.id: Annotations((), ()) for p in passages}

    models = SimpleNamespace(reader=oracle_reader(tiny_qa_model, "MECP2"), annotator=Recorder())
    hits = [
        Hit(Passage("top", "Cystic fibrosis is caused by CFTR mutations."), 1.0),
        Hit(Passage("answer", "Rett syndrome is caused by MECP2 mutations."), 0.5),
    ]
    one = AnnotateConfig(passages=1)
    answered = answer_passages("Which gene?", hits, models, ReaderConfig(), one, qtype="factoid")
    assert not answered.abstained and models.annotator.seen == ["answer"]
    models.annotator.seen.clear()
    strict = ReaderConfig(abstain_below=100.0)
    held = answer_passages("Which gene?", hits, models, strict, one, qtype="factoid")
    assert held.abstained and models.annotator.seen == ["top"]
    assert held.answers[0].text == "MECP2"  # kept for the submission and the API
