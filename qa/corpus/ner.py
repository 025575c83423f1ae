"""The NER corpora in ``../shared/data/ner``: where each split lives, what it annotates, and a
reader for their CoNLL-style token files.

Every file is ``token<TAB>tag`` per line with a blank line between sentences (``-DOCSTART-``
lines, a byte-order mark and CRLF endings are tolerated). Tags are BIO; the dmis-lab copies carry
no type (``B``/``I``/``O``: the corpus decides it), the cambridgeltl BC5CDR file carries one
(``B-Chemical``). Labels are mapped onto the project's types CHEMICAL, DISEASE, GENE and SPECIES;
a typed tag outside those keeps its own name, upper-cased, so a profile can add types.

Quirks of the shared copies, and what this module does about them:

* BC5CDR exists three times over the same sentences: the combined chemical+disease file
  (cambridgeltl) and dmis-lab's single-type ``BC5CDR-chem`` / ``BC5CDR-disease`` files. Training
  uses the combined one (``bc5cdr``), so no sentence is seen twice with half its labels; the
  single-type ones stay listed for comparison with published per-type figures.
* JNLPBA: SOURCES.md calls it "protein/DNA/RNA/cell line/cell type collapsed to one type", but
  the shared copy only tags protein, DNA and RNA mentions (``NF - kappa B``, ``IL - 2 gene``,
  ``mRNA``); cell lines and cell types are ``O`` (``T cells``, ``lymphocytes``, ``Jurkat cells``
  never carry a tag in the 14,690 training sentences). So it maps onto GENE as it stands, and
  nothing needs dropping. Its guidelines differ from BC2GM's (it tags ``promoter``, ``LTR``), a
  disagreement a combined model has to live with.
* ``train_dev`` files are train + devel concatenated; JNLPBA has none (over 4 MiB upstream).
  Never train on ``train_dev`` while selecting on ``dev``.

The PubTator copies of BC5CDR (``CDR_*.PubTator.txt``) serve the relation trainer; they are not
read here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from qa.corpus.files import read_lines
from qa.errors import CorpusFormatError

CANONICAL_TYPES = ("CHEMICAL", "DISEASE", "GENE", "SPECIES")
TYPE_ALIASES = {
    "CHEMICAL": "CHEMICAL",
    "CHEM": "CHEMICAL",
    "DRUG": "CHEMICAL",
    "DISEASE": "DISEASE",
    "GENE": "GENE",
    "GENE/PROTEIN": "GENE",
    "GENEORGENEPRODUCT": "GENE",
    "PROTEIN": "GENE",
    "DNA": "GENE",
    "RNA": "GENE",
    "SPECIES": "SPECIES",
    "ORGANISM": "SPECIES",
}
SPLITS = ("train", "dev", "test", "train_dev")
DATA_ENV = "QA_SHARED_DATA"

_DMIS = "ner/BioMedBERT__biomedbert/datasets__NER__"
_DMIS_LICENCE = (
    "dmis-lab BioBERT preprocessed copy via BioMedBERT/biomedbert (repo MIT); the original "
    "corpus licence applies"
)


class Sentence(NamedTuple):
    """One sentence of a corpus; unpacks as ``tokens, labels`` (labels like ``B-DISEASE``)."""

    tokens: list[str]
    labels: list[str]


@dataclass(frozen=True)
class NerCorpus:
    """An official corpus: the types it annotates (completely) and its split files."""

    name: str
    types: tuple[str, ...]
    files: dict[str, Path]  # split -> file
    licence: str
    note: str = ""
    in_default_training: bool = True


@dataclass(frozen=True)
class NerSource:
    """A file to read and the types it annotates; entities of other types are not in it."""

    path: Path
    types: tuple[str, ...]
    name: str = ""  # corpus name and split ("ncbi-disease:test"), or the file name
    untyped_as: str = ""  # the type of untyped B/I tags; empty when the tags carry one
    licence: str = ""
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def _dmis(name: str, folder: str, types: tuple[str, ...], note: str = "", **kw) -> NerCorpus:
    files = {
        split: Path(f"{_DMIS}{folder}__{stem}.tsv")
        for split, stem in (
            ("train", "train"),
            ("dev", "devel"),
            ("test", "test"),
            ("train_dev", "train_dev"),
        )
    }
    if folder == "JNLPBA":
        del files["train_dev"]
    return NerCorpus(name, types, files, _DMIS_LICENCE, note, **kw)


_BC5CDR_IOB = "ner/cambridgeltl__MTL-Bioinformatics-2016/data__BC5CDR-IOB__"
_CORPORA: tuple[NerCorpus, ...] = (
    NerCorpus(
        "bc5cdr",
        ("CHEMICAL", "DISEASE"),
        {
            "train": Path(f"{_BC5CDR_IOB}train.tsv"),
            "dev": Path(f"{_BC5CDR_IOB}devel.tsv"),
            "test": Path(f"{_BC5CDR_IOB}test.tsv"),
        },
        "BioCreative V CDR: NCBI public domain notice; this IOB copy from "
        "cambridgeltl/MTL-Bioinformatics-2016 (data CC BY 4.0)",
        "chemicals and diseases in one file (1,500 PubMed abstracts)",
    ),
    _dmis(
        "bc5cdr-chem",
        "BC5CDR-chem",
        ("CHEMICAL",),
        "the bc5cdr sentences with chemical tags only; for per-type comparison",
        in_default_training=False,
    ),
    _dmis(
        "bc5cdr-disease",
        "BC5CDR-disease",
        ("DISEASE",),
        "the bc5cdr sentences with disease tags only; for per-type comparison",
        in_default_training=False,
    ),
    _dmis("ncbi-disease", "NCBI-disease", ("DISEASE",), "NCBI disease corpus (793 abstracts)"),
    _dmis("bc2gm", "BC2GM", ("GENE",), "BioCreative II gene mention (gene/protein)"),
    _dmis(
        "jnlpba",
        "JNLPBA",
        ("GENE",),
        "protein, DNA and RNA only in this copy (cell lines/types untagged); no train_dev",
    ),
    _dmis("linnaeus", "linnaeus", ("SPECIES",), "LINNAEUS species (full texts; few mentions)"),
    _dmis("s800", "s800", ("SPECIES",), "S800 species (800 abstracts)"),
)
DEFAULT_TRAINING = tuple(c.name for c in _CORPORA if c.in_default_training)


def find_data_dir(data_dir: str | Path | None = None) -> Path:
    """The shared data folder: as given, else ``$QA_SHARED_DATA``, else ``../shared/data`` next
    to the checkout (or to the working directory)."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidate = root.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "data"


