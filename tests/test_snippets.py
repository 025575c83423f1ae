"""Phase-A snippets at sentence level: each retrieved passage submitted as its best sentences,
with offsets that still point into the section the passage was cut from."""

from __future__ import annotations

import dataclasses
import json

import pytest

from qa.config import load_profile, profile_from_dict
from qa.corpus import read_corpus
from qa.corpus.split import sentence_spans
from qa.errors import ConfigError
from qa.evaluate.run import run_bioasq, submission_snippet, write_json
from qa.read.snippets import best_run, snippet_spans
from qa.types import Passage

URL = "http://www.ncbi.nlm.nih.gov/pubmed/"
# Three abstracts; each question's gold snippet is a stretch of one of them, a few sentences
# long and not at its start, so a passage carries a section offset ("begin") and, once cut
# into windows, an offset inside the snippet ("char_offset") too.
ABSTRACTS = {
    "2001": (
        "Background: we studied girls with regression. Rett syndrome is a severe "
        "neurodevelopmental disorder that affects mostly girls. Breathing is often irregular "
        "in these patients. Rett syndrome is caused by mutations in the MECP2 gene on the X "
        "chromosome. Treatment remains supportive and symptomatic."
    ),
    "2002": (
        "Chronic myeloid leukemia was once fatal. The disease is driven by the BCR-ABL fusion "
        "kinase. Imatinib inhibits the BCR-ABL tyrosine kinase and induces remission. Most "
        "patients now live a normal life span."
    ),
    "2003": (
        "Cystic fibrosis is common in Europe. It results from mutations in CFTR, a chloride "
        "channel of epithelial cells. Lung infections are frequent. Sweat chloride is high."
    ),
}
QUESTIONS = [
    ("f1", "factoid", "Which gene is mutated in Rett syndrome?", "2001", "Rett syndrome is a"),
    ("f2", "factoid", "Which kinase does imatinib inhibit?", "2002", "The disease is driven"),
    ("s3", "summary", "What causes cystic fibrosis?", "2003", "It results from"),
]


