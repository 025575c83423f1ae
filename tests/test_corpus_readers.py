"""Reading corpora: JSONL, PubMed XML, PubMedQA, BioASQ, and the read_corpus entry point."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qa.corpus import (
    READERS,
    read_bc5cdr,
    read_bioasq,
    read_corpus,
    read_hoc,
    read_jsonl,
    read_ncbi_disease,
    read_pubmed_xml,
    read_pubmedqa,
    read_pubtator_generic,
    write_jsonl,
)
from qa.corpus.pubmed import PubmedStats
from qa.corpus.split import count_tokens
from qa.errors import CorpusFormatError
from qa.types import Passage

BIOASQ_10B1 = (
    "bioasq/Teddy-XiongGZ__MIRAGE/rawdata__bioasq__Task10BGoldenEnriched__10B1_golden.json"
)
PUBMEDQA_L = "pubmed/pubmedqa__pubmedqa/data__ori_pqal.json"
PUBMEDQA_TRUTH = "pubmed/pubmedqa__pubmedqa/data__test_ground_truth.json"


# --------------------------------------------------------------------------- JSONL


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_passages_are_read_with_their_fields_and_extra_keys_in_meta(tmp_path: Path) -> None:
    path = _write_lines(
        tmp_path / "passages.jsonl",
        [
            '{"id": "p1", "text": "Aspirin inhibits COX-1.", "title": "Aspirin", "pmid": "111"}',
            "",
            "   ",
            '{"id": 42, "text": "β-catenin is degraded.", "pmid": 222, "journal": "Cell", "year": 2001}',
        ],
    )
    passages = list(read_jsonl([path]))
    assert [p.id for p in passages] == ["p1", "42"]
    assert passages[0] == Passage(
        id="p1", text="Aspirin inhibits COX-1.", title="Aspirin", pmid="111"
    )
    assert passages[1].text == "β-catenin is degraded."
    assert passages[1].pmid == "222"
    assert passages[1].title == ""
    assert passages[1].meta == {"journal": "Cell", "year": 2001}


def test_malformed_jsonl_line_is_reported_with_file_and_line(tmp_path: Path) -> None:
    good = [json.dumps({"id": f"p{i}", "text": f"Sentence {i}."}) for i in range(6)]
    path = _write_lines(tmp_path / "passages.jsonl", [*good, '{"id": "p6", "title": "no text"}'])
    with pytest.raises(CorpusFormatError) as info:
        list(read_jsonl([path]))
    message = str(info.value)
    assert "passages.jsonl, line 7: missing 'text'" in message
    assert '{"id": ..., "text": ...}' in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": "p1", "text": "unterminated', "not valid JSON"),
        ('["p1", "a list, not an object"]', "expected a JSON object, got an array"),
        ('"just a string"', "expected a JSON object, got a string"),
        ('{"text": "no id here"}', "missing 'id'"),
        ('{"id": "  ", "text": "blank id"}', "missing 'id'"),
        ('{"id": true, "text": "boolean id"}', "'id' must be a string or an integer"),
        ('{"id": 1.5, "text": "float id"}', "'id' must be a string or an integer"),
        ('{"id": "p1", "text": ""}', "empty 'text'"),
        ('{"id": "p1", "text": 17}', "'text' must be a string"),
        ('{"id": "p1", "text": "ok", "title": ["a"]}', "'title' must be a string"),
        ('{"id": "p1", "text": "ok", "meta": "not a dict"}', "'meta' must be an object"),
    ],
)
def test_each_kind_of_bad_jsonl_line_says_what_is_wrong_and_where(
    tmp_path: Path, line: str, expected: str
) -> None:
    path = _write_lines(tmp_path / "corpus.jsonl", ['{"id": "p0", "text": "Fine."}', "", line])
    with pytest.raises(CorpusFormatError, match="corpus.jsonl, line 3") as info:
        list(read_jsonl([path]))
    assert expected in str(info.value)


def test_duplicate_jsonl_id_names_both_lines_even_across_files(tmp_path: Path) -> None:
    first = _write_lines(tmp_path / "a.jsonl", ['{"id": "x", "text": "One."}'])
    second = _write_lines(
        tmp_path / "b.jsonl", ['{"id": "y", "text": "Two."}', '{"id": "x", "text": "Three."}']
    )
    with pytest.raises(CorpusFormatError) as info:
        list(read_jsonl([first, second]))
    message = str(info.value)
    assert "b.jsonl, line 2: duplicate id 'x'" in message
    assert "a.jsonl, line 1" in message


def test_jsonl_that_is_not_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"id": "a", "text": "ok"}\n{"id": "b", "text": "caf\xe9"}\n')
    with pytest.raises(CorpusFormatError, match=r"latin1\.jsonl, line 2: not UTF-8"):
        list(read_jsonl([path]))


def test_jsonl_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes('{"id": "a", "text": "Saved by Notepad."}\n'.encode("utf-8-sig"))
    assert [p.id for p in read_jsonl([path])] == ["a"]


def test_written_jsonl_reads_back_to_the_same_passages(tmp_path: Path) -> None:
    passages = [
        Passage(
            id="a",
            text="Wnt/β-catenin and the 5′-UTR.",
            title="Τίτλος",
            pmid="1",
            meta={"year": 2020},
        ),
        Passage(id="b#0", text="Second.", meta={"parent": "b", "char_offset": 0, "tags": ["x"]}),
    ]
    path = tmp_path / "out" / "corpus.jsonl"
    assert write_jsonl(iter(passages), path) == 2
    raw = path.read_text(encoding="utf-8")
    assert "β-catenin" in raw  # ensure_ascii=False: readable, not \u03b2
    assert len(raw.splitlines()) == 2
    back = list(read_jsonl([path]))
    assert back == passages
    assert [p.meta for p in back] == [p.meta for p in passages]


def test_a_failed_write_leaves_the_previous_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    write_jsonl([Passage(id="old", text="Old corpus.")], path)
    before = path.read_bytes()

    def broken() -> Iterator[Passage]:
        yield Passage(id="new", text="New corpus.")
        raise RuntimeError("the reader failed halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        write_jsonl(broken(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.jsonl"]  # no temp file left


def test_written_jsonl_gets_normal_file_permissions(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    write_jsonl([Passage(id="a", text="Text.")], path)
    (tmp_path / "plain.txt").write_text("x")
    assert path.stat().st_mode & 0o777 == (tmp_path / "plain.txt").stat().st_mode & 0o777


# --------------------------------------------------------------------------- PubMed XML

_DOCTYPE = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">\n'
)


def _article(pmid: str, title: str, abstract: str = "", extra: str = "") -> str:
    abstract_xml = f"<Abstract>{abstract}</Abstract>" if abstract else ""
    return f"""  <PubmedArticle>
    <MedlineCitation Status="MEDLINE" Owner="NLM">
      <PMID Version="1">{pmid}</PMID>
      <Article PubModel="Print">
        <Journal><Title>Journal of Tests</Title></Journal>
        <ArticleTitle>{title}</ArticleTitle>
        {abstract_xml}
      </Article>
      {extra}
      <CommentsCorrectionsList>
        <CommentsCorrections RefType="Cites"><RefSource>Other</RefSource><PMID Version="1">99999999</PMID></CommentsCorrections>
      </CommentsCorrectionsList>
    </MedlineCitation>
    <PubmedData><PublicationStatus>ppublish</PublicationStatus></PubmedData>
  </PubmedArticle>
