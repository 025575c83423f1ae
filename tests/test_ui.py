"""The chat UI's rendering and its chat handler, without a browser (tests/test_ui_server.py
drives the served app in Chromium)."""

from __future__ import annotations

import re

import pytest

from qa.errors import QAError
from qa.index.store import build_index, load_index
from qa.pipeline import QA
from qa.types import Annotations, Answer, Entity, Hit, Passage, QAResult, Relation, YesNo
from qa.ui import (
    ChatHandler,
    confidences,
    highlight,
    passage_html,
    pubmed_link,
    render_reply,
    ui_settings,
)
from tests.conftest import tiny_profile

TAG = re.compile(r"<[^>]+>")


def visible(markup: str) -> str:
    """The text a browser shows for ``markup`` (tags dropped, entities decoded)."""
    import html

    return html.unescape(TAG.sub("", markup))


def test_highlight_escapes_every_piece_and_keeps_the_text() -> None:
    text = 'Drug <script>alert(1)</script> & "MECP2" in Rett syndrome.'
    entities = [
        Entity(text.index("MECP2"), text.index("MECP2") + 5, "GENE", "MECP2"),
        Entity(text.index("Rett"), text.index("Rett") + 13, "DISEASE", "Rett syndrome"),
    ]
    out = highlight(text, entities, [(text.index("MECP2"), text.index("MECP2") + 5)])
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert visible(out) == text
    assert 'class="qa-ent qa-ent-GENE"' in out and 'class="qa-ent qa-ent-DISEASE"' in out
    assert '<mark class="qa-answer-span">MECP2</mark>' in out


def test_an_answer_inside_an_entity_and_overlapping_entities_render_deterministically() -> None:
    text = "imatinib mesylate inhibits BCR-ABL"
    entities = [
        Entity(0, 17, "CHEMICAL", "imatinib mesylate"),
        Entity(9, 17, "CHEMICAL", "mesylate"),  # nested: the longer, earlier one wins
        Entity(27, 34, "GENE", "BCR-ABL"),
        Entity(24, 30, "DISEASE", "ts BCR"),  # crosses the gene, starts first: kept
        Entity(31, 34, "SPECIES", "ABL"),  # inside the gene, which is dropped: kept
    ]
    first = highlight(text, entities, [(0, 8)], [(0, 8)])
    assert first == highlight(text, list(reversed(entities)), [(0, 8)], [(0, 8)])
    assert visible(first) == text
    assert first.count("qa-ent-CHEMICAL") == 2  # one entity, cut where the answer mark ends
    assert "qa-ent-DISEASE" in first and "qa-ent-SPECIES" in first and "qa-ent-GENE" not in first
    assert '<mark class="qa-answer-span qa-top">imatinib</mark>' in first
    # Spans outside the text are ignored instead of breaking the page.
    assert visible(highlight(text, [Entity(30, 99, "GENE", "x")], [(-1, 4)])) == text


def test_pubmed_links_only_for_numeric_pmids() -> None:
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/12345/"' in pubmed_link("12345")
    assert pubmed_link("") == ""
    odd = pubmed_link('1" onmouseover="alert(1)')
    assert "href" not in odd and "&quot;" in odd


def test_confidences_are_a_softmax_over_the_shown_answers(sample_passages) -> None:
    p = sample_passages[0]
    answers = [Answer("MECP2", 3.0, p, 44, 49), Answer("X", 1.0, p, 0, 1)]
    shares = confidences(answers)
    assert sum(shares) == pytest.approx(1.0)
    assert shares[0] > shares[1] and shares[0] == pytest.approx(1 / (1 + pow(2.718281828, -2)))


def test_a_reply_shows_answers_evidence_entities_relations_links_and_timings(
    sample_passages,
) -> None:
    rett, imatinib = sample_passages[0], sample_passages[1]
    gene = Entity(44, 49, "GENE", "MECP2")
    disease = Entity(0, 13, "DISEASE", "Rett syndrome")
    result = QAResult(
        question="Which gene is mutated in Rett syndrome?",
        qtype="factoid",
        answers=[
            Answer("MECP2", 5.0, rett, 44, 49, entities=(gene,)),
            Answer("BCR", 1.0, imatinib, 23, 26),
        ],
        hits=[Hit(imatinib, 0.9, {"bm25": 1}), Hit(rett, 0.8, {"bm25": 2, "dense": 1})],
        timings={"retrieve_ms": 12.0, "read_ms": 80.0, "annotate_ms": 20.0, "total_ms": 112.0},
        qtype_source="predicted",
        qtype_probability=0.91,
        annotations={
            rett.id: Annotations((disease, gene), (Relation(gene, disease, "associated", 0.8),))
        },
    )
    assert rett.text[44:49] == "MECP2"
    out = render_reply(result)
    shown = visible(out)
    assert "factoid (predicted, p=0.91)" in shown
    assert re.search(r"MECP2\s+98%", shown)  # softmax of 5.0 against 1.0
    # The passage behind the best answer comes first, with its retrieval ranks and link.
    assert shown.index("[2]") < shown.index("[1]")
    assert "bm25 #2, dense #1" in shown
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/1001/"' in out
    assert "MECP2 (gene) → associated → Rett syndrome (disease)" in shown
    assert "retrieve 12 ms · read 80 ms · annotate 20 ms · total 112 ms" in shown
    assert '<mark class="qa-answer-span qa-top">MECP2</mark>' in out


