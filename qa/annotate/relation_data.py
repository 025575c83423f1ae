"""Relation corpora as sentence-level pair examples over one shared label vocabulary.

One model is trained on four corpora that each annotate one *family* of pairs, so every label
is named ``family:relation`` and the family is known for every pair (from its entity types):

==================  ===================================  =========================================
family              labels                               corpus (format as in ../shared/data)
==================  ===================================  =========================================
chemical-disease    ``chemical-disease:induces``         BC5CDR CID (PubTator, document-level)
chemical-gene       ``chemical-gene:CPR:3/4/5/6/9``      ChemProt (SciBERT JSON lines)
chemical-chemical   ``chemical-chemical:advise/effect/   DDI-2013 (the challenge's XML)
                    int/mechanism``
gene-disease        ``gene-disease:association``         GAD, EU-ADR (BioBERT TSV, anonymised)
==================  ===================================  =========================================

plus ``none``. The classifier only lets a pair choose among its family's labels and ``none``,
so one softmax serves four tasks without a chemical–gene pair ever being called an
interaction between drugs.

Quirks of the copies in ../shared/data, and what is done about them:

* **BC5CDR CID** is annotated per document (chemical MeSH id, disease MeSH id), not per
  mention. An example is a chemical mention and a disease mention *in the same sentence*
  (the title is a sentence of its own); it is positive when the document relates any of the
  chemical's ids to any of the disease's ids. A CID relation whose chemical and disease never
  share a sentence (a *cross-sentence* pair: 282 of 1038 in train, 245 of 1012 in dev, 317 of
  1066 in test) yields no positive example: it is not counted in sentence-level scores at all
  (neither as a miss nor as a hit), and :func:`cid_coverage` says how many there are.
  Overlapping chemical and disease mentions are not paired. Document-level scores
  (:mod:`qa.evaluate.relations`) do count them, as misses. Mentions without a MeSH id (``-1``)
  are never positive; composite mentions (``D1|D2``) carry all their ids.
* **ChemProt** (allenai/scibert copy) holds *positive* pairs only, with the 13 fine-grained
  labels, which are mapped onto the five evaluated groups (CPR:3 up-regulation, CPR:4
  down-regulation, CPR:5 agonist, CPR:6 antagonist, CPR:9 substrate/product). Its ``<< >>`` and
  ``[[ ]]`` markers are *positional* (``<<`` always marks the pair's first mention in the
  text, whichever is the chemical), so the type of each mention is unknown and both get the
  label ``CHEMICAL|GENE``. Negatives are derived, optionally: all positive pairs of a
  sentence form a bipartite graph (every edge joins a chemical and a gene), and two mentions on
  opposite sides of one connected component that are not related become a ``none`` example.
  These are far fewer than the official corpus's negatives, so ChemProt figures here are not
  comparable with published ones (BioBERT's 76.5 counts the official negatives).
* **DDI-2013** XML: ``charOffset`` ends are inclusive; discontinuous mentions
  (``a-b;c-d``) become the span from ``a`` to ``d``; all four mention types (drug, brand,
  group, drug_n) are ``CHEMICAL``. The test copy lacks 31 of the 191 documents (corrupt
  upstream), so test figures cover 160 documents.
* **GAD / EU-ADR** TSVs replace the two mentions by ``@GENE$`` and ``@DISEASE$``: the
  placeholders themselves are the entity spans (``text[start:end] == "@GENE$"``); nothing is
  de-anonymised. ``test.tsv`` has a header and an index column, ``train.tsv`` neither, and
  the ``dev.tsv`` files are empty (10-fold cross-validation). BLURB-style TSVs with
  ``@CHEMICAL$``/``@DRUG$`` placeholders and ``CPR:n``/``DDI-type``/``false`` labels load too.

Every mention offset is a character offset into ``RelationExample.text`` and
``text[start:end] == entity.text`` holds. A malformed line raises
:class:`~qa.errors.CorpusFormatError` naming the file and line.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.parsers import expat

from qa.corpus.split import sentence_spans
from qa.errors import CorpusFormatError
from qa.types import Entity

NONE = "none"
CHEMICAL, DISEASE, GENE = "CHEMICAL", "DISEASE", "GENE"
CHEMICAL_OR_GENE = "CHEMICAL|GENE"  # a ChemProt mention: one of the two, which one is unknown

# Family -> (type of the head, type of the tail). Chemical–chemical pairs are symmetric.
FAMILIES: dict[str, tuple[str, str]] = {
    "chemical-disease": (CHEMICAL, DISEASE),
    "chemical-gene": (CHEMICAL, GENE),
    "chemical-chemical": (CHEMICAL, CHEMICAL),
    "gene-disease": (GENE, DISEASE),
}
LABELS: tuple[str, ...] = (
    NONE,
    "chemical-disease:induces",
    "chemical-gene:CPR:3",
    "chemical-gene:CPR:4",
    "chemical-gene:CPR:5",
    "chemical-gene:CPR:6",
    "chemical-gene:CPR:9",
    "chemical-chemical:advise",
    "chemical-chemical:effect",
    "chemical-chemical:int",
    "chemical-chemical:mechanism",
    "gene-disease:association",
)

# ChemProt's fine-grained relations and the group each belongs to; only CPR:3/4/5/6/9 are
# evaluated in the shared task, so the others (should a fuller copy hold them) become none.
_CHEMPROT_GROUPS = {
    "UPREGULATOR": "CPR:3",
    "ACTIVATOR": "CPR:3",
    "INDIRECT-UPREGULATOR": "CPR:3",
    "DOWNREGULATOR": "CPR:4",
    "INHIBITOR": "CPR:4",
    "INDIRECT-DOWNREGULATOR": "CPR:4",
    "AGONIST": "CPR:5",
    "AGONIST-ACTIVATOR": "CPR:5",
    "AGONIST-INHIBITOR": "CPR:5",
    "ANTAGONIST": "CPR:6",
    "SUBSTRATE": "CPR:9",
    "PRODUCT-OF": "CPR:9",
    "SUBSTRATE-PRODUCT-OF": "CPR:9",
    "PART-OF": "CPR:1",
    "REGULATOR": "CPR:2",
    "DIRECT-REGULATOR": "CPR:2",
    "INDIRECT-REGULATOR": "CPR:2",
    "MODULATOR": "CPR:7",
    "MODULATOR-ACTIVATOR": "CPR:7",
    "MODULATOR-INHIBITOR": "CPR:7",
    "COFACTOR": "CPR:8",
    "NOT": "CPR:10",
}
_CPR_EVALUATED = {"CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9"}
_DDI_TYPES = {"advise", "effect", "int", "mechanism"}


def label_family(label: str) -> str:
    """The family a label belongs to (``""`` for ``none`` and for labels of other models)."""
    family = label.split(":", 1)[0]
    return family if family in FAMILIES else ""


@dataclass(frozen=True)
class RelationExample:
    """One entity pair in one sentence, with its gold label.

    ``family`` is set even when the label is ``none``: it says which labels the pair could
    have had. ``source`` is ``file:line`` of the annotation, for audits and error messages.
    """

    text: str
    head: Entity
    tail: Entity
    label: str
    family: str
    corpus: str = ""
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def _error(path: Path | str, line: int, what: str) -> CorpusFormatError:
    return CorpusFormatError(f"{path}, line {line}: {what}")


def _entity(text: str, start: int, end: int, label: str) -> Entity:
    return Entity(start=start, end=end, label=label, text=text[start:end])


def _shift(entity: Entity, offset: int) -> Entity:
    return replace(entity, start=entity.start - offset, end=entity.end - offset)


def _overlap(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


# --- sentences ----------------------------------------------------------------------------


def sentence_groups(
    text: str, entities: Sequence[Entity], spans: Sequence[tuple[int, int]] | None = None
) -> list[tuple[int, int, list[Entity]]]:
    """Sentences of ``text`` with the entities inside each, as ``(start, end, entities)``.

    Relations are only looked for within one of these, in training data and at prediction
    time alike. A sentence boundary that would cut an entity in two (an abbreviation the
    splitter mistook for a sentence end) is dropped, so every entity lies inside one group.
    """
    groups = [list(span) for span in (spans if spans is not None else sentence_spans(text))]
    if not groups:
        return []
    members: list[list[Entity]] = [[] for _ in groups]
    for entity in sorted(entities, key=lambda e: (e.start, e.end)):
        i = max(0, bisect.bisect_right([g[0] for g in groups], entity.start) - 1)
        while i + 1 < len(groups) and entity.end > groups[i][1]:
            groups[i][1] = groups[i + 1][1]  # the entity runs across a split point: undo it
            del groups[i + 1]
            members[i].extend(members.pop(i + 1))
        groups[i] = [min(groups[i][0], entity.start), max(groups[i][1], entity.end)]
        members[i].append(entity)
    return [(start, end, found) for (start, end), found in zip(groups, members)]


# --- BC5CDR CID (PubTator) ----------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    entity: Entity
    ids: tuple[str, ...]  # MeSH ids; empty for "-1" (no concept)


@dataclass(frozen=True)
class PubTatorDocument:
    pmid: str
    title: str
    abstract: str
    mentions: tuple[Mention, ...]
    relations: frozenset[tuple[str, str]]  # CID: (chemical id, disease id)
    source: str = ""

    @property
    def text(self) -> str:
        return f"{self.title} {self.abstract}"


_PUBTATOR_TYPES = {"Chemical": CHEMICAL, "Disease": DISEASE}


def read_pubtator(path: str | Path) -> list[PubTatorDocument]:
    """Documents of a PubTator file (``pmid|t|``, ``pmid|a|``, mention and relation lines)."""
    path = Path(path)
    documents: list[PubTatorDocument] = []
    current: dict[str, Any] | None = None

    def close() -> None:
        nonlocal current
        if current is not None:
            documents.append(
                PubTatorDocument(
                    pmid=current["pmid"],
                    title=current["title"],
                    abstract=current["abstract"],
                    mentions=tuple(current["mentions"]),
                    relations=frozenset(current["relations"]),
                    source=f"{path}:{current['line']}",
                )
            )
        current = None

    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                close()
                continue
            head = re.match(r"^([^|\t]+)\|([ta])\|(.*)$", line)
            if head:
                pmid, part, content = head.groups()
                if part == "t":
                    close()
                    current = {
                        "pmid": pmid,
                        "title": content,
                        "abstract": "",
                        "mentions": [],
                        "relations": set(),
                        "line": lineno,
                    }
                elif current is None or current["pmid"] != pmid:
                    raise _error(path, lineno, f"abstract of {pmid} without its title line")
                else:
                    current["abstract"] = content
                continue
            parts = line.split("\t")
            if current is None or parts[0] != current["pmid"]:
                raise _error(
                    path,
                    lineno,
                    f"annotation for document {parts[0]!r} outside that document's block "
                    "(expected 'PMID|t|title', 'PMID|a|abstract', then tab-separated "
                    "annotations)",
                )
            if len(parts) in (4, 5) and not parts[1].isdigit():  # a relation line
                if parts[1] == "CID":
                    current["relations"].add((parts[2], parts[3]))
                continue  # other relation types (BioRED's) are not used here
            if len(parts) not in (6, 7):
                raise _error(
                    path,
                    lineno,
                    f"{len(parts)} tab-separated fields; a mention line has 6 or 7 "
                    "(PMID, start, end, text, type, ids[, names]) and a relation line 4 or 5",
                )
            try:
                start, end = int(parts[1]), int(parts[2])
            except ValueError:
                raise _error(
                    path, lineno, f"offsets {parts[1]!r}, {parts[2]!r} are not integers"
                ) from None
            text = f"{current['title']} {current['abstract']}"
            if not 0 <= start < end <= len(text) or text[start:end] != parts[3]:
                raise _error(
                    path,
                    lineno,
                    f"mention {parts[3]!r} at {start}-{end} does not match the text there "
                    f"({text[start:end]!r})",
                )
            label = _PUBTATOR_TYPES.get(parts[4])
            if label:
                ids = tuple(i for i in parts[5].split("|") if i and i != "-1")
                current["mentions"].append(Mention(_entity(text, start, end, label), ids))
    close()
    return documents


def _document_spans(doc: PubTatorDocument) -> list[tuple[int, int]]:
    offset = len(doc.title) + 1
    return sentence_spans(doc.title) + [
        (s + offset, e + offset) for s, e in sentence_spans(doc.abstract)
    ]


def examples_from_cid(
    documents: Iterable[PubTatorDocument], corpus: str = "bc5cdr-cid"
) -> list[RelationExample]:
    """Sentence-level chemical–disease mention pairs, labelled from the document's CID set."""
    examples: list[RelationExample] = []
    for doc in documents:
        text = doc.text
        ids = {m.entity: m.ids for m in doc.mentions}
        groups = sentence_groups(text, [m.entity for m in doc.mentions], _document_spans(doc))
        for index, (start, end, members) in enumerate(groups):
            chemicals = [e for e in members if e.label == CHEMICAL]
            diseases = [e for e in members if e.label == DISEASE]
            for chemical in chemicals:
                for disease in diseases:
                    if _overlap(chemical, disease):
                        continue
                    pairs = {(c, d) for c in ids[chemical] for d in ids[disease]}
                    positive = bool(pairs & doc.relations)
                    examples.append(
                        RelationExample(
                            text=text[start:end],
                            head=_shift(chemical, start),
                            tail=_shift(disease, start),
                            label="chemical-disease:induces" if positive else NONE,
                            family="chemical-disease",
                            corpus=corpus,
                            source=doc.source,
                            meta={
                                "document": doc.pmid,
                                "sentence": index,
                                "head_ids": ids[chemical],
                                "tail_ids": ids[disease],
                            },
                        )
                    )
    return examples