def ner_corpora(data_dir: str | Path | None = None) -> dict[str, NerCorpus]:
    """Every known corpus with its official split files (absolute) and the types it annotates.

    The files are listed whether or not they exist; :func:`resolve_sources` checks."""
    root = find_data_dir(data_dir)
    return {
        c.name: NerCorpus(
            c.name,
            c.types,
            {split: root / path for split, path in c.files.items()},
            c.licence,
            c.note,
            c.in_default_training,
        )
        for c in _CORPORA
    }


def canonical_type(raw: str) -> str:
    """``Chemical`` -> CHEMICAL, ``protein`` -> GENE; unknown types keep their name upper-cased."""
    name = raw.strip().upper().replace(" ", "_")
    return TYPE_ALIASES.get(name, name)


def _source_for_file(path: Path, untyped_as: str, corpora: dict[str, NerCorpus]) -> NerSource:
    resolved = path.resolve()
    for corpus in corpora.values():
        for split, file in corpus.files.items():
            if file.resolve() == resolved or (not untyped_as and file.name == path.name):
                types = (canonical_type(untyped_as),) if untyped_as else corpus.types
                untyped = types[0] if len(types) == 1 else ""
                return NerSource(path, types, f"{corpus.name}:{split}", untyped, corpus.licence)
    if untyped_as:
        entity_type = canonical_type(untyped_as)
        return NerSource(path, (entity_type,), path.name, entity_type)
    return NerSource(path, (), path.name)  # types come from the tags it carries


def resolve_sources(
    specs: Iterable[str | Path],
    *,
    split: str = "train",
    data_dir: str | Path | None = None,
) -> list[NerSource]:
    """Turn corpus names (``ncbi-disease``, ``bc2gm:test``) and file paths into sources.

    A name without a split takes ``split``. A file whose tags carry no type must be one of the
    known corpus files (matched by name) or say its type: ``my_genes.tsv=GENE``.
    """
    if split not in SPLITS:
        raise CorpusFormatError(f"Unknown split {split!r}: use one of {', '.join(SPLITS)}.")
    corpora = ner_corpora(data_dir)
    sources = []
    for spec in specs:
        text = str(spec)
        name, _, wanted = text.partition(":")
        if name.lower() in corpora and "/" not in text:
            corpus = corpora[name.lower()]
            wanted = wanted or split
            if wanted not in corpus.files:
                raise CorpusFormatError(
                    f"{corpus.name} has no {wanted!r} split: it has {', '.join(corpus.files)}."
                )
            path = corpus.files[wanted]
            if not path.is_file():
                raise CorpusFormatError(
                    f"{path} is missing: give the shared data folder with --data-dir or "
                    f"${DATA_ENV} (see shared/data/SOURCES.md)."
                )
            untyped = corpus.types[0] if len(corpus.types) == 1 else ""
            sources.append(
                NerSource(path, corpus.types, f"{corpus.name}:{wanted}", untyped, corpus.licence)
            )
            continue
        file, _, untyped_as = text.partition("=")
        path = Path(file).expanduser()
        if not path.is_file():
            known = ", ".join(corpora)
            raise CorpusFormatError(
                f"{text!r} is neither a file nor a known NER corpus ({known}; add :train, :dev "
                "or :test for a split)."
            )
        sources.append(_source_for_file(path, untyped_as, corpora))
    return sources


