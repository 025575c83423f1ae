"""BioASQ task B files: the one place that parses their JSON, for the corpus and the evaluator.

A golden file is ``{"questions": [...]}``; each question has ``id``, ``body``, ``type``,
``documents`` (PubMed URLs), ``snippets`` (text, document URL, section and character offsets),
and, except for summaries, ``exact_answer``. A submission has the same shape. Snippets become
passages, de-duplicated by their whitespace-normalised text, so the same sentence quoted for
two questions is indexed once and counts as gold for both.

:func:`read_questions` checks what every question needs (an id); :func:`load_golden` adds what
a golden question needs (a body and a known type) for training and retrieval, while the
evaluator (:mod:`qa.evaluate.bioasq`) builds its own working copies from the same pieces
(:func:`question_documents`, :func:`question_snippets`) so both report bad input alike.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qa.corpus.files import load_json, preview
from qa.errors import CorpusFormatError
from qa.types import QUESTION_TYPES, Passage

_PMID = re.compile(r"(\d+)\s*$")
# Offsets are Java ints in the official evaluator; -1 occurs in real golden files.
_JAVA_INT = (-(2**31), 2**31 - 1)


def snippet_key(text: str) -> str:
    """Identity of a snippet: the hash of its whitespace-normalised text."""
    normalised = " ".join(text.split())
    return hashlib.sha1(normalised.encode("utf-8")).hexdigest()[:16]


def snippet_passage_id(text: str) -> str:
    return f"bioasq:{snippet_key(text)}"


def pmid_of(url: str) -> str:
    """``http://www.ncbi.nlm.nih.gov/pubmed/34022131`` -> ``34022131``."""
    match = _PMID.search(str(url))
    return match.group(1) if match else ""


def _after_dot(name: str) -> str:
    # "sections.0" -> "0", "abstract" -> "abstract": what follows the first dot, if any.
    return name[name.find(".") + 1 :]


@dataclass(frozen=True)
class Snippet:
    """A snippet of a golden file or a submission: its text and where it sits in a document.

    ``section`` and ``end_section`` are ``beginSection`` and ``endSection`` as written;
    ``begin`` and ``end`` are the offsets inside them (``None`` when the file gives none),
    inclusive at both ends as the official evaluator counts them. The methods below are the
    evaluator's rules for comparing snippets (``data/Snippet.java``).
    """

    text: str = ""
    document: str = ""
    section: str = ""
    begin: int | None = None
    end: int | None = None
    end_section: str = ""

    @property
    def pmid(self) -> str:
        return pmid_of(self.document)

    @property
    def begin_section(self) -> str:
        """The section as the evaluator names it: what follows the first dot ("0")."""
        return _after_dot(self.section)

    @property
    def size(self) -> int:
        """Characters covered; the Java counts both ends (``end - begin + 1``)."""
        return self.end - self.begin + 1

    @property
    def document_id(self) -> str:
        """Last path segment of the document, as Java's ``split("/")`` gives it."""
        parts = self.document.split("/")
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()  # Java's split drops trailing empty strings
        return parts[-1]

    def same_sections(self, other: Snippet) -> bool:
        """Begin and end sections agree, as the evaluator names them."""
        mine = (self.begin_section, _after_dot(self.end_section))
        return mine == (other.begin_section, _after_dot(other.end_section))

    def _comparable(self, other: Snippet) -> bool:
        # Same sections, or the asymmetric rule: a section "0" (from "sections.0") of this
        # snippet may meet an "abstract" of the other one, never the reverse.
        return self.same_sections(other) or (
            self.begin_section == "0" and other.begin_section == "abstract"
        )

    def overlap(self, other: Snippet) -> int:
        """Characters shared with ``other`` (``Snippet.overlap``; documents are not checked)."""
        if not self._comparable(other):
            return 0
        if self.begin > other.end or self.end < other.begin:
            return 0
        return min(self.end, other.end) - max(self.begin, other.begin) + 1

    def overlaps(self, other: Snippet) -> bool:
        return self._comparable(other) and not (self.begin > other.end or self.end < other.begin)

    def merged(self, other: Snippet) -> Snippet:
        """The span of both, keeping this snippet's document and sections."""
        return replace(self, begin=min(self.begin, other.begin), end=max(self.end, other.end))


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    body: str
    type: str
    documents: tuple[str, ...] = ()
    snippets: tuple[Snippet, ...] = ()
    exact_answer: Any = None
    ideal_answer: tuple[str, ...] = ()
    batch: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


