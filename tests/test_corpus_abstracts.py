"""Whole abstracts of the annotated corpora as passages: BC5CDR, NCBI-disease, HoC, PubTator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qa.corpus import read_bc5cdr, read_corpus, read_hoc, read_ncbi_disease
from qa.errors import CorpusFormatError

TITLE = "Lithium and the heart."
ABSTRACT = "Lithium carbonate may cause tricuspid regurgitation. It is rare."
PUBTATOR = f"""6794356|t|{TITLE}
6794356|a|{ABSTRACT}
6794356\t0\t7\tLithium\tChemical\tD008094
6794356\t51\t74\ttricuspid regurgitation\tDisease\tD014262
6794356\tCID\tD008094\tD014262

123|t|A title only.
123|a|
"""
NCBI = f"""9999|t|{TITLE}
9999|a|{ABSTRACT}
9999\t51\t74\ttricuspid regurgitation\tSpecificDisease\tD014262
"""
HOC = "Ghrelin was identified in the stomach ( GHS-R ) .\nGHS-R is found in various tissues .\n"
BC5CDR_GLOB = "ner/cryptoradon__biomedRelExt/CDR_Data__CDR.Corpus.v010516__CDR_*Set.PubTator.txt"
HOC_TEXT = "pubmed/sb895__Hallmarks-of-Cancer/text"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_bc5cdr_abstract_becomes_one_passage_with_its_title_and_pmid(tmp_path: Path) -> None:
    passages = list(read_bc5cdr([_write(tmp_path / "CDR.PubTator.txt", PUBTATOR)]))
    assert [p.id for p in passages] == ["bc5cdr:6794356", "bc5cdr:123"]
    first = passages[0]
    assert (first.title, first.text, first.pmid) == (TITLE, ABSTRACT, "6794356")
    assert first.meta == {"source": "bc5cdr"}  # the annotations are labels, not abstract text
    assert (passages[1].title, passages[1].text) == ("", "A title only.")


def test_a_pmid_in_two_pubtator_files_is_read_once(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.txt", PUBTATOR)
    b = _write(tmp_path / "b.txt", PUBTATOR)
    assert [p.id for p in read_bc5cdr([a, b])] == ["bc5cdr:6794356", "bc5cdr:123"]


def test_ncbi_disease_pubtator_release_is_read_with_its_own_mention_types(tmp_path: Path) -> None:
    (passage,) = read_ncbi_disease([_write(tmp_path / "NCBItrainset_corpus.txt", NCBI)])
    assert (passage.id, passage.pmid, passage.text) == ("ncbi-disease:9999", "9999", ABSTRACT)


def test_a_conll_token_file_is_refused_as_pubtator_with_a_hint(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.tsv", "Identification\tO\nof\tO\n")
    with pytest.raises(CorpusFormatError, match=r"train\.tsv, line 1: not PubTator.*CoNLL"):
        list(read_ncbi_disease([path]))


def test_a_mention_that_does_not_match_the_text_is_refused(tmp_path: Path) -> None:
    damaged = PUBTATOR.replace("0\t7\tLithium", "1\t8\tLithium")
    with pytest.raises(CorpusFormatError, match=r"line 3: mention 'Lithium' at 1-8"):
        list(read_bc5cdr([_write(tmp_path / "bad.txt", damaged)]))


def test_an_empty_pubtator_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CorpusFormatError, match="no documents found"):
        list(read_bc5cdr([_write(tmp_path / "empty.txt", "\n")]))


def test_hoc_file_becomes_one_passage_named_by_its_pmid(tmp_path: Path) -> None:
    (passage,) = read_hoc([_write(tmp_path / "text" / "11724768.txt", HOC)])
    assert (passage.id, passage.pmid, passage.title) == ("hoc:11724768", "11724768", "")
    assert passage.text == (
        "Ghrelin was identified in the stomach ( GHS-R ) . GHS-R is found in various tissues ."
    )
    assert passage.meta == {"source": "hoc"}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("notes.txt", HOC, r"notes\.txt: a Hallmarks-of-Cancer abstract file is named after"),
        ("123.txt", "<Sustaining proliferative signaling< <\n", "holds hallmark labels"),
        ("124.txt", "\n\n", "the file is empty"),
    ],
)
def test_wrong_hoc_files_are_refused_with_what_to_pass(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    with pytest.raises(CorpusFormatError, match=expected):
        list(read_hoc([_write(tmp_path / name, content)]))


def test_read_corpus_cuts_long_abstracts_into_windows_of_their_pmid(tmp_path: Path) -> None:
    long_text = "\n".join(f"Sentence {i} is about ghrelin and GHS-R ." for i in range(40))
    path = _write(tmp_path / "555.txt", long_text)
    windows = list(read_corpus("hoc", [path], max_tokens=30))
    assert len(windows) > 1
    assert [w.id for w in windows] == [f"hoc:555#{i}" for i in range(len(windows))]
    assert {w.pmid for w in windows} == {"555"}


# --------------------------------------------------------------------------- real data


@pytest.mark.integration
def test_bc5cdr_pubtator_files_give_1500_abstracts(shared_data: Path) -> None:
    files = sorted(shared_data.glob(BC5CDR_GLOB))
    assert len(files) == 3
    passages = list(read_bc5cdr(files))
    assert len(passages) == 1500
    assert all(p.pmid.isdigit() and p.id == f"bc5cdr:{p.pmid}" for p in passages)
    assert all(p.title.strip() and p.text.strip() for p in passages)


@pytest.mark.integration
def test_hoc_text_folder_gives_1852_abstracts(shared_file: Callable[[str], Path]) -> None:
    folder = shared_file(f"{HOC_TEXT}/11724768.txt").parent
    passages = list(read_hoc(sorted(folder.glob("*.txt"))))
    assert len(passages) == 1852
    assert all(p.pmid.isdigit() and p.text.strip() for p in passages)
    first = {p.pmid: p for p in passages}["11724768"]
    assert first.text.startswith("Ghrelin was identified in the stomach as an endogenous ligand")


@pytest.mark.integration
def test_the_shared_ncbi_disease_copy_is_conll_and_refused_as_abstracts(
    shared_file: Callable[[str], Path],
) -> None:
    path = shared_file("ner/BioMedBERT__biomedbert/datasets__NER__NCBI-disease__train.tsv")
    with pytest.raises(CorpusFormatError, match="not PubTator"):
        list(read_ncbi_disease([path]))
