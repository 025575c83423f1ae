"""Property-based tests: whatever a corpus file or a submission holds, the readers and the
BioASQ scorer either work or raise a :class:`~qa.errors.QAError` (one line naming the file),
never another exception."""

from __future__ import annotations

import gzip
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa.corpus import read_corpus
from qa.corpus.bioasq import load_golden
from qa.corpus.ner import read_ner_file
from qa.corpus.relations import read_relations
from qa.corpus.relations.chemprot import read_chemprot
from qa.errors import QAError
from qa.evaluate.bioasq import VERSIONS, evaluate_bioasq, evaluate_phase_a, evaluate_phase_b

# QA_PROPERTY_EXAMPLES=2000 searches harder (the default keeps the file well under a minute).
PROPERTY = settings(
    max_examples=int(os.environ.get("QA_PROPERTY_EXAMPLES", "100")),
    deadline=2000,
    database=None,  # nothing written into the checkout; a failure prints its example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
WORDS = st.sampled_from(
    ["BRCA1", "gene", "aspirin", "<<", ">>", "[[", "]]", "@GENE$", " ", "é", "\t", "|"]
)
TEXT = st.lists(WORDS, max_size=8).map(" ".join) | st.text(max_size=20)
# Values that broke or could break a reader: the hostile ones are drawn as often as valid ones.
ODD = (
    st.sampled_from(
        [math.nan, math.inf, -math.inf, -1, 2**31, 2**63, 1.5, 7.0, "3", "", None, True, [], {}]
    )
    | JSONISH
)
DOCUMENTS = st.sampled_from(["http://www.ncbi.nlm.nih.gov/pubmed/1", "http://x/2", "3", ""])
SECTIONS = st.sampled_from(["abstract", "title", "sections.0"])
OFFSETS = st.integers(min_value=-2, max_value=40) | ODD
SNIPPET = st.fixed_dictionaries(
    {
        "document": DOCUMENTS,
        "beginSection": SECTIONS,
        "endSection": SECTIONS,
        "offsetInBeginSection": st.integers(min_value=0, max_value=40),
        "offsetInEndSection": st.integers(min_value=0, max_value=40),
    },
    optional={"text": TEXT | ODD},
)
# A snippet with one field replaced by any value (or left out).
SNIPPET_KEYS = ("text", "document", "beginSection", "endSection", "offsetInBeginSection")
ODD_SNIPPET = st.tuples(SNIPPET, st.sampled_from(SNIPPET_KEYS), OFFSETS | ODD).map(
    lambda t: {**t[0], t[1]: t[2]}
) | SNIPPET.map(lambda s: {k: v for k, v in s.items() if k != "offsetInEndSection"})
ANSWER_ITEM = st.lists(st.sampled_from(["brca1", "BRCA1", "tp53", "yes"]), max_size=3)
EXACT = st.lists(ANSWER_ITEM, max_size=3) | st.sampled_from(["yes", "no", "Not known"])
QUESTION = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["q1", "q2", "q3", "q4"]),
        "type": st.sampled_from(["factoid", "list", "yesno", "summary"]),
        "documents": st.lists(DOCUMENTS, max_size=4),
        "snippets": st.lists(SNIPPET | ODD_SNIPPET, max_size=3),
        "exact_answer": EXACT,
    },
    optional={"body": TEXT, "ideal_answer": st.lists(TEXT, max_size=2)},
)
QUESTION_KEYS = ("id", "type", "documents", "snippets", "exact_answer", "body", "ideal_answer")
# A question with one field replaced by any value (or left out), and one with odd list items.
ODD_QUESTION = (
    st.tuples(QUESTION, st.sampled_from(QUESTION_KEYS), ODD).map(lambda t: {**t[0], t[1]: t[2]})
    | st.tuples(QUESTION, st.sampled_from(QUESTION_KEYS)).map(
        lambda t: {k: v for k, v in t[0].items() if k != t[1]}
    )
    | st.tuples(QUESTION, st.lists(ODD, min_size=1, max_size=2)).map(
        lambda t: {**t[0], "documents": t[1], "exact_answer": [t[1]]}
    )
)
SUBMISSION = (
    st.fixed_dictionaries({"questions": st.lists(QUESTION | ODD_QUESTION, max_size=4)})
    | st.fixed_dictionaries({"questions": st.lists(QUESTION | ODD, max_size=2)})
    | ODD
)

