"""Whole abstracts of the annotated corpora as passages: PubTator files and Hallmarks of Cancer.

The NER and relation corpora are real PubMed abstracts with their PMIDs, so besides training
the taggers they make a generic biomedical corpus to retrieve from (open-domain PubMedQA
searches them together with the PubMedQA contexts). Only the text is kept: the annotations
are the corpora's labels, not part of the abstract.

* PubTator (``PMID|t|title``, ``PMID|a|abstract``, then tab-separated mentions and relations):
  BC5CDR's ``CDR_*.PubTator.txt``, the NCBI-disease corpus's ``NCBI*_corpus.txt``, BioRED's
  ``*.PubTator``. Parsed by :func:`qa.corpus.relations.pubtator.read_pubtator`, which also
  checks every mention against the text, so a damaged file is refused, not half-read. The
  NCBI-disease copy in ``../shared/data`` is the dmis-lab CoNLL one (tokens, no PMIDs, no
  document bounds): it cannot give whole abstracts, only the corpus's PubTator release can.
* Hallmarks of Cancer (``text/PMID.txt``): one abstract per file named after its PMID,
  tokenised (``( GHS-R )``), one sentence per line, no title. The text is kept as tokenised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from qa.corpus.files import read_lines
from qa.corpus.relations.pubtator import PubTatorDocument, read_pubtator
from qa.errors import CorpusFormatError
from qa.types import Passage

_TITLE = re.compile(r"^[^|\t]+\|t\|")
_PUBTATOR = "PubTator format ('PMID|t|title' and 'PMID|a|abstract' lines per document)"


def _pubtator_passage(doc: PubTatorDocument, source: str) -> Passage | None:
    title, abstract = doc.title.strip(), doc.abstract.strip()
    if not abstract and not title:
        return None
    return Passage(
        id=f"{source}:{doc.pmid}",
        text=abstract or title,
        title=title if abstract else "",
        pmid=doc.pmid if doc.pmid.isdigit() else "",
        meta={"source": source},
    )


def _check_pubtator_head(path: Path) -> None:
    """Refuse at once a file whose first line is not a PubTator title, e.g. a CoNLL token file."""
    for number, line in read_lines(path, universal_newlines=True):
        if not line.strip():
            continue
        if not _TITLE.match(line):
            raise CorpusFormatError(
                f"{path}, line {number}: not PubTator ('PMID|t|title' first), got "
                f"{line.strip()!r:.30}; a CoNLL token file has no abstracts, pass the PubTator one."
            )
        return


def read_pubtator_abstracts(paths: Iterable[str | Path], source: str) -> Iterator[Passage]:
    """One passage per document (title, abstract) of PubTator files, ids ``SOURCE:PMID``.

    A PMID already read (from an earlier file, or twice in one) is skipped: the copies of one
    abstract are the same text.
    """
    seen: set[str] = set()
    for path in map(Path, paths):
        _check_pubtator_head(path)
        documents = read_pubtator(path)
        if not documents:
            raise CorpusFormatError(f"{path}: no documents found; expected {_PUBTATOR}.")
        for doc in documents:
            passage = _pubtator_passage(doc, source)
            if passage is None or passage.id in seen:
                continue
            seen.add(passage.id)
            yield passage


def read_bc5cdr(paths: Iterable[str | Path]) -> Iterator[Passage]:
    """BC5CDR (``CDR_*.PubTator.txt``) abstracts, ids ``bc5cdr:PMID``."""
    return read_pubtator_abstracts(paths, "bc5cdr")


def read_ncbi_disease(paths: Iterable[str | Path]) -> Iterator[Passage]:
    """NCBI-disease abstracts from its PubTator release (``NCBI*_corpus.txt``), ids
    ``ncbi-disease:PMID``."""
    return read_pubtator_abstracts(paths, "ncbi-disease")


def read_pubtator_generic(paths: Iterable[str | Path]) -> Iterator[Passage]:
    """Any other PubTator file (BioRED, ...), ids ``pubtator:PMID``."""
    return read_pubtator_abstracts(paths, "pubtator")


def _hoc_passage(path: Path) -> Passage:
    pmid = path.name.removesuffix(".txt")
    if not pmid.isdigit():
        raise CorpusFormatError(
            f"{path}: a Hallmarks-of-Cancer abstract file is named after its PMID "
            f"(text/11724768.txt); pass the files of its text/ folder."
        )
    sentences = [line.strip() for _, line in read_lines(path, universal_newlines=True)]
    text = " ".join(s for s in sentences if s)
    if text.startswith("<"):
        raise CorpusFormatError(
            f"{path}: holds hallmark labels ('<...'), not an abstract; pass the files of "
            f"Hallmarks-of-Cancer's text/ folder, not labels/."
        )
    if not text:
        raise CorpusFormatError(f"{path}: the file is empty; expected an abstract's sentences.")
    return Passage(id=f"hoc:{pmid}", text=text, pmid=pmid, meta={"source": "hoc"})


def read_hoc(paths: Iterable[str | Path]) -> Iterator[Passage]:
    """One passage per Hallmarks-of-Cancer ``text/PMID.txt`` file, ids ``hoc:PMID``."""
    seen: set[str] = set()
    for path in map(Path, paths):
        passage = _hoc_passage(path)
        if passage.id not in seen:
            seen.add(passage.id)
            yield passage
