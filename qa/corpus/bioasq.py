"""BioASQ task B golden files: the questions, and their snippets as passages.

A golden file is ``{"questions": [...]}``; each question has ``id``, ``body``, ``type``,
``documents`` (PubMed URLs), ``snippets`` (text, document URL, section and character offsets),
and, except for summaries, ``exact_answer``. Snippets become passages, de-duplicated by their
whitespace-normalised text, so the same sentence quoted for two questions is indexed once and
counts as gold for both.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.corpus.files import load_json
from qa.errors import CorpusFormatError
from qa.types import Passage

QUESTION_TYPES = ("factoid", "list", "yesno", "summary")
_PMID = re.compile(r"(\d+)\s*$")


@dataclass(frozen=True)
class Snippet:
    text: str
    pmid: str
    section: str = ""
    begin: int | None = None
    end: int | None = None

    @property
    def key(self) -> str:
        return snippet_key(self.text)


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


def _load_json(path: Path) -> Any:
    return load_json(path, "a BioASQ golden file")


def _snippet(path: Path, qid: str, raw: Any) -> Snippet:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise CorpusFormatError(f"{path}, question {qid}: a snippet without a 'text' string.")
    return Snippet(
        text=raw["text"],
        pmid=pmid_of(raw.get("document", "")),
        section=str(raw.get("beginSection", "")),
        begin=raw.get("offsetInBeginSection"),
        end=raw.get("offsetInEndSection"),
    )


def load_golden(paths: Iterable[str | Path]) -> list[GoldQuestion]:
    """All questions of the given golden files, checked, in file order."""
    questions: list[GoldQuestion] = []
    for path in map(Path, paths):
        data = _load_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
            raise CorpusFormatError(
                f"{path}: expected an object with a 'questions' list (BioASQ golden format)."
            )
        for n, raw in enumerate(data["questions"]):
            if not isinstance(raw, dict):
                raise CorpusFormatError(f"{path}: question #{n} is not an object.")
            qid = str(raw.get("id", f"#{n}"))
            for key in ("id", "body", "type"):
                if not isinstance(raw.get(key), str) or not raw[key].strip():
                    raise CorpusFormatError(f"{path}, question {qid}: missing or empty '{key}'.")
            if raw["type"] not in QUESTION_TYPES:
                raise CorpusFormatError(
                    f"{path}, question {qid}: unknown type {raw['type']!r} "
                    f"(expected one of {', '.join(QUESTION_TYPES)})."
                )
            ideal = raw.get("ideal_answer") or ()
            questions.append(
                GoldQuestion(
                    id=qid,
                    body=raw["body"],
                    type=raw["type"],
                    documents=tuple(pmid_of(d) for d in raw.get("documents") or ()),
                    snippets=tuple(_snippet(path, qid, s) for s in raw.get("snippets") or ()),
                    exact_answer=raw.get("exact_answer"),
                    ideal_answer=(ideal,) if isinstance(ideal, str) else tuple(ideal),
                    batch=path.stem.replace("_golden", "").split("__")[-1],
                    raw=raw,
                )
            )
    return questions


def read_bioasq(paths: Iterable[str | Path]) -> Iterator[Passage]:
    """Every distinct snippet of the golden files as a passage (first occurrence kept)."""
    seen: set[str] = set()
    for question in load_golden(paths):
        for snippet in question.snippets:
            if not snippet.text.strip():
                continue
            pid = snippet_passage_id(snippet.text)
            if pid in seen:
                continue
            seen.add(pid)
            yield Passage(
                id=pid,
                text=snippet.text.strip(),
                pmid=snippet.pmid,
                meta={
                    "source": "bioasq",
                    "section": snippet.section,
                    "begin": snippet.begin,
                    "end": snippet.end,
                },
            )
