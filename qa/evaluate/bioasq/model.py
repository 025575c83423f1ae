"""The evaluator's working copy of a question, and the versions of the official rules.

The Java evaluator changes its questions while it scores (merged snippets, documents cut down
to the relevant ones, matched list items removed), and later steps see the changes; one
mutable :class:`Question` per question, rebuilt for each phase, reproduces that. The files are
parsed by :mod:`qa.corpus.bioasq`; :mod:`.submission` makes these working copies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from qa.corpus.bioasq import Snippet
from qa.types import QUESTION_TYPES

#: Values of the Java tool's ``-e`` flag: 2 for BioASQ1-2, 3 for BioASQ3-4, 5 for BioASQ5-7,
#: 8 for BioASQ8, 9 since BioASQ9. The Java ``main`` rejects nothing but computes no AP for
#: other values, so we refuse them.
VERSIONS = (2, 3, 5, 8, 9)

#: What the Java tool uses when ``-e`` is not given (``EvaluatorTask1b.main``).
JAVA_DEFAULT_VERSION = 2

#: The version BioASQ uses for its current editions (BioASQ9 and later).
CURRENT_VERSION = 9

FACTOID, LIST, YESNO, SUMMARY = QUESTION_TYPES

MISSING: Any = object()


@dataclass
class ExactAnswer:
    """An exact answer as the Java reads it: one of the three fields is filled.

    ``label`` holds a yes/no answer ("yes", "no" or "none"), ``answers`` a flat list of strings
    (the BioASQ1-2 factoid format, read only under version 2) and ``items`` a list of items, each
    a list of synonyms. Everything is lower-cased.
    """

    label: str | None = None
    answers: list[str] = field(default_factory=list)
    items: list[list[str]] = field(default_factory=list)

    def is_empty(self) -> bool:
        return self.label is None and not self.answers and not self.items


@dataclass
class Question:
    """One question of a gold file or a submission, mutable like the Java ``Question``."""

    id: str
    type: str | None
    documents: list[str]
    snippets: list[Snippet]
    raw_exact: Any
    source: str
    parsed_exact: Any = MISSING
    #: The ideal answers: a gold file's alternatives, or a submission's one answer.
    ideal: tuple[str, ...] = ()

    def where(self) -> str:
        return f"{self.source}, question {self.id}"


def check_version(version: int) -> None:
    if version not in VERSIONS:
        raise ValueError(
            f"version must be one of {VERSIONS} (the Java tool's -e values: 2 for BioASQ1-2, "
            f"3 for BioASQ3-4, 5 for BioASQ5-7, 8 for BioASQ8, 9 since BioASQ9), got {version!r}."
        )


def first_by_id(questions: Iterable[Question]) -> dict[str, Question]:
    found: dict[str, Question] = {}
    for q in questions:
        found.setdefault(q.id, q)  # Task1bData.getQuestion returns the first match
    return found
