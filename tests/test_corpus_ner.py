"""NER corpora: CoNLL-style files read into sentences with the project's entity types."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.corpus.ner import (
    DEFAULT_TRAINING,
    bio_spans,
    char_spans,
    ner_corpora,
    read_ner_file,
    read_source,
    resolve_sources,
)
from qa.errors import CorpusFormatError


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_a_typed_conll_file_is_read_with_labels_mapped_onto_the_project_types(
    tmp_path: Path,
) -> None:
    file = write(
        tmp_path / "cdr.tsv",
        "\ufeff-DOCSTART-\tO\r\n\r\nAspirin\tB-Chemical\r\ninduced\tO\r\nasthma\tB-Disease\r\n"
        "\r\n\r\nBRCA1\tB-protein\nmice\tB-Species\n",
    )
    assert list(read_ner_file(file)) == [
        (["Aspirin", "induced", "asthma"], ["B-CHEMICAL", "O", "B-DISEASE"]),
        (["BRCA1", "mice"], ["B-GENE", "B-SPECIES"]),
    ]


@pytest.mark.parametrize(
    ("content", "line", "what"),
    [
        ("Aspirin\tB\ninduced\n", 2, "expected TOKEN<TAB>TAG"),
        ("Aspirin\tB\n\ninduced\tX-FOO\n", 3, "tag 'X-FOO' is not BIO"),
        ("Aspirin\tB\ninduced\tB-\n", 2, "tag 'B-' is not BIO"),
        ("Aspirin\tB\n\tO\n", 2, "expected TOKEN<TAB>TAG"),
    ],
)
def test_a_malformed_corpus_line_is_refused_with_file_and_line(
    tmp_path: Path, content: str, line: int, what: str
) -> None:
    file = write(tmp_path / "bad.tsv", content)
    with pytest.raises(CorpusFormatError, match=rf"bad\.tsv, line {line}: {re.escape(what)}"):
        list(read_ner_file(file, "CHEMICAL"))


def test_untyped_tags_in_an_unknown_file_ask_for_the_type(tmp_path: Path) -> None:
    file = write(tmp_path / "genes.tsv", "BRCA1\tB\nis\tO\n")
    [source] = resolve_sources([str(file)])
    with pytest.raises(CorpusFormatError, match=r"genes\.tsv, line 1.*FILE=TYPE"):
        read_source(source)
    [typed] = resolve_sources([f"{file}=gene"])
    assert typed.types == ("GENE",)
    assert read_source(typed)[0].labels == ["B-GENE", "O"]


def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    file = write(tmp_path / "latin.tsv", "Aspirin\tB\ncaf\xe9\tO\n", encoding="latin-1")
    with pytest.raises(CorpusFormatError, match=r"latin\.tsv, line 2: not UTF-8"):
        list(read_ner_file(file, "CHEMICAL"))


def test_bio_chunks_like_conlleval() -> None:
    tags = ["B-GENE", "I-GENE", "I-DISEASE", "O", "I-GENE", "B-GENE", "B-GENE", "I-GENE"]
    assert bio_spans(tags) == [
        (0, 2, "GENE"),
        (2, 3, "DISEASE"),
        (4, 5, "GENE"),
        (5, 6, "GENE"),
        (6, 8, "GENE"),
    ]


@pytest.mark.integration
def test_the_shared_corpora_read_with_their_published_counts(shared_data: Path) -> None:
    corpora = ner_corpora(shared_data)
    assert set(DEFAULT_TRAINING) == {
        "bc5cdr",
        "ncbi-disease",
        "bc2gm",
        "jnlpba",
        "linnaeus",
        "s800",
    }
    for corpus in corpora.values():
        for split in ("train", "dev", "test"):
            assert corpus.files[split].is_file(), corpus.files[split]

    def mentions(spec: str) -> dict[str, int]:
        [source] = resolve_sources([spec], data_dir=shared_data)
        counts: dict[str, int] = {}
        for sentence in read_source(source):
            for _, _, kind in bio_spans(sentence.labels):
                counts[kind] = counts.get(kind, 0) + 1
        return counts

    # Counts from shared/data/SOURCES.md.
    assert mentions("bc5cdr:test") == {"CHEMICAL": 5385, "DISEASE": 4424}
    assert mentions("ncbi-disease:test") == {"DISEASE": 960}
    assert mentions("bc2gm:dev") == {"GENE": 3061}
    assert mentions("s800:test") == {"SPECIES": 767}
    # The shared JNLPBA copy tags proteins/DNA/RNA only: cell types stay O (see qa.corpus.ner).
    [jnlpba] = resolve_sources(["jnlpba:dev"], data_dir=shared_data)
    for sentence in read_source(jnlpba):
        text, gold = char_spans(sentence)
        assert not any(text[a:b] in {"T cells", "lymphocytes", "monocytes"} for a, b, _ in gold)
