"""PubMed/MEDLINE XML (the annual baseline and daily update files) as passages.

A baseline file is ``<PubmedArticleSet>`` holding tens of thousands of ``<PubmedArticle>``
records (100s of MB once unzipped), so it is streamed with ``iterparse`` and every record is
dropped from the tree as soon as it has become a passage. Only ``Article/Abstract`` is read:
``OtherAbstract`` (translations, plain-language summaries) and the PMIDs quoted in
``CommentsCorrectionsList`` belong to other documents or repeat this one.

The stdlib parser (expat through ElementTree) never fetches a DTD: the
``<!DOCTYPE ... "https://dtd.nlm.nih.gov/...">`` line of every file is not downloaded. Before
that parse, the prolog (everything before the first element) is read once by an expat parser
that refuses entity declarations, so a "billion laughs" or an external entity naming a local
file is refused at once; a real PubMed file declares none.
"""

from __future__ import annotations

import gzip
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.parsers import expat

import numpy as np

from qa.corpus.files import (
    GZIP_ERRORS,
    GZIP_MAGIC,
    encoding_error,
    gzip_error,
    refuse_entities,
)
from qa.errors import CorpusFormatError
from qa.types import Passage

_log = logging.getLogger(__name__)

_ARTICLE_TAGS = frozenset({"PubmedArticle", "PubmedBookArticle"})
_RECORD_TAGS = _ARTICLE_TAGS | {"DeleteCitation"}
# Labels that carry no information and would only add noise to the text.
_NO_LABEL = frozenset({"", "UNLABELLED", "UNASSIGNED"})


@dataclass
class PubmedStats:
    """What a read skipped, so a caller can report it (the reader itself never fails on it)."""

    articles: int = 0
    passages: int = 0
    without_abstract: int = 0
    duplicates: int = 0
    deletions_ignored: int = 0


class SeenPmids:
    """The PMIDs read so far, in 4 bytes each: a set for the file being read, folded into a
    sorted uint32 array when the next file begins. All of PubMed (36M records) takes 144 MB
    this way, where a set of strings would take about 3 GB."""

    def __init__(self) -> None:
        self.earlier = np.empty(0, dtype=np.uint32)
        self.current: set[str] = set()
        self.odd: set[str] = set()  # a PMID that is not a 32-bit number (none in PubMed today)

    def next_file(self) -> None:
        numbers = np.fromiter((int(p) for p in self.current), dtype=np.uint32)
        self.earlier = np.union1d(self.earlier, numbers)
        self.current = set()

    def add(self, pmid: str) -> None:
        if pmid.isdigit() and int(pmid) < 2**32:
            self.current.add(pmid)
        else:
            self.odd.add(pmid)

    def __contains__(self, pmid: str) -> bool:
        if pmid in self.current or pmid in self.odd:
            return True
        if not (pmid.isdigit() and int(pmid) < 2**32) or not len(self.earlier):
            return False
        at = min(int(np.searchsorted(self.earlier, int(pmid))), len(self.earlier) - 1)
        return int(self.earlier[at]) == int(pmid)