def test_yes_no_and_empty_replies(sample_passages) -> None:
    hit = Hit(sample_passages[2], 1.0)
    yes = QAResult(
        "Is metformin used in type 2 diabetes?", "yesno", [], [hit], yesno=YesNo("yes", 0.87)
    )
    assert "Yes (probability of yes 0.87)" in visible(render_reply(yes))
    none = QAResult("Which gene?", "factoid", [], [hit])
    assert "No answer was found" in visible(render_reply(none))
    passage = visible(passage_html(1, hit, [], None))
    assert sample_passages[2].text in passage


def test_ui_settings_come_from_the_profile_and_unknown_ones_are_refused(tiny_model) -> None:
    qa = QA(None, tiny_profile(tiny_model))
    assert ui_settings(qa)["concurrency"] == 2  # the embedded profile's [ui]
    bad = tiny_profile(tiny_model)
    bad.ui["workers"] = 3
    with pytest.raises(QAError, match=r"unknown \[ui\] setting\(s\) workers"):
        ui_settings(QA(None, bad))


@pytest.fixture(scope="module")
def sample_qa(tmp_path_factory, tiny_model):
    from tests.conftest import SAMPLE_PASSAGES

    passages = [Passage(id=i, text=t, pmid=m) for i, t, m in SAMPLE_PASSAGES]
    passages.append(
        Passage(id="x", text="Never run <script>alert(1)</script> from a passage.", pmid="9")
    )
    profile = tiny_profile(tiny_model)
    folder = tmp_path_factory.mktemp("ui") / "index"
    build_index(passages, folder, profile, show_progress=False)
    return QA(load_index(folder, profile), profile, device="cpu")


def test_the_handler_streams_its_stages_then_the_reply(sample_qa) -> None:
    handler = ChatHandler(sample_qa)
    steps = list(handler("Which gene is mutated in Rett syndrome?", [], 5, "hybrid", "factoid"))
    assert [s[0][-1]["content"] for s in steps[:2]] == [
        "<i>Searching…</i>",
        "<i>Reading 5 passages…</i>",
    ]
    history, box = steps[-1]
    assert box == ""
    assert [m["role"] for m in history] == ["user", "assistant"]
    reply = history[-1]["content"]
    expected = sample_qa.ask("Which gene is mutated in Rett syndrome?", qtype="factoid", k=5)
    assert expected.answers, "the shipped reader found no answer in the sample passages"
    assert f'<span class="qa-answer-text">{expected.answers[0].text}</span>' in reply
    assert "qa-timings" in reply and "retrieve" in visible(reply)


def test_the_handler_escapes_questions_and_reports_bad_input(sample_qa) -> None:
    handler = ChatHandler(sample_qa, max_k=20)
    history, _ = list(handler("<b>bold</b> question?", [], 0, "hybrid", "auto"))[-1]
    assert history[0]["content"] == "&lt;b&gt;bold&lt;/b&gt; question?"
    assert "k must be between 1 and 20" in history[-1]["content"]
    history, _ = list(handler("Which gene?", [], "ten", "hybrid", "auto"))[-1]
    assert "k must be a whole number" in history[-1]["content"]
    history, _ = list(handler("x" * 5000, [], 3, "hybrid", "auto"))[-1]
    assert "qa-error" in history[-1]["content"] and "at most 2,000" in history[-1]["content"]
    # An empty question changes nothing and keeps what was typed.
    assert list(handler("   ", [{"role": "user", "content": "hi"}], 3, "hybrid", "auto")) == [
        ([{"role": "user", "content": "hi"}], "   ")
    ]


def test_a_passage_with_markup_reaches_the_reply_as_text(sample_qa) -> None:
    history, _ = list(
        ChatHandler(sample_qa)("What should never run from a passage?", [], 13, "bm25", "summary")
    )[-1]
    reply = history[-1]["content"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply
    assert "<script" not in reply