def cid_coverage(documents: Iterable[PubTatorDocument]) -> dict[str, int]:
    """How many CID relations a sentence-level model can find at all.

    ``within_sentence``: relations whose chemical and disease share at least one sentence;
    ``cross_sentence``: the rest, which yield no positive sentence-level example.
    """
    documents = list(documents)
    found: set[tuple[str, str, str]] = set()
    for e in examples_from_cid(documents):
        if e.label != NONE:
            for c in e.meta["head_ids"]:
                for d in e.meta["tail_ids"]:
                    found.add((e.meta["document"], c, d))
    gold = {(doc.pmid, c, d) for doc in documents for c, d in doc.relations}
    return {
        "documents": len(documents),
        "relations": len(gold),
        "within_sentence": len(gold & found),
        "cross_sentence": len(gold - found),
    }


def read_bc5cdr_cid(path: str | Path) -> list[RelationExample]:
    return examples_from_cid(read_pubtator(path))


# --- ChemProt (SciBERT JSON lines) --------------------------------------------------------

_MARKERS = (("<< ", " >>"), ("[[ ", " ]]"))


def _unmark_chemprot(marked: str, path: Path, lineno: int) -> tuple[str, Entity, Entity]:
    """Remove SciBERT's ``<< >>`` / ``[[ ]]`` markers; the two mentions in the clean text."""
    cuts: list[tuple[int, int, int, str]] = []  # (position, marker length, mention, open/close)
    for which, (opening, closing) in enumerate(_MARKERS):
        a = marked.find(opening)
        b = marked.find(closing, a + len(opening)) if a >= 0 else -1
        if a < 0 or b < 0:
            raise _error(
                path,
                lineno,
                f"no {opening.strip()} ... {closing.strip()} mention marker: ChemProt lines mark "
                "their two mentions as '<< first >>' and '[[ second ]]'",
            )
        cuts += [(a, len(opening), which, "open"), (b, len(closing), which, "close")]
    cuts.sort()
    pieces, where, removed = [], 0, 0
    bounds: dict[tuple[int, str], int] = {}
    for position, length, which, kind in cuts:
        if position < where:
            raise _error(path, lineno, "the two mention markers overlap one another")
        pieces.append(marked[where:position])
        bounds[(which, kind)] = position - removed
        where = position + length
        removed += length
    pieces.append(marked[where:])
    text = "".join(pieces)
    first, second = (
        _entity(text, bounds[(i, "open")], bounds[(i, "close")], CHEMICAL_OR_GENE) for i in (0, 1)
    )
    if not first.text.strip() or not second.text.strip():
        raise _error(path, lineno, "an empty mention between markers")
    return text, first, second