def golden(path) -> str:
    """A golden file whose snippets run from ``start`` to the end of their abstract."""
    questions = []
    for qid, qtype, body, pmid, start in QUESTIONS:
        section = ABSTRACTS[pmid]
        begin = section.index(start)
        snippet = {"text": section[begin:], "document": URL + pmid, "beginSection": "abstract"}
        snippet |= {"endSection": "abstract", "offsetInBeginSection": begin}
        snippet["offsetInEndSection"] = len(section)
        question = {"id": qid, "type": qtype, "body": body, "documents": [URL + pmid]}
        questions.append(question | {"snippets": [snippet], "ideal_answer": [section[begin:]]})
    questions[0]["exact_answer"] = [["MECP2"]]
    questions[1]["exact_answer"] = [["BCR-ABL"]]
    path.write_text(json.dumps({"questions": questions}), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The golden file and an index of its snippets, cut into windows of ~25 tokens, built
    with the embedded profile (the shipped MiniLM embedder)."""
    from qa.index.store import build_index, load_index

    folder = tmp_path_factory.mktemp("snippets")
    gold = golden(folder / "10B9_golden.json")
    passages = list(read_corpus("bioasq", [gold], max_tokens=25, overlap_sentences=0))
    assert any(p.meta.get("char_offset") for p in passages), "some passages must be windows"
    build_index(passages, folder / "index", load_profile("embedded"), show_progress=False)
    return gold, load_index(folder / "index")


def retrieved_run(corpus, **reader):
    from qa.pipeline import QA

    gold, index = corpus
    profile = load_profile("embedded")
    profile = dataclasses.replace(profile, reader=dataclasses.replace(profile.reader, **reader))
    return run_bioasq(QA(index, profile, device="cpu"), [gold], snippets=None, k=5)


def submitted(run) -> list[dict]:
    return [s for entry in run["submission"]["questions"] for s in entry["snippets"]]


def test_every_sentence_snippet_points_at_its_text_in_the_section(corpus) -> None:
    run = retrieved_run(corpus, snippet_sentences=1)
    snippets = submitted(run)
    assert snippets
    for s in snippets:
        section = ABSTRACTS[s["document"].removeprefix(URL)]
        assert section[s["offsetInBeginSection"] : s["offsetInEndSection"]] == s["text"]
        # One sentence, as the splitter that cut the windows reads the section.
        spans = sentence_spans(section)
        assert (s["offsetInBeginSection"], s["offsetInEndSection"]) in spans
    first = run["submission"]["questions"][0]["snippets"][0]
    assert first["text"] == (
        "Rett syndrome is caused by mutations in the MECP2 gene on the X chromosome."
    )


def test_setting_0_submits_whole_passages_as_before(corpus) -> None:
    whole = submitted(retrieved_run(corpus, snippet_sentences=0))
    _, index = corpus
    texts = {p.text for p in index.passages}
    assert whole and all(s["text"] in texts for s in whole)
    assert any(len(sentence_spans(s["text"])) > 1 for s in whole)
    for s in whole:
        section = ABSTRACTS[s["document"].removeprefix(URL)]
        assert section[s["offsetInBeginSection"] : s["offsetInEndSection"]] == s["text"]


def test_the_phase_a_scorer_scores_the_written_submission_as_the_run_did(corpus, tmp_path) -> None:
    from qa.evaluate.bioasq import evaluate_bioasq

    gold, _ = corpus
    run = retrieved_run(corpus, snippet_sentences=1)
    path = tmp_path / "submission.json"
    write_json(run["submission"], path)
    snippets = evaluate_bioasq([gold], path, 9)["phase_a"]["snippets"]
    figures = run["metrics"]["retrieval"]
    assert round(snippets["map"], 4) == figures["snippet_map"]
    assert round(snippets["mean_precision"], 4) == figures["snippet_precision"]
    # The sentences submitted from a question's own document lie inside its gold snippet.
    for (_, _, _, pmid, start), entry in zip(QUESTIONS, run["submission"]["questions"]):
        own = [s for s in entry["snippets"] if s["document"] == URL + pmid]
        assert own and all(s["offsetInBeginSection"] >= ABSTRACTS[pmid].index(start) for s in own)


def test_a_passage_of_one_sentence_gives_the_same_snippet_as_before() -> None:
    from qa.components import Components

    encoder = Components(load_profile("embedded"), device="cpu").encoder
    text = "Rett syndrome is caused by mutations in the MECP2 gene on the X chromosome."
    passage = Passage("p", text, pmid="2001", meta={"section": "abstract", "begin": 40})
    for n in (1, 2):
        [span] = snippet_spans("Which gene?", [passage], encoder, n)
        assert submission_snippet(passage, span) == submission_snippet(passage)


def test_whole_passages_need_no_encoder() -> None:
    passages = [Passage("a", "One. Two. Three."), Passage("b", "Four.")]
    assert snippet_spans("q", passages, None, 0) == [(0, 16), (0, 5)]


def test_the_best_run_is_the_run_of_sentences_closest_to_the_question() -> None:
    passage = Passage("p", "A. B. C. D.")
    sentences = [(0, 2, 0.5), (3, 5, 0.4), (6, 8, 0.3), (9, 11, 0.45)]
    assert best_run(passage, sentences, 1) == (0, 2)
    assert best_run(passage, sentences, 2) == (0, 5)  # the best adjacent pair
    assert best_run(passage, sentences, 3) == (0, 8)  # 1.2 against 1.15 for the last three
    assert best_run(passage, sentences, 4) == (0, 11)  # all of it: whole


def test_a_negative_sentence_count_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"\[reader\] snippet_sentences = -1.*at least 0"):
        profile_from_dict({"embedder": {"model": "x"}, "reader": {"snippet_sentences": -1}})
    with pytest.raises(ValueError, match="sentences must be 0"):
        snippet_spans("q", [Passage("a", "One. Two.")], None, -1)
