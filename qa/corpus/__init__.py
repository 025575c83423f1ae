"""Corpus readers: every input format becomes a stream of :class:`~qa.types.Passage`.

Indexing code only ever sees passages, so a new format is one reader in :data:`READERS`.
:func:`read_corpus` is the single entry point the CLI uses: it checks the request up front
(before any index is built) and cuts long passages into windows the encoders can take.
The NER and relation corpora are read by :mod:`qa.corpus.ner` and :mod:`qa.corpus.relations`
into tagged sentences and entity-pair examples, for training and evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from qa.corpus.abstracts import read_bc5cdr, read_hoc, read_ncbi_disease, read_pubtator_generic
from qa.corpus.bioasq import read_bioasq
from qa.corpus.jsonl import read_jsonl, write_jsonl
from qa.corpus.pubmed import read_pubmed_xml
from qa.corpus.pubmedqa import read_pubmedqa
from qa.corpus.split import split_passage
from qa.errors import CorpusFormatError
from qa.types import Passage

Reader = Callable[[Iterable[Path]], Iterator[Passage]]

READERS: dict[str, Reader] = {
    "bc5cdr": read_bc5cdr,
    "bioasq": read_bioasq,
    "hoc": read_hoc,
    "jsonl": read_jsonl,
    "ncbi-disease": read_ncbi_disease,
    "pubmed": read_pubmed_xml,
    "pubmedqa": read_pubmedqa,
    "pubtator": read_pubtator_generic,
}

__all__ = [
    "READERS",
    "read_bc5cdr",
    "read_bioasq",
    "read_corpus",
    "read_hoc",
    "read_jsonl",
    "read_ncbi_disease",
    "read_pubmed_xml",
    "read_pubmedqa",
    "read_pubtator_generic",
    "write_jsonl",
]


def _checked_paths(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """The input files as paths, every one existing; one bare path is accepted as a list of one.

    Checked eagerly so that a typo fails at once, not after earlier files were indexed.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = [Path(p) for p in paths]
    if not files:
        raise CorpusFormatError("No corpus files were given; pass at least one file.")
    for path in files:
        if path.is_dir():
            raise CorpusFormatError(
                f"{path}: is a folder; pass the files in it (e.g. {path}/*.xml.gz)."
            )
        if not path.is_file():
            raise CorpusFormatError(f"{path}: no such file.")
    return files


def _split_all(
    passages: Iterator[Passage], max_tokens: int, overlap_sentences: int
) -> Iterator[Passage]:
    for passage in passages:
        yield from split_passage(passage, max_tokens, overlap_sentences)


def read_corpus(
    kind: str,
    paths: str | Path | Iterable[str | Path],
    *,
    max_tokens: int = 200,
    overlap_sentences: int = 1,
) -> Iterator[Passage]:
    """The passages of ``paths`` read as ``kind``, each cut to at most ``max_tokens`` tokens.

    The kind, the paths and the window settings are checked when this is called; the files
    themselves are read lazily as the result is iterated.
    """
    reader = READERS.get(kind)
    if reader is None:
        raise CorpusFormatError(
            f"Unknown corpus kind {kind!r}; use one of: {', '.join(sorted(READERS))}."
        )
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}.")
    if overlap_sentences < 0:
        raise ValueError(f"overlap_sentences cannot be negative, got {overlap_sentences}.")
    return _split_all(reader(_checked_paths(paths)), max_tokens, overlap_sentences)