def _chemprot_label(raw: str, path: Path, lineno: int) -> str:
    key = raw.strip().upper().replace("_", "-")
    if key in ("FALSE", "NONE", "0"):
        return NONE
    group = _CHEMPROT_GROUPS.get(key) or (key if re.fullmatch(r"CPR:\d+", key) else None)
    if group is None:
        raise _error(
            path,
            lineno,
            f"unknown ChemProt label {raw!r}; expected one of {sorted(_CHEMPROT_GROUPS)}",
        )
    return f"chemical-gene:{group}" if group in _CPR_EVALUATED else NONE


def _bipartite_negatives(pairs: set[frozenset[Entity]]) -> list[tuple[Entity, Entity]]:
    """Unrelated mentions on opposite sides of a sentence's chemical–gene graph."""
    neighbours: dict[Entity, set[Entity]] = defaultdict(set)
    for pair in pairs:
        a, b = tuple(pair)
        neighbours[a].add(b)
        neighbours[b].add(a)
    side: dict[Entity, int] = {}
    negatives: list[tuple[Entity, Entity]] = []
    for root in sorted(neighbours, key=lambda e: (e.start, e.end)):
        if root in side:
            continue
        side[root], component, queue, bipartite = 0, [root], [root], True
        while queue:
            node = queue.pop()
            for other in neighbours[node]:
                if other not in side:
                    side[other] = 1 - side[node]
                    component.append(other)
                    queue.append(other)
                elif side[other] == side[node]:
                    bipartite = False  # an odd cycle: the sides are not chemical/gene
        if not bipartite:
            continue
        component.sort(key=lambda e: (e.start, e.end))
        for i, a in enumerate(component):
            for b in component[i + 1 :]:
                if side[a] != side[b] and frozenset((a, b)) not in pairs and not _overlap(a, b):
                    negatives.append((a, b))
    return negatives


