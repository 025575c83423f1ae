"""Hostile and damaged input files: each is refused with one line naming the file, never a
traceback, and none is read without bound (the readers' side of the error catalogue)."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.corpus import read_corpus
from qa.corpus.bioasq import load_golden
from qa.corpus.files import MAX_JSON_BYTES, MAX_LINE_BYTES
from qa.corpus.ner import read_ner_file
from qa.corpus.relations import read_relations
from qa.errors import CorpusFormatError, QAError
from qa.evaluate.bioasq import evaluate_bioasq

_ARTICLE = (
    "<PubmedArticle><MedlineCitation><PMID>{n}</PMID><Article><ArticleTitle>T{n}."
    "</ArticleTitle><Abstract><AbstractText>{text}</AbstractText></Abstract></Article>"
    "</MedlineCitation></PubmedArticle>\n"
)
_LAUGHS = "".join(  # lol9 expands to 10**9 "lol"s
    ' <!ENTITY lol{} "{}">\n'.format(i, f"&lol{i - 1};" * 10) for i in range(1, 10)
).replace("&lol0;", "&lol;")
_GOLD = {
    "questions": [
        {
            "id": "q1",
            "body": "Which gene?",
            "type": "factoid",
            "documents": ["http://www.ncbi.nlm.nih.gov/pubmed/1"],
            "snippets": [
                {
                    "text": "BRCA1 is a gene.",
                    "document": "http://www.ncbi.nlm.nih.gov/pubmed/1",
                    "beginSection": "abstract",
                    "endSection": "abstract",
                    "offsetInBeginSection": 0,
                    "offsetInEndSection": 15,
                }
            ],
            "exact_answer": [["brca1"]],
        }
    ]
}


def _refusal(read: Callable[[], object]) -> str:
    """The message of the CorpusFormatError that ``read`` raises; it must be one line."""
    with pytest.raises(CorpusFormatError) as info:
        read()
    assert isinstance(info.value, QAError)
    message = str(info.value)
    assert "\n" not in message
    return message


def _pubmed(path: Path) -> Callable[[], object]:
    return lambda: list(read_corpus("pubmed", [path]))


def _jsonl(path: Path) -> Callable[[], object]:
    return lambda: list(read_corpus("jsonl", [path]))


def _write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _submission_with_offset(tmp_path: Path, offset: object) -> Path:
    snippet = {**_GOLD["questions"][0]["snippets"][0], "offsetInBeginSection": offset}
    question = {**_GOLD["questions"][0], "snippets": [snippet]}
    return _write_json(tmp_path / "submission.json", {"questions": [question]})


def test_a_jsonl_line_nested_100k_deep_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"id": "a", "text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    assert _refusal(_jsonl(path)) == (
        f"{path}, line 1: JSON nested too deeply to read (hundreds of levels); "
        "this is not a corpus file."
    )


def test_a_bioasq_file_nested_100k_deep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"questions": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert _refusal(lambda: load_golden([path])) == (
        f"{path}: JSON nested too deeply to read (hundreds of levels); this is not a corpus file."
    )


def test_a_line_longer_than_the_bound_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    path.write_bytes(b'{"id": "a", "text": "' + b"a" * MAX_LINE_BYTES + b'"}\n')
    assert _refusal(_jsonl(path)) == (
        f"{path}, line 1: longer than 16 MiB; a corpus line is one passage, sentence or record."
    )


def test_a_number_of_thousands_of_digits_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "digits.jsonl"
    path.write_text('{"id": ' + "9" * 5000 + ', "text": "t"}\n')
    assert _refusal(_jsonl(path)) == (
        f"{path}, line 1: holds a number too long to read (over 4,300 digits)."
    )


def test_a_pubmed_download_cut_short_names_the_gzip_file(tmp_path: Path) -> None:
    articles = "".join(_ARTICLE.format(n=n, text=f"Abstract {n}.") for n in range(1, 200))
    data = gzip.compress(f"<PubmedArticleSet>\n{articles}</PubmedArticleSet>\n".encode())
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(data[: len(data) // 2])
    assert _refusal(_pubmed(path)) == (
        f"{path}: the gzip data ends early (the file was cut short); fetch it again."
    )


def test_gzip_data_damaged_mid_stream_names_the_file(tmp_path: Path) -> None:
    # A first gzip member that reads well, then one whose deflate data is garbage.
    first = gzip.compress(("<PubmedArticleSet>\n" + _ARTICLE.format(n=1, text="A.")).encode())
    second = gzip.compress(b"</PubmedArticleSet>\n")[:10] + b"\xff" * 32
    path = tmp_path / "damaged.xml.gz"
    path.write_bytes(first + second)
    assert _refusal(_pubmed(path)) == (
        f"{path}: damaged gzip data (Error -3 while decompressing data: invalid block type); "
        "fetch the file again."
    )


def test_gzip_with_a_wrong_checksum_names_the_file(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(b"<PubmedArticleSet>\n</PubmedArticleSet>\n", mtime=0))
    data[-8] ^= 0xFF  # the CRC-32 of the trailer
    path = tmp_path / "crc.xml.gz"
    path.write_bytes(bytes(data))
    message = _refusal(_pubmed(path))
    assert message.startswith(f"{path}: damaged gzip data (CRC check failed 0x")
    assert message.endswith("); fetch the file again.")


@pytest.mark.parametrize("reader", ["pubmed", "ddi"])
def test_a_billion_laughs_is_refused_at_once(tmp_path: Path, reader: str) -> None:
    path = tmp_path / "laughs.xml"
    root = "PubmedArticleSet" if reader == "pubmed" else "document"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [\n <!ENTITY lol "lol">\n{_LAUGHS}]>\n'
        f"<{root}>&lol9;</{root}>\n"
    )
    started = time.monotonic()
    read = _pubmed(path) if reader == "pubmed" else lambda: read_relations([path])
    assert _refusal(read) == (
        f"{path}, line 3: declares the XML entity 'lol'; entity declarations are refused "
        "(they can expand without bound or read other files), and corpus files have none."
    )
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("reader", ["pubmed", "ddi"])
def test_an_external_entity_is_refused_and_the_file_it_names_never_read(
    tmp_path: Path, reader: str
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    path = tmp_path / "xxe.xml"
    root = "PubmedArticleSet" if reader == "pubmed" else "document"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        f"<{root}>&xxe;</{root}>\n"
    )
    read = _pubmed(path) if reader == "pubmed" else lambda: read_relations([path])
    assert _refusal(read) == (
        f"{path}, line 2: declares the XML entity 'xxe'; entity declarations are refused "
        "(they can expand without bound or read other files), and corpus files have none."
    )


def test_an_xml_file_in_an_encoding_expat_cannot_use_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b64.xml"
    path.write_text('<?xml version="1.0" encoding="base64"?>\n<document/>\n')
    assert _refusal(lambda: read_relations([path])) == (
        f"{path}: declares an encoding the XML parser cannot read ('base64' is not a text "
        "encoding; use codecs.decode() to handle arbitrary codecs); save it as UTF-8."
    )


def test_bioasq_documents_given_as_a_number_names_the_question_and_field(tmp_path: Path) -> None:
    question = {**_GOLD["questions"][0], "documents": 5}
    path = _write_json(tmp_path / "gold.json", {"questions": [question]})
    expected = f"{path}, question q1: 'documents' must be a list of strings, got 5."
    assert _refusal(lambda: load_golden([path])) == expected
    assert _refusal(lambda: evaluate_bioasq(path, path, 9)) == expected


@pytest.mark.parametrize(
    ("offset", "shown"),
    [
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        ("3", '"3"'),
        (2.5, "2.5"),
        (2**40, "1099511627776"),
    ],
)
def test_a_submission_offset_that_is_no_integer_is_refused_by_the_scorer(
    tmp_path: Path, offset: object, shown: str
) -> None:
    gold = _write_json(tmp_path / "gold.json", _GOLD)
    submission = _submission_with_offset(tmp_path, offset)
    assert _refusal(lambda: evaluate_bioasq(gold, submission, 9)) == (
        f"{submission}, question q1: 'offsetInBeginSection' must be an integer character "
        f"offset, got {shown}."
    )


def test_a_negative_offset_as_in_real_golden_files_still_scores(tmp_path: Path) -> None:
    gold = _write_json(tmp_path / "gold.json", _GOLD)
    submission = _submission_with_offset(tmp_path, -1)
    scores = evaluate_bioasq(gold, submission, 9)
    assert scores["phase_a"]["snippets"]["questions"] == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("snippets", {"a": 1}, "'snippets' must be a list of objects, got {\"a\": 1}."),
        ("body", 7, "'body' must be a non-empty string, got 7."),
        ("ideal_answer", 3, "'ideal_answer' must be a string or a list of strings, got 3."),
        (
            "exact_answer",
            [{"a": 1}],
            "'exact_answer' of a factoid question must be a list of lists of strings "
            '(e.g. [["answer", "synonym"]]), got [{"a": 1}].',
        ),
    ],
)
def test_a_golden_field_of_the_wrong_type_names_the_question_and_field(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    path = _write_json(
        tmp_path / "gold.json", {"questions": [{**_GOLD["questions"][0], field: value}]}
    )
    assert _refusal(lambda: load_golden([path])) == f"{path}, question q1: {message}"


def test_a_submitted_exact_answer_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    gold = _write_json(tmp_path / "gold.json", _GOLD)
    question = {**_GOLD["questions"][0], "exact_answer": "brca1"}
    submission = _write_json(tmp_path / "submission.json", {"questions": [question]})
    assert _refusal(lambda: evaluate_bioasq(gold, submission, 9)) == (
        f"{submission}, question q1: 'exact_answer' must be a list of lists for a factoid "
        'question, got "brca1".'
    )


def test_questions_that_are_not_a_list_are_refused(tmp_path: Path) -> None:
    path = _write_json(tmp_path / "gold.json", {"questions": 5})
    assert _refusal(lambda: evaluate_bioasq(path, path, 9)) == (
        f'{path}: "questions" must be a list of question objects, got 5.'
    )


def test_files_that_are_not_utf8_name_the_file_and_line(tmp_path: Path) -> None:
    golden = tmp_path / "latin1.json"
    golden.write_bytes('{"questions": [{"id": "q1", "body": "caf\xe9"}]}'.encode("latin-1"))
    assert _refusal(lambda: load_golden([golden])) == (
        f"{golden}: not UTF-8 text (invalid continuation byte)."
    )
    pubtator = tmp_path / "latin1.pubtator"
    pubtator.write_bytes("1|t|caf\xe9\n".encode("latin-1"))
    assert _refusal(lambda: read_relations([pubtator])) == (
        f"{pubtator}, line 1: not UTF-8 text (invalid continuation byte); save the file as UTF-8."
    )


def test_a_gzipped_jsonl_corpus_is_refused_with_the_command_to_unzip_it(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(gzip.compress(b'{"id": "a", "text": "b"}\n'))
    assert _refusal(_jsonl(path)) == f"{path}: is gzip-compressed; unzip it first (gunzip {path})."


def test_empty_files_are_refused_with_what_was_expected(tmp_path: Path) -> None:
    golden = tmp_path / "empty.json"
    golden.write_text("")
    assert _refusal(lambda: load_golden([golden])) == (
        f"{golden}: the file is empty; expected a BioASQ JSON file ({{'questions': [...]}})."
    )
    pubmed = tmp_path / "empty.xml"
    pubmed.write_text("")
    assert _refusal(_pubmed(pubmed)) == (
        f"{pubmed}: the file is empty; expected PubMed XML (.xml or .xml.gz)."
    )


def test_a_folder_given_as_a_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "gold.json"
    folder.mkdir()
    expected = f"{folder}: is a folder; pass a file."
    assert _refusal(lambda: load_golden([folder])) == expected
    assert _refusal(lambda: evaluate_bioasq(folder, folder, 9)) == expected
    assert _refusal(lambda: list(read_ner_file(folder))) == expected


def test_a_json_file_over_the_size_bound_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as fh:
        fh.truncate(MAX_JSON_BYTES + 1)  # sparse: nothing is written, nothing is read
    assert _refusal(lambda: load_golden([path])) == (
        f"{path}: over 2 GiB, too large to be a BioASQ JSON file ({{'questions': [...]}})."
    )