def string_field(value: Any, where: str, what: str) -> str:
    """A value that must be a string; like the Java reader (gson), a number gives its literal."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise CorpusFormatError(f"{where}: {what} must be a string, got {preview(value)}.")


def _offset(value: Any, where: str, what: str) -> int:
    """A character offset: an integer (``12.0`` too) that fits a Java int, as gson reads it."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not (math.isfinite(value) and value.is_integer()))
        or not _JAVA_INT[0] <= value <= _JAVA_INT[1]
    ):
        raise CorpusFormatError(
            f"{where}: {what} must be an integer character offset, got {preview(value)}."
        )
    return int(value)


def question_objects(data: Any, source: str) -> list[dict]:
    """The question objects of a BioASQ file, checked for what every question needs: an id.

    ``data`` is the parsed file (``{"questions": [...]}``) or the list of questions itself.
    """
    if isinstance(data, Mapping):
        if "questions" not in data:
            raise CorpusFormatError(
                f'{source}: no "questions" list; a BioASQ file is {{"questions": [...]}}.'
            )
        data = data["questions"]
    if not isinstance(data, list):
        raise CorpusFormatError(
            f'{source}: "questions" must be a list of question objects, got {preview(data)}.'
        )
    for n, q in enumerate(data, start=1):
        if not isinstance(q, Mapping):
            raise CorpusFormatError(
                f"{source}, question #{n}: expected an object, got {preview(q)}."
            )
        qid = q.get("id")
        if not isinstance(qid, str) or not qid:
            raise CorpusFormatError(f"{source}, question #{n}: no 'id' string.")
    return list(data)


def read_questions(path: str | Path) -> list[dict]:
    """Question objects of a BioASQ JSON file (gold or submission), ids checked."""
    return question_objects(load_json(path, "a BioASQ JSON file ({'questions': [...]})"), str(path))


def question_documents(question: Mapping, where: str) -> list[str]:
    """The document URLs of a question as written (duplicates kept), each checked."""
    documents = question.get("documents", [])
    if not isinstance(documents, list):
        raise CorpusFormatError(
            f"{where}: 'documents' must be a list of strings, got {preview(documents)}."
        )
    return [string_field(d, where, "each document") for d in documents]


def _snippet(raw: Any, where: str, need_text: bool) -> Snippet:
    if not isinstance(raw, Mapping):
        raise CorpusFormatError(f"{where}: each snippet must be an object.")
    text = raw.get("text")
    if need_text and not isinstance(text, str):
        raise CorpusFormatError(f"{where}: a snippet without a 'text' string.")
    document = string_field(raw.get("document", ""), where, "a snippet's 'document'")
    section = string_field(raw.get("beginSection", ""), where, "'beginSection'")
    end_section = string_field(raw.get("endSection", ""), where, "'endSection'")
    offsets = [
        _offset(raw[key], where, f"'{key}'") if key in raw else None
        for key in ("offsetInBeginSection", "offsetInEndSection")
    ]
    return Snippet(text if isinstance(text, str) else "", document, section, *offsets, end_section)


def question_snippets(question: Mapping, where: str, *, need_text: bool) -> list[Snippet]:
    """The snippets of a question, each checked; ``need_text`` for gold snippets to index."""
    snippets = question.get("snippets", [])
    if not isinstance(snippets, list):
        raise CorpusFormatError(
            f"{where}: 'snippets' must be a list of objects, got {preview(snippets)}."
        )
    return [_snippet(s, where, need_text) for s in snippets]