def _parse_tag(tag: str, untyped_as: str, where: str) -> str:
    if tag == "O":
        return "O"
    prefix, dash, kind = tag.partition("-")
    if prefix not in ("B", "I") or (dash and not kind):
        raise CorpusFormatError(
            f"{where}: tag {tag!r} is not BIO (expected O, B, I, B-TYPE or I-TYPE)."
        )
    if not dash:
        if not untyped_as:
            raise CorpusFormatError(
                f"{where}: tag {tag!r} carries no type and the file is not a known corpus: "
                "give it as FILE=TYPE (e.g. my_genes.tsv=GENE)."
            )
        return f"{prefix}-{untyped_as}"
    return f"{prefix}-{canonical_type(kind)}"


def read_ner_file(path: str | Path, untyped_as: str = "") -> Iterator[Sentence]:
    """Sentences of a CoNLL-style file, labels mapped onto the project's types.

    ``untyped_as`` is the type of bare ``B``/``I`` tags. Columns are split on tabs (on spaces
    when a line has no tab); the token is the first column and the tag the last, so
    CoNLL-2003-style files with extra columns read too. Anything else raises
    :class:`CorpusFormatError` with the file and line number.
    """
    path = Path(path)
    untyped_as = canonical_type(untyped_as) if untyped_as else ""
    tokens: list[str] = []
    labels: list[str] = []
    for lineno, line in read_lines(path):
        where = f"{path}, line {lineno}"
        line = line.rstrip("\r\n")
        if not line.strip():
            if tokens:
                yield Sentence(tokens, labels)
                tokens, labels = [], []
            continue
        if line.startswith("-DOCSTART-"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) < 2 or not parts[0].strip() or not parts[-1].strip():
            raise CorpusFormatError(
                f"{where}: expected TOKEN<TAB>TAG, got {line[:80]!r}. Sentences are "
                "separated by blank lines."
            )
        tokens.append(parts[0].strip())
        labels.append(_parse_tag(parts[-1].strip(), untyped_as, where))
    if tokens:
        yield Sentence(tokens, labels)


def read_source(source: NerSource) -> list[Sentence]:
    """All sentences of a source; a typed file that names no types gets those it carries."""
    return list(read_ner_file(source.path, source.untyped_as))


def source_types(source: NerSource, sentences: Sequence[Sentence]) -> tuple[str, ...]:
    """The types a source annotates: its declared ones, else the ones its tags carry."""
    if source.types:
        return source.types
    seen = {label[2:] for s in sentences for label in s.labels if label != "O"}
    return order_types(seen)


def order_types(types: Iterable[str]) -> tuple[str, ...]:
    """The four canonical types first, in their fixed order, then any others alphabetically."""
    types = set(types)
    return tuple(t for t in CANONICAL_TYPES if t in types) + tuple(
        sorted(types - set(CANONICAL_TYPES))
    )


def bio_spans(labels: Sequence[str]) -> list[tuple[int, int, str]]:
    """Entities of a BIO sequence as ``(first, last + 1, type)`` over positions.

    Chunks the way conlleval and seqeval's default mode do: ``B-X`` starts an entity, ``I-X``
    continues one of type X and starts a new one after ``O`` or another type, so a model that
    forgets a ``B`` still produces the entity rather than nothing.
    """
    spans: list[tuple[int, int, str]] = []
    start, kind = -1, ""
    for i, label in enumerate(labels):
        prefix, _, this = label.partition("-")
        continues = prefix == "I" and kind == this and start >= 0
        if start >= 0 and not continues:
            spans.append((start, i, kind))
            start, kind = -1, ""
        if prefix in ("B", "I") and not continues:
            start, kind = i, this
    if start >= 0:
        spans.append((start, len(labels), kind))
    return spans


def sentence_text(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The tokens joined by single spaces, and each token's character span in that text.

    A word-piece tokenizer splits punctuation itself, so a tagger sees nearly the same pieces in
    ``IL - 2`` as in the original ``IL-2``; this is how token files are fed to a text tagger."""
    offsets = []
    position = 0
    for token in tokens:
        offsets.append((position, position + len(token)))
        position += len(token) + 1
    return " ".join(tokens), offsets


def char_spans(sentence: Sentence) -> tuple[str, list[tuple[int, int, str]]]:
    """The sentence as text and its gold entities as ``(start, end, type)`` character spans."""
    text, offsets = sentence_text(sentence.tokens)
    return text, [
        (offsets[a][0], offsets[b - 1][1], kind) for a, b, kind in bio_spans(sentence.labels)
    ]