def _open(path: Path) -> IO[bytes]:
    """The file as bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    if not path.is_file():
        raise CorpusFormatError(f"{path}: no such file.")
    if path.is_dir():
        raise CorpusFormatError(
            f"{path}: is a folder; pass the files in it (e.g. {path}/*.xml.gz)."
        )
    with path.open("rb") as fh:
        magic = fh.read(2)
    if not magic:
        raise CorpusFormatError(
            f"{path}: the file is empty; expected PubMed XML (.xml or .xml.gz)."
        )
    return gzip.open(path, "rb") if magic == GZIP_MAGIC else path.open("rb")


class _FirstElement(Exception):
    """The prolog check has reached the root element: nothing more to check."""


def _check_prolog(path: Path) -> None:
    """Refuse a file that declares entities, reading only what comes before the root element.

    A syntax error there is left to the parse proper, which reports it with its position.
    """
    parser = expat.ParserCreate()
    refuse_entities(parser, path)

    def first_element(*_: object) -> None:
        raise _FirstElement

    parser.StartElementHandler = first_element
    with _open(path) as fh:
        try:
            while chunk := fh.read(1 << 16):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except (_FirstElement, expat.ExpatError):
            return


def _records(path: Path) -> Iterator[ET.Element]:
    """Each top-level record of the file, removed from the tree once the caller is done."""
    try:
        _check_prolog(path)
        with _open(path) as fh:
            events = ET.iterparse(fh, events=("start", "end"))
            _, root = next(events)
            for event, elem in events:
                if event == "end" and elem.tag in _RECORD_TAGS:
                    yield elem
                    root.clear()  # keeps memory flat: the set never holds more than one record
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(": line ")[0]
        raise CorpusFormatError(
            f"{path}, line {line}, column {column}: malformed XML ({reason}). A PubMed file that "
            "ends mid-record was usually cut short while downloading: fetch it again."
        ) from exc
    except GZIP_ERRORS as exc:  # a truncated .gz is EOFError, a damaged one zlib.error or OSError
        raise gzip_error(path, exc) from exc
    except (LookupError, ValueError) as exc:  # an encoding="..." that expat cannot use
        raise encoding_error(path, exc) from exc


def _text(elem: ET.Element | None) -> str:
    """All text under ``elem`` with inner markup (<i>, <sup>, MathML) dropped, spaces collapsed."""
    if elem is None:
        return ""
    return " ".join("".join(elem.itertext()).split())


def _abstract(container: ET.Element) -> str:
    """The paragraphs of ``Abstract``, each labelled one as ``LABEL: text``."""
    paragraphs = []
    for node in container.findall("Abstract/AbstractText"):
        body = _text(node)
        if not body:
            continue
        label = (node.get("Label") or "").strip()
        paragraphs.append(body if label.upper() in _NO_LABEL else f"{label}: {body}")
    return " ".join(paragraphs)


def _article_passage(path: Path, number: int, record: ET.Element) -> Passage | None:
    """The passage of one ``PubmedArticle``/``PubmedBookArticle``; None when it has no abstract."""
    citation = record.find("MedlineCitation")
    if citation is None:
        citation = record.find("BookDocument")
    pmid = _text(citation.find("PMID")) if citation is not None else ""
    if citation is None or not pmid:
        raise CorpusFormatError(
            f"{path}: record #{number} (<{record.tag}>) has no MedlineCitation/PMID; "
            "is this PubMed XML as downloaded from the NLM baseline or efetch?"
        )
    article = citation.find("Article")
    container = article if article is not None else citation  # a BookDocument holds it directly
    text = _abstract(container)
    if not text:
        return None
    title = (
        _text(container.find("ArticleTitle"))
        or _text(container.find("VernacularTitle"))
        or _text(citation.find("Book/BookTitle"))
    )
    return Passage(
        id=f"pubmed:{pmid}", text=text, title=title, pmid=pmid, meta={"source": "pubmed"}
    )


def read_pubmed_xml(
    paths: Iterable[str | Path], *, stats: PubmedStats | None = None
) -> Iterator[Passage]:
    """One passage per PMID with an abstract, from ``.xml`` or ``.xml.gz`` files, streamed.

    Articles without an abstract are skipped, not errors: letters, editorials and many older
    records have none.
    A PMID already read is skipped too (the first version wins; ``qa index add`` is how an
    update file's revision replaces an indexed record), and ``<DeleteCitation>`` is left to
    :func:`read_deleted_pmids` (``qa index delete --pmids FILE``): deleting needs the index.
    Pass ``stats`` to learn how many records were skipped and why.
    """
    stats = stats if stats is not None else PubmedStats()
    seen = SeenPmids()
    for path in map(Path, paths):
        seen.next_file()
        for number, record in enumerate(_records(path), 1):
            if record.tag == "DeleteCitation":
                stats.deletions_ignored += len(record.findall("PMID"))
                continue
            stats.articles += 1
            passage = _article_passage(path, number, record)
            if passage is None:
                stats.without_abstract += 1
            elif passage.pmid in seen:
                stats.duplicates += 1
            else:
                seen.add(passage.pmid)
                stats.passages += 1
                yield passage
    _log.info(
        "PubMed XML: %d passages from %d articles (%d without abstract, %d repeated PMIDs "
        "skipped; %d deletions ignored)",
        stats.passages,
        stats.articles,
        stats.without_abstract,
        stats.duplicates,
        stats.deletions_ignored,
    )


def read_deleted_pmids(paths: Iterable[str | Path]) -> set[str]:
    """The PMIDs an update file's ``<DeleteCitation>`` lists (``qa index delete --pmids``)."""
    deleted: set[str] = set()
    for path in map(Path, paths):
        for record in _records(path):
            if record.tag == "DeleteCitation":
                deleted.update(_text(pmid) for pmid in record.findall("PMID"))
    return deleted - {""}