def read_chemprot(path: str | Path, *, negatives: bool = True) -> list[RelationExample]:
    """SciBERT's ChemProt JSON lines; ``negatives`` adds the derived ``none`` pairs."""
    path = Path(path)
    examples: list[RelationExample] = []
    by_sentence: dict[str, set[frozenset[Entity]]] = defaultdict(set)
    first_line: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                marked, raw_label = record["text"], record["label"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise _error(
                    path, lineno, f'not a JSON object with "text" and "label" ({exc})'
                ) from exc
            text, first, second = _unmark_chemprot(str(marked), path, lineno)
            label = _chemprot_label(str(raw_label), path, lineno)
            examples.append(
                RelationExample(
                    text=text,
                    head=first,
                    tail=second,
                    label=label,
                    family="chemical-gene",
                    corpus="chemprot",
                    source=f"{path}:{lineno}",
                    meta={"fine_label": str(raw_label)},
                )
            )
            by_sentence[text].add(frozenset((first, second)))
            first_line.setdefault(text, lineno)
    if negatives:
        for text, pairs in by_sentence.items():
            for a, b in _bipartite_negatives(pairs):
                examples.append(
                    RelationExample(
                        text=text,
                        head=a,
                        tail=b,
                        label=NONE,
                        family="chemical-gene",
                        corpus="chemprot",
                        source=f"{path}:{first_line[text]}",
                        meta={"derived_negative": True},
                    )
                )
    return examples


# --- DDI-2013 (XML) -----------------------------------------------------------------------


def _ddi_offsets(value: str) -> tuple[int, int]:
    """``a-b`` or ``a-b;c-d`` (inclusive ends) as one half-open span from a to d."""
    bounds = []
    for piece in value.split(";"):
        a, b = piece.strip().split("-")
        bounds += [int(a), int(b) + 1]
    return min(bounds), max(bounds)


def read_ddi_file(path: str | Path) -> list[RelationExample]:
    """Every ``<pair>`` of one DDI-2013 document, with the line of its XML element."""
    path = Path(path)
    examples: list[RelationExample] = []
    state: dict[str, Any] = {"text": None, "entities": {}}
    parser = expat.ParserCreate()

    def start(name: str, attrs: dict[str, str]) -> None:
        lineno = parser.CurrentLineNumber
        if name == "sentence":
            if "text" not in attrs:
                raise _error(path, lineno, "<sentence> without a text attribute")
            state["text"] = attrs["text"].rstrip()
            state["entities"] = {}
        elif name == "entity":
            text = state["text"]
            try:
                eid, offsets, mention = attrs["id"], attrs["charOffset"], attrs["text"]
                begin, end = _ddi_offsets(offsets)
            except (KeyError, ValueError):
                raise _error(
                    path, lineno, "<entity> needs id, charOffset ('a-b' or 'a-b;c-d') and text"
                ) from None
            if text is None or not 0 <= begin < end <= len(text):
                raise _error(path, lineno, f"entity {eid} at {offsets} lies outside its sentence")
            if ";" not in offsets and text[begin:end] != mention:
                raise _error(
                    path,
                    lineno,
                    f"entity {eid} {mention!r} does not match the sentence at {offsets} "
                    f"({text[begin:end]!r})",
                )
            state["entities"][eid] = _entity(text, begin, end, CHEMICAL)
        elif name == "pair":
            entities = state["entities"]
            if attrs.get("e1") not in entities or attrs.get("e2") not in entities:
                raise _error(path, lineno, "<pair> refers to an entity not in its sentence")
            ddi = attrs.get("ddi", "").lower()
            kind = attrs.get("type", "").lower()
            if ddi == "true" and kind in _DDI_TYPES:
                label = f"chemical-chemical:{kind}"
            elif ddi == "false":
                label = NONE
            else:
                raise _error(
                    path,
                    lineno,
                    f'<pair ddi="{ddi}" type="{kind}">: expected ddi="false", or ddi="true" '
                    f"with a type in {sorted(_DDI_TYPES)}",
                )
            examples.append(
                RelationExample(
                    text=state["text"],
                    head=entities[attrs["e1"]],
                    tail=entities[attrs["e2"]],
                    label=label,
                    family="chemical-chemical",
                    corpus="ddi-2013",
                    source=f"{path}:{lineno}",
                    meta={"pair": attrs.get("id", "")},
                )
            )

    parser.StartElementHandler = start
    try:
        with path.open("rb") as fh:
            parser.ParseFile(fh)
    except expat.ExpatError as exc:
        message = expat.errors.messages[exc.code]
        raise _error(path, exc.lineno, f"not well-formed XML ({message})") from exc
    return examples


def read_ddi(path: str | Path) -> list[RelationExample]:
    """A DDI-2013 XML file, or every ``*.xml`` under a folder (sorted, so runs repeat)."""
    path = Path(path)
    files = sorted(path.rglob("*.xml")) if path.is_dir() else [path]
    return [e for file in files for e in read_ddi_file(file)]


# --- BioBERT / BLURB TSV (anonymised) -----------------------------------------------------

_PLACEHOLDER = re.compile(r"@(GENE|DISEASE|CHEMICAL|DRUG|CHEM-GENE)\$")
_PLACEHOLDER_TYPES = {"GENE": GENE, "DISEASE": DISEASE, "CHEMICAL": CHEMICAL, "DRUG": CHEMICAL}


def _tsv_family(types: Sequence[str]) -> str | None:
    for family, pair in FAMILIES.items():
        if sorted(pair) == sorted(types):
            return family
    return None


def _tsv_label(raw: str, family: str) -> str | None:
    value = raw.strip()
    lowered = value.lower()
    if lowered in ("0", "false", "ddi-false", "none"):
        return NONE
    if lowered == "1":
        single = [lab for lab in LABELS if label_family(lab) == family]
        return single[0] if len(single) == 1 else None
    if family == "chemical-gene" and re.fullmatch(r"CPR:\d+", value.upper()):
        group = value.upper()
        return f"chemical-gene:{group}" if group in _CPR_EVALUATED else NONE
    kind = lowered.removeprefix("ddi-")
    if family == "chemical-chemical" and kind in _DDI_TYPES:
        return f"chemical-chemical:{kind}"
    return None


def _tsv_corpus(path: Path) -> str:
    name = str(path).lower()
    if "euadr" in name or "eu-adr" in name:
        return "eu-adr"
    if "gad" in name:
        return "gad"
    return "tsv"


def read_tsv(path: str | Path) -> list[RelationExample]:
    """``sentence<TAB>label`` or ``index<TAB>sentence<TAB>label`` lines with two placeholders.

    The placeholders are the mentions. A line whose two mentions are one span (BLURB's
    ``@CHEM-GENE$``) holds no pair that markers could show, and is skipped.
    """
    path = Path(path)
    corpus = _tsv_corpus(path)
    examples: list[RelationExample] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if lineno == 1 and fields[0].strip().lower() in ("index", "sentence"):
                continue  # the header of test.tsv
            if len(fields) not in (2, 3):
                raise _error(
                    path,
                    lineno,
                    f"{len(fields)} tab-separated fields; expected 'sentence<TAB>label' or "
                    "'index<TAB>sentence<TAB>label'",
                )
            text, raw_label = fields[-2], fields[-1]
            found = list(_PLACEHOLDER.finditer(text))
            if any(m.group(1) == "CHEM-GENE" for m in found):
                continue
            if len(found) != 2:
                raise _error(
                    path,
                    lineno,
                    f"{len(found)} entity placeholders; an anonymised line has exactly two "
                    "(@GENE$, @DISEASE$, @CHEMICAL$ or @DRUG$)",
                )
            entities = [
                _entity(text, m.start(), m.end(), _PLACEHOLDER_TYPES[m.group(1)]) for m in found
            ]
            family = _tsv_family([e.label for e in entities])
            label = _tsv_label(raw_label, family) if family else None
            if family is None or label is None:
                raise _error(
                    path,
                    lineno,
                    f"label {raw_label!r} does not fit a pair of "
                    f"{' and '.join(m.group(0) for m in found)}",
                )
            head_type = FAMILIES[family][0]
            head = next(e for e in entities if e.label == head_type)
            tail = next(e for e in entities if e is not head)
            examples.append(
                RelationExample(
                    text=text,
                    head=head,
                    tail=tail,
                    label=label,
                    family=family,
                    corpus=corpus,
                    source=f"{path}:{lineno}",
                )
            )
    return examples


# --- any of them --------------------------------------------------------------------------

FORMATS = ("pubtator", "chemprot", "ddi", "tsv")


def corpus_format(path: str | Path) -> str:
    """Which reader a file or folder needs, from its name and first line."""
    path = Path(path)
    if path.is_dir():
        if any(path.rglob("*.xml")):
            return "ddi"
        raise CorpusFormatError(f"{path} is a folder without DDI-2013 *.xml files.")
    if not path.is_file():
        raise CorpusFormatError(f"{path} does not exist.")
    if path.suffix.lower() == ".xml":
        return "ddi"
    if path.suffix.lower() == ".tsv":
        return "tsv"
    if "pubtator" in path.name.lower():
        return "pubtator"
    with path.open(encoding="utf-8") as fh:
        first = next((line for line in fh if line.strip()), "")
    if first.lstrip().startswith("{"):
        return "chemprot"
    if re.match(r"^[^|\t]+\|t\|", first):
        return "pubtator"
    raise CorpusFormatError(
        f"Cannot tell the format of {path}: give a BC5CDR PubTator file, a ChemProt JSON-lines "
        "file, a DDI-2013 XML file or folder, or a BioBERT-style TSV (.tsv)."
    )


def read_relations(
    paths: Sequence[str | Path], *, chemprot_negatives: bool = True
) -> list[RelationExample]:
    """Examples from every file or folder, each read with the reader its format needs."""
    examples: list[RelationExample] = []
    for path in paths:
        kind = corpus_format(path)
        if kind == "pubtator":
            examples.extend(read_bc5cdr_cid(path))
        elif kind == "chemprot":
            examples.extend(read_chemprot(path, negatives=chemprot_negatives))
        elif kind == "ddi":
            examples.extend(read_ddi(path))
        else:
            examples.extend(read_tsv(path))
    return examples