_DOC = "http://www.ncbi.nlm.nih.gov/pubmed/{}"
GOLD = {
    "questions": [
        {
            "id": f"q{n}",
            "body": f"Question {n}?",
            "type": qtype,
            "documents": [_DOC.format(n), _DOC.format(n + 10)],
            "snippets": [
                {
                    "text": "BRCA1 is a gene.",
                    "document": _DOC.format(n),
                    "beginSection": "abstract",
                    "endSection": "abstract",
                    "offsetInBeginSection": 0,
                    "offsetInEndSection": 15,
                }
            ],
            **({"exact_answer": answer} if answer is not None else {}),
        }
        for n, qtype, answer in [
            (1, "factoid", [["brca1", "breast cancer 1"]]),
            (2, "list", [["brca1"], ["tp53"]]),
            (3, "yesno", "yes"),
            (4, "summary", None),
        ]
    ]
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


def _only_qa_errors(read: Callable[[], Any]) -> None:
    """Run ``read``; a QAError is an answer (one line), any other exception fails the test."""
    try:
        read()
    except QAError as exc:
        assert "\n" not in str(exc)


def _json_text(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


@PROPERTY
@given(lines=st.lists(st.one_of(JSONISH.map(_json_text), st.text(max_size=30)), max_size=5))
def test_any_jsonl_lines_read_as_passages_or_a_qa_error(folder: Path, lines: list[str]) -> None:
    path = folder / "corpus.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    _only_qa_errors(lambda: list(read_corpus("jsonl", [path])))


@PROPERTY
@given(data=st.binary(max_size=200))
def test_any_bytes_as_a_jsonl_corpus_give_passages_or_a_qa_error(folder: Path, data: bytes) -> None:
    path = folder / "bytes.jsonl"
    path.write_bytes(data)
    _only_qa_errors(lambda: list(read_corpus("jsonl", [path])))


@PROPERTY
@given(data=SUBMISSION)
def test_any_bioasq_golden_json_loads_or_gives_a_qa_error(folder: Path, data: Any) -> None:
    path = folder / "golden.json"
    path.write_text(_json_text(data), encoding="utf-8", errors="surrogatepass")
    _only_qa_errors(lambda: load_golden([path]))
    _only_qa_errors(lambda: list(read_corpus("bioasq", [path])))


_PUBMED_PARTS = st.sampled_from(
    [
        "<PubmedArticle>",
        "</PubmedArticle>",
        "<MedlineCitation>",
        "</MedlineCitation>",
        "<PMID>12</PMID>",
        "<PMID></PMID>",
        "<Article>",
        "</Article>",
        "<Abstract>",
        "</Abstract>",
        '<AbstractText Label="BACKGROUND">',
        "<AbstractText>",
        "</AbstractText>",
        "<ArticleTitle>T</ArticleTitle>",
        "<DeleteCitation><PMID>3</PMID></DeleteCitation>",
        "<BookDocument>",
        "</BookDocument>",
        "<PubmedBookArticle>",
        "</PubmedBookArticle>",
        "&amp;",
        "&bogus;",
        "text",
        "<!-- c -->",
    ]
)


@PROPERTY
@given(
    parts=st.lists(_PUBMED_PARTS | st.text(max_size=5), max_size=30),
    zipped=st.booleans(),
    cut=st.integers(min_value=0, max_value=400),
)
def test_any_pubmed_xml_gives_passages_or_a_qa_error(
    folder: Path, parts: list[str], zipped: bool, cut: int
) -> None:
    xml = (
        '<?xml version="1.0"?>\n<PubmedArticleSet>' + "".join(parts) + "</PubmedArticleSet>"
    ).encode("utf-8", "surrogatepass")
    data = gzip.compress(xml) if zipped else xml
    path = folder / ("pubmed.xml.gz" if zipped else "pubmed.xml")
    path.write_bytes(data[: max(cut, 1)] if cut < len(data) and cut % 2 else data)
    _only_qa_errors(lambda: list(read_corpus("pubmed", [path])))


_PUBTATOR_LINE = st.one_of(
    st.tuples(st.sampled_from(["1", "2", ""]), st.sampled_from(["t", "a"]), TEXT).map("|".join),
    st.lists(
        st.sampled_from(
            ["1", "2", "0", "5", "-1", "x", "BRCA1", "Chemical", "Disease", "CID", "D1", "D1|D2"]
        )
        | TEXT,
        min_size=1,
        max_size=7,
    ).map("\t".join),
    st.just(""),
)


@PROPERTY
@given(lines=st.lists(_PUBTATOR_LINE, max_size=8))
def test_any_pubtator_file_gives_examples_or_a_qa_error(folder: Path, lines: list[str]) -> None:
    path = folder / "cdr.pubtator.txt"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    _only_qa_errors(lambda: read_relations([path]))


_CHEMPROT_RECORD = st.fixed_dictionaries(
    {},
    optional={
        "text": TEXT | JSONISH,
        "label": st.sampled_from(["INHIBITOR", "CPR:3", "false", "NOT", "odd"]) | JSONISH,
        "metadata": JSONISH,
    },
)


@PROPERTY
@given(records=st.lists(_CHEMPROT_RECORD | JSONISH, min_size=1, max_size=5))
def test_any_chemprot_lines_give_examples_or_a_qa_error(folder: Path, records: list[Any]) -> None:
    path = folder / "chemprot.jsonl"
    path.write_text("\n".join(map(_json_text, records)), encoding="utf-8")
    _only_qa_errors(lambda: read_chemprot(path))


_DDI_ELEMENT = st.one_of(
    st.fixed_dictionaries({"text": TEXT}).map(lambda a: ("sentence", a)),
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.sampled_from(["e0", "e1"]),
            "charOffset": st.sampled_from(["0-4", "0-0", "2-1", "0-4;6-9", "x", "-1-3", "99-100"]),
            "text": st.sampled_from(["BRCA", "gene", ""]),
        },
    ).map(lambda a: ("entity", a)),
    st.fixed_dictionaries(
        {},
        optional={
            "e1": st.sampled_from(["e0", "e1", "e9"]),
            "e2": st.sampled_from(["e0", "e1"]),
            "ddi": st.sampled_from(["true", "false", "maybe"]),
            "type": st.sampled_from(["advise", "effect", "int", "odd"]),
        },
    ).map(lambda a: ("pair", a)),
)