"""


_LABELLED = (
    '<AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">The <i>Wnt</i>/β-catenin '
    "pathway is\n  active in colon cancer.</AbstractText>"
    '<AbstractText Label="RESULTS" NlmCategory="RESULTS">Levels rose 2-fold (p &lt; 0.05) in '
    "5′-UTR mutants; IC<sub>50</sub> was 3 µM.</AbstractText>"
    "<CopyrightInformation>© 2024 Test Press.</CopyrightInformation>"
)


def _pubmed_set(*records: str) -> str:
    return _DOCTYPE + "<PubmedArticleSet>\n" + "".join(records) + "</PubmedArticleSet>\n"


@pytest.fixture
def pubmed_xml(tmp_path: Path) -> Path:
    path = tmp_path / "pubmed24n0001.xml"
    path.write_text(
        _pubmed_set(
            _article(
                "10000001",
                "Role of <i>Wnt</i>/β-catenin signalling in <b>colon</b> cancer.",
                _LABELLED,
            ),
            _article("10000002", "A letter without an abstract."),
            _article(
                "10000003",
                "Plain abstract.",
                "<AbstractText>Aspirin inhibits COX-1 irreversibly.</AbstractText>",
                extra='<OtherAbstract Type="Publisher" Language="spa"><AbstractText>La aspirina.</AbstractText></OtherAbstract>',
            ),
            '  <DeleteCitation><PMID Version="1">12345</PMID><PMID Version="1">12346</PMID></DeleteCitation>\n',
        ),
        encoding="utf-8",
    )
    return path


def test_pubmed_abstract_becomes_one_passage_with_labelled_sections(pubmed_xml: Path) -> None:
    passages = list(read_pubmed_xml([pubmed_xml]))
    assert [p.id for p in passages] == ["pubmed:10000001", "pubmed:10000003"]
    first = passages[0]
    assert first.pmid == "10000001"  # not the PMID quoted in CommentsCorrections
    assert first.text == (
        "BACKGROUND: The Wnt/β-catenin pathway is active in colon cancer. "
        "RESULTS: Levels rose 2-fold (p < 0.05) in 5′-UTR mutants; IC50 was 3 µM."
    )
    assert first.meta == {"source": "pubmed"}
    assert "Test Press" not in first.text


def test_pubmed_title_keeps_the_text_inside_inline_markup(pubmed_xml: Path) -> None:
    first = next(read_pubmed_xml([pubmed_xml]))
    assert first.title == "Role of Wnt/β-catenin signalling in colon cancer."


def test_pubmed_unlabelled_abstract_has_no_prefix_and_other_abstracts_are_left_out(
    pubmed_xml: Path,
) -> None:
    plain = list(read_pubmed_xml([pubmed_xml]))[1]
    assert plain.text == "Aspirin inhibits COX-1 irreversibly."
    assert plain.title == "Plain abstract."


def test_pubmed_articles_without_abstract_are_skipped_and_counted(pubmed_xml: Path) -> None:
    stats = PubmedStats()
    passages = list(read_pubmed_xml([pubmed_xml], stats=stats))
    assert "pubmed:10000002" not in {p.id for p in passages}
    assert stats.articles == 3
    assert stats.without_abstract == 1
    assert stats.passages == 2


def test_pubmed_delete_citation_is_ignored(pubmed_xml: Path) -> None:
    stats = PubmedStats()
    ids = {p.id for p in read_pubmed_xml([pubmed_xml], stats=stats)}
    assert not {"pubmed:12345", "pubmed:12346"} & ids
    assert stats.deletions_ignored == 2


def test_pubmed_delete_citation_pmids_are_read_for_qa_index_delete(pubmed_xml: Path) -> None:
    from qa.cli.index import read_pmids
    from qa.corpus.pubmed import read_deleted_pmids

    assert read_deleted_pmids([pubmed_xml]) == {"12345", "12346"}
    gz = pubmed_xml.with_name("pubmed24n0002.xml.gz")
    gz.write_bytes(gzip.compress(pubmed_xml.read_bytes()))
    assert read_pmids(gz) == {"12345", "12346"}  # the CLI takes an update file as it is


def test_pmids_of_earlier_files_are_held_compactly_and_still_recognised() -> None:
    from qa.corpus.pubmed import SeenPmids

    seen = SeenPmids()
    seen.next_file()
    for pmid in ("10000001", "7", "not-a-number"):
        seen.add(pmid)
    seen.next_file()  # the first file's numeric PMIDs move into the uint32 array
    assert seen.earlier.tolist() == [7, 10000001] and not seen.current
    assert "7" in seen and "10000001" in seen and "not-a-number" in seen
    assert "8" not in seen and "99999999999" not in seen


def test_pubmed_gzipped_file_reads_the_same_as_plain_xml(pubmed_xml: Path, tmp_path: Path) -> None:
    gz = tmp_path / "pubmed24n0001.xml.gz"
    gz.write_bytes(gzip.compress(pubmed_xml.read_bytes()))
    plain = list(read_pubmed_xml([pubmed_xml]))
    zipped = list(read_pubmed_xml([gz]))
    assert zipped == plain
    assert [p.title for p in zipped] == [p.title for p in plain]


def test_pubmed_repeated_pmid_is_read_once(pubmed_xml: Path, tmp_path: Path) -> None:
    update = tmp_path / "pubmed24n1300.xml"
    update.write_text(
        _pubmed_set(_article("10000001", "Revised.", "<AbstractText>Revised text.</AbstractText>")),
        encoding="utf-8",
    )
    stats = PubmedStats()
    passages = list(read_pubmed_xml([pubmed_xml, update], stats=stats))
    assert [p.id for p in passages].count("pubmed:10000001") == 1
    assert stats.duplicates == 1


def test_malformed_pubmed_xml_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    # Line 5 closes <ArticleTitle> with the wrong tag.
    path.write_text(
        '<?xml version="1.0"?>\n<PubmedArticleSet>\n<PubmedArticle><MedlineCitation>\n'
        "<PMID>1</PMID><Article>\n<ArticleTitle>Oops</Title>\n"
        "</Article></MedlineCitation></PubmedArticle>\n</PubmedArticleSet>\n",
        encoding="utf-8",
    )
    with pytest.raises(CorpusFormatError) as info:
        list(read_pubmed_xml([path]))
    message = str(info.value)
    assert "broken.xml, line 5" in message
    assert "mismatched tag" in message


def test_truncated_pubmed_download_is_reported_not_silently_shortened(
    pubmed_xml: Path, tmp_path: Path
) -> None:
    data = gzip.compress(pubmed_xml.read_bytes())
    cut = tmp_path / "cut.xml.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorpusFormatError, match=r"cut\.xml\.gz"):
        list(read_pubmed_xml([cut]))


def test_pubmed_passages_stream_before_the_whole_file_is_parsed(tmp_path: Path) -> None:
    # Far more than one 16 KiB read of valid articles, then garbage: the first passages
    # come out before the parser reaches the bad end, which shows the file is streamed.
    articles = [
        _article(str(n), f"Title {n}.", f"<AbstractText>Abstract number {n}.</AbstractText>")
        for n in range(1, 301)
    ]
    path = tmp_path / "big.xml"
    path.write_text(
        _DOCTYPE + "<PubmedArticleSet>\n" + "".join(articles) + "<oops>", encoding="utf-8"
    )
    passages = read_pubmed_xml([path])
    assert next(passages).id == "pubmed:1"
    with pytest.raises(CorpusFormatError, match="big.xml, line"):
        list(passages)


def test_pubmed_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    path = tmp_path / "xxe.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        + "<PubmedArticleSet>\n"
        + _article("1", "T.", "<AbstractText>Leak: &xxe;</AbstractText>")
        + "</PubmedArticleSet>\n",
        encoding="utf-8",
    )
    with pytest.raises(
        CorpusFormatError, match="xxe.xml, line 2: declares the XML entity .xxe."
    ) as info:
        list(read_pubmed_xml([path]))
    assert "TOP-SECRET" not in str(info.value)


def test_pubmed_article_without_pmid_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "nopmid.xml"
    path.write_text(
        _pubmed_set(_article("", "T.", "<AbstractText>Text.</AbstractText>")), encoding="utf-8"
    )
    with pytest.raises(
        CorpusFormatError, match=r"nopmid\.xml: record #1 .* no MedlineCitation/PMID"
    ):
        list(read_pubmed_xml([path]))


# --------------------------------------------------------------------------- PubMedQA


def _pubmedqa_entry(question: str, contexts: list[str]) -> dict[str, object]:
    return {
        "QUESTION": question,
        "CONTEXTS": contexts,
        "LABELS": ["BACKGROUND", "RESULTS"][: len(contexts)],
        "MESHES": ["Humans"],
        "YEAR": "2011",
        "LONG_ANSWER": "It does.",
        "final_decision": "yes",
    }


def test_pubmedqa_entries_become_passages_with_the_question_in_meta(tmp_path: Path) -> None:
    path = tmp_path / "ori_pqal.json"
    path.write_text(
        json.dumps(
            {
                "21645374": _pubmedqa_entry(
                    "Do mitochondria matter?", ["PCD is regulated.", "Mitochondria move."]
                ),
                "123": _pubmedqa_entry("Is β-catenin stable?", ["β-catenin is degraded."]),
            }
        ),
        encoding="utf-8",
    )
    passages = list(read_pubmedqa([path]))
    assert [p.id for p in passages] == ["pubmedqa:21645374", "pubmedqa:123"]
    first = passages[0]
    assert first.text == "PCD is regulated. Mitochondria move."
    assert first.pmid == "21645374"
    assert first.title == ""
    assert first.meta == {
        "source": "pubmedqa",
        "question": "Do mitochondria matter?",
        "labels": ["BACKGROUND", "RESULTS"],
        "year": "2011",
    }
    assert "yes" not in json.dumps(first.meta)  # the answer is not leaked into the passage


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", r"bad\.json, line 1: not valid JSON"),
        ("[1, 2]", r"bad\.json: expected PubMedQA format"),
        ('{"555": {"QUESTION": "Q?"}}', r"bad\.json, PMID 555: 'CONTEXTS' must be a list"),
        ('{"555": {"CONTEXTS": "one string"}}', r"bad\.json, PMID 555: 'CONTEXTS' must be a list"),
        ('{"555": {"CONTEXTS": []}}', r"bad\.json, PMID 555: 'CONTEXTS' is empty"),
        ('{"555": "yes"}', r"bad\.json, PMID 555: expected an object .* not a ground-truth file"),
    ],
)
def test_malformed_pubmedqa_file_names_the_file_and_pmid(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=expected):
        list(read_pubmedqa([path]))


# --------------------------------------------------------------------------- read_corpus


def test_read_corpus_offers_every_reader() -> None:
    assert {
        "bc5cdr": read_bc5cdr,
        "bioasq": read_bioasq,
        "hoc": read_hoc,
        "jsonl": read_jsonl,
        "ncbi-disease": read_ncbi_disease,
        "pubmed": read_pubmed_xml,
        "pubmedqa": read_pubmedqa,
        "pubtator": read_pubtator_generic,
    } == READERS


def test_unknown_corpus_kind_lists_the_kinds_there_are(tmp_path: Path) -> None:
    with pytest.raises(CorpusFormatError) as info:
        read_corpus("medline", [tmp_path / "x.xml"])
    assert "'medline'" in str(info.value)
    for kind in READERS:
        assert kind in str(info.value)


def test_missing_corpus_file_is_named_before_anything_is_read(tmp_path: Path) -> None:
    good = _write_lines(tmp_path / "good.jsonl", ['{"id": "a", "text": "A."}'])
    missing = tmp_path / "typo.jsonl"
    with pytest.raises(CorpusFormatError, match=r"typo\.jsonl: no such file"):
        read_corpus("jsonl", [good, missing])  # raised by the call itself, not on iteration


def test_a_folder_given_as_corpus_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(CorpusFormatError, match="is a folder"):
        read_corpus("pubmed", [tmp_path])


def test_read_corpus_splits_long_passages_and_keeps_short_ones(tmp_path: Path) -> None:
    long_text = " ".join(f"Sentence number {i} is about aspirin." for i in range(40))
    path = _write_lines(
        tmp_path / "c.jsonl",
        [
            json.dumps({"id": "long", "text": long_text}),
            json.dumps({"id": "short", "text": "Brief."}),
        ],
    )
    passages = list(read_corpus("jsonl", path, max_tokens=30))  # one path, not a list
    ids = [p.id for p in passages]
    assert ids == [f"long#{i}" for i in range(13)] + ["short"]
    for passage in passages[:-1]:
        assert count_tokens(passage.text) <= 30
        offset = passage.meta["char_offset"]
        assert long_text[offset : offset + len(passage.text)] == passage.text


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 1), (10, -1)])
def test_read_corpus_refuses_window_settings_that_cannot_work(
    tmp_path: Path, max_tokens: int, overlap: int
) -> None:
    path = _write_lines(tmp_path / "c.jsonl", ['{"id": "a", "text": "A."}'])
    with pytest.raises(ValueError):
        read_corpus("jsonl", [path], max_tokens=max_tokens, overlap_sentences=overlap)


def test_a_snippets_offsets_move_in_with_the_white_space_stripped_from_its_text() -> None:
    from qa.corpus.bioasq import Snippet, snippet_passages

    document = "Background. MECP2 is mutated in Rett syndrome.  Next."
    text = document[11:48]  # " MECP2 ... syndrome.  " with a space before and two after
    snippet = Snippet(text, "http://www.ncbi.nlm.nih.gov/pubmed/1", "abstract", 11, 48)
    (passage,) = snippet_passages([snippet])
    assert passage.text == "MECP2 is mutated in Rett syndrome."
    assert document[passage.meta["begin"] : passage.meta["end"]] == passage.text
    (unplaced,) = snippet_passages([Snippet(" MECP2. ", "http://www.ncbi.nlm.nih.gov/pubmed/1")])
    assert (unplaced.meta["begin"], unplaced.meta["end"]) == (None, None)


# --------------------------------------------------------------------------- real data


@pytest.mark.integration
def test_bioasq_golden_snippets_become_distinct_passages(
    shared_file: Callable[[str], Path],
) -> None:
    path = shared_file(BIOASQ_10B1)
    raw = json.loads(path.read_text(encoding="utf-8"))
    snippets = [s["text"] for q in raw["questions"] for s in q.get("snippets", [])]
    distinct = {" ".join(t.split()) for t in snippets if t.strip()}
    assert len(snippets) == 850

    passages = list(read_bioasq([path]))
    assert len(passages) == len(distinct) == 834
    assert len({p.id for p in passages}) == len(passages)
    assert all(p.pmid.isdigit() for p in passages)
    assert all(p.text.strip() and p.text == p.text.strip() for p in passages)
    assert all(p.meta["source"] == "bioasq" for p in passages)


@pytest.mark.integration
def test_pubmedqa_labelled_set_gives_one_passage_per_pmid(
    shared_file: Callable[[str], Path],
) -> None:
    path = shared_file(PUBMEDQA_L)
    passages = list(read_pubmedqa([path]))
    assert len(passages) == 1000
    assert len({p.id for p in passages}) == 1000
    assert all(p.id == f"pubmedqa:{p.pmid}" and p.pmid.isdigit() for p in passages)
    assert all(p.text.strip() for p in passages)
    assert all(p.meta["question"].strip() for p in passages)
    by_pmid = {p.pmid: p for p in passages}
    assert by_pmid["21645374"].text.startswith("Programmed cell death (PCD) is the regulated death")
    assert by_pmid["21645374"].meta["labels"][0] == "BACKGROUND"


@pytest.mark.integration
def test_pubmedqa_ground_truth_file_is_refused_with_a_hint(
    shared_file: Callable[[str], Path],
) -> None:
    with pytest.raises(CorpusFormatError, match="not a ground-truth file"):
        list(read_pubmedqa([shared_file(PUBMEDQA_TRUTH)]))


@pytest.mark.integration
def test_real_pubmedqa_windows_fit_the_budget_and_slice_their_parent(
    shared_file: Callable[[str], Path],
) -> None:
    path = shared_file(PUBMEDQA_L)
    parents = {p.id: p for p in read_pubmedqa([path])}
    windows = list(read_corpus("pubmedqa", [path], max_tokens=200))
    assert (len(parents), len(windows)) == (1000, 1940)  # long abstracts: several windows
    assert len({w.id for w in windows}) == len(windows)
    for window in windows:
        parent = parents[window.meta.get("parent", window.id)]
        offset = window.meta.get("char_offset", 0)
        assert parent.text[offset : offset + len(window.text)] == window.text
        assert count_tokens(window.text) <= 200