def _gold_exact(raw: Mapping, where: str) -> Any:
    """The exact answer, checked for a shape training can use: a string (yes/no) for a yesno
    question, items or lists of synonyms (strings) for factoid and list ones."""
    value, qtype = raw.get("exact_answer"), raw["type"]
    if value is None or qtype == "summary":
        return value
    if qtype == "yesno":
        if not isinstance(value, str):
            raise CorpusFormatError(
                f'{where}: \'exact_answer\' must be "yes" or "no", got {preview(value)}.'
            )
        return value
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(
        isinstance(item, (str, int, float))
        or (isinstance(item, list) and all(isinstance(s, (str, int, float)) for s in item))
        for item in items
    ):
        raise CorpusFormatError(
            f"{where}: 'exact_answer' of a {qtype} question must be a list of lists of "
            f'strings (e.g. [["answer", "synonym"]]), got {preview(value)}.'
        )
    return value


def _gold_question(path: Path, raw: dict[str, Any]) -> GoldQuestion:
    qid = raw["id"]
    where = f"{path}, question {qid}"
    for key in ("id", "body", "type"):
        if key not in raw or raw[key] == "":
            raise CorpusFormatError(f"{where}: missing or empty '{key}'.")
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise CorpusFormatError(
                f"{where}: '{key}' must be a non-empty string, got {preview(raw[key])}."
            )
    if raw["type"] not in QUESTION_TYPES:
        raise CorpusFormatError(
            f"{where}: unknown type {raw['type']!r} (expected one of {', '.join(QUESTION_TYPES)})."
        )
    ideal = raw.get("ideal_answer") or []
    ideal = [ideal] if isinstance(ideal, str) else ideal
    if not isinstance(ideal, list):
        raise CorpusFormatError(
            f"{where}: 'ideal_answer' must be a string or a list of strings, got {preview(ideal)}."
        )
    return GoldQuestion(
        id=qid,
        body=raw["body"],
        type=raw["type"],
        documents=tuple(pmid_of(d) for d in question_documents(raw, where)),
        snippets=tuple(question_snippets(raw, where, need_text=True)),
        exact_answer=_gold_exact(raw, where),
        ideal_answer=tuple(string_field(i, where, "each 'ideal_answer'") for i in ideal),
        batch=path.stem.replace("_golden", "").split("__")[-1],
        raw=raw,
    )


def load_golden(paths: Iterable[str | Path]) -> list[GoldQuestion]:
    """All questions of the given golden files, checked, in file order."""
    return [_gold_question(path, raw) for path in map(Path, paths) for raw in read_questions(path)]


def snippet_passages(snippets: Iterable[Snippet], **meta: Any) -> Iterator[Passage]:
    """Every distinct non-empty snippet as a passage (first occurrence kept).

    The passage keeps the snippet's section and offsets in ``meta`` (after any ``meta`` given),
    so a submission can point back into the document.
    """
    seen: set[str] = set()
    for snippet in snippets:
        if not snippet.text.strip():
            continue
        pid = snippet_passage_id(snippet.text)
        if pid in seen:
            continue
        seen.add(pid)
        text = snippet.text.strip()
        # The offsets span the text as given (end exclusive), white space included; the passage
        # is stripped, so they move in by what was stripped to point at the passage's text.
        lead = len(snippet.text) - len(snippet.text.lstrip())
        trail = len(snippet.text) - len(snippet.text.rstrip())
        begin = None if snippet.begin is None else snippet.begin + lead
        end = None if snippet.end is None else snippet.end - trail
        yield Passage(
            id=pid,
            text=text,
            pmid=snippet.pmid,
            meta={**meta, "section": snippet.section, "begin": begin, "end": end},
        )


def read_bioasq(paths: Iterable[str | Path]) -> Iterator[Passage]:
    """Every distinct snippet of the golden files as a passage (first occurrence kept)."""
    snippets = (s for question in load_golden(paths) for s in question.snippets)
    yield from snippet_passages(snippets, source="bioasq")