def _xml_element(element: tuple[str, dict[str, str]]) -> str:
    name, attrs = element
    quoted = " ".join(
        f'{k}="{v}"'.replace("&", "&amp;").replace("<", "&lt;") for k, v in attrs.items()
    )
    return f"<{name} {quoted}/>"


@PROPERTY
@given(elements=st.lists(_DDI_ELEMENT, max_size=6))
def test_any_ddi_xml_gives_examples_or_a_qa_error(folder: Path, elements: list[Any]) -> None:
    path = folder / "ddi.xml"
    body = "".join(_xml_element(e) for e in elements)
    path.write_text(
        f'<?xml version="1.0"?>\n<document id="d">{body}</document>\n',
        encoding="utf-8",
        errors="surrogatepass",
    )
    _only_qa_errors(lambda: read_relations([path]))


_NER_LINE = st.one_of(
    st.tuples(TEXT, st.sampled_from(["O", "B", "I", "B-Chemical", "I-GENE", "X", "B-", ""])).map(
        "\t".join
    ),
    TEXT,
    st.just(""),
    st.just("-DOCSTART-\tO"),
)


@PROPERTY
@given(lines=st.lists(_NER_LINE, max_size=8), typed=st.booleans())
def test_any_conll_file_gives_sentences_or_a_qa_error(
    folder: Path, lines: list[str], typed: bool
) -> None:
    path = folder / "ner.tsv"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    _only_qa_errors(lambda: list(read_ner_file(path, "" if typed else "GENE")))


@PROPERTY
@given(
    key=st.sampled_from(["offsetInBeginSection", "offsetInEndSection"]),
    offset=OFFSETS,
    version=st.sampled_from(VERSIONS),
)
@example(key="offsetInBeginSection", offset=math.nan, version=9)
@example(key="offsetInEndSection", offset=-math.inf, version=9)
def test_any_snippet_offset_is_scored_or_refused_with_a_qa_error(
    key: str, offset: Any, version: int
) -> None:
    question = GOLD["questions"][0]
    snippet = {**question["snippets"][0], key: offset}
    submission = {"questions": [{**question, "snippets": [snippet]}]}
    _only_qa_errors(lambda: evaluate_phase_a(GOLD, submission, version))


@PROPERTY
@given(submission=SUBMISSION, version=st.sampled_from(VERSIONS))
def test_any_submission_is_scored_or_refused_with_a_qa_error(submission: Any, version: int) -> None:
    _only_qa_errors(lambda: evaluate_phase_a(GOLD, submission, version))
    _only_qa_errors(lambda: evaluate_phase_b(GOLD, submission, version, max_factoid_answers=5))


@PROPERTY
@given(submission=SUBMISSION, version=st.sampled_from(VERSIONS))
def test_any_submission_file_is_scored_or_refused_with_a_qa_error(
    folder: Path, submission: Any, version: int
) -> None:
    gold, path = folder / "gold.json", folder / "submission.json"
    gold.write_text(json.dumps(GOLD), encoding="utf-8")
    path.write_text(_json_text(submission), encoding="utf-8", errors="surrogatepass")
    _only_qa_errors(lambda: evaluate_bioasq(gold, path, version))


@PROPERTY
@given(gold=SUBMISSION)
def test_any_gold_is_scored_against_itself_or_refused_with_a_qa_error(gold: Any) -> None:
    _only_qa_errors(lambda: evaluate_phase_a(gold, gold, 9))
    _only_qa_errors(lambda: evaluate_phase_b(gold, gold, 9))
