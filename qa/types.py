"""The plain dataclasses that flow between the stages of the pipeline.

Every stage takes and returns these, so a stage can be swapped, tested or run alone without
knowing what sits before or after it. Offsets are always character offsets into
``Passage.text``: ``passage.text[start:end] == answer.text`` holds for every answer and entity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The four BioASQ question types, and the ways a question can be searched.
QUESTION_TYPES = ("factoid", "list", "yesno", "summary")
# The types the reader answers with spans, and those whose exact answer BioASQ scores.
SPAN_TYPES = ("factoid", "list")
EXACT_TYPES = ("factoid", "list", "yesno")
RETRIEVAL_MODES = ("hybrid", "bm25", "dense")
# The type of a result that holds passages only: the profile names no reader.
RETRIEVAL_ONLY = "passages"


@dataclass(frozen=True)
class Passage:
    """A unit of retrieval: a snippet, an abstract, or a window of a longer text."""

    id: str
    text: str
    title: str = ""
    pmid: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        return cls(
            id=str(data["id"]),
            text=str(data["text"]),
            title=str(data.get("title") or ""),
            pmid=str(data.get("pmid") or ""),
            meta=dict(data.get("meta") or {}),
        )


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its score and the retrievers that found it.

    ``sources`` maps each retriever name ("bm25", "dense") to the 1-based rank it gave the
    passage, so a fused hit still shows where it came from.
    """

    passage: Passage
    score: float
    sources: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passage": self.passage.to_dict(),
            "score": self.score,
            "sources": dict(self.sources),
        }


@dataclass(frozen=True)
class Answer:
    """A distinct answer: its best occurrence (``passage[start:end]``) and all its support.

    ``support`` lists every occurrence that was merged into this answer as
    ``(passage id, start, end, span score)``, best first; ``synonyms`` the other names it was
    found under ("methyl-CpG binding protein 2" beside "MeCP2"), best first.
    """

    text: str
    score: float
    passage: Passage
    start: int
    end: int
    entities: tuple[Entity, ...] = ()
    support: tuple[tuple[str, int, int, float], ...] = ()
    synonyms: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "score": self.score,
            "passage": self.passage.to_dict(),
            "start": self.start,
            "end": self.end,
            "entities": [e.to_dict() for e in self.entities],
            "support": [list(s) for s in self.support],
            "synonyms": list(self.synonyms),
        }


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    label: str
    text: str
    score: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Relation:
    """``head`` ``phrase`` ``tail`` ("aspirin inhibits COX-2"): ``phrase`` is what people read,
    ``label`` the model's raw label (``chemical-gene:CPR:4``), kept for evaluation."""

    head: Entity
    tail: Entity
    label: str
    score: float = 1.0
    phrase: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "head": self.head.to_dict(),
            "tail": self.tail.to_dict(),
            "label": self.label,
            "phrase": self.phrase,
            "score": self.score,
        }


@dataclass(frozen=True)
class Annotations:
    """Entities of a text (character offsets into it) and the relations between them."""

    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "entities": [e.to_dict() for e in self.entities],
            "relations": [r.to_dict() for r in self.relations],
        }


@dataclass(frozen=True)
class YesNo:
    """A yes/no verdict, the probability of "yes", and each passage's log-odds of "yes"."""

    label: str
    probability: float
    evidence: tuple[tuple[str, float], ...] = ()  # (passage id, log-odds of yes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probability": self.probability,
            "evidence": [list(e) for e in self.evidence],
        }


# What the chat, the CLI and the API say when the reader abstains (QAResult.abstained).
NO_CONFIDENT_ANSWER = "The index holds no confident answer to this question"


@dataclass
class QAResult:
    """The answer to one question.

    ``answers`` holds the ranked spans of a factoid question (up to five), the selected items of
    a list question, and the best spans of the others as extra evidence; ``yesno`` the verdict of
    a yes/no question; ``ideal_answer`` a short summary from the best sentences. ``qtype_source``
    says whether the type was given by the caller or predicted (then ``qtype_probability``).
    """

    question: str
    qtype: str
    answers: list[Answer]
    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)
    yesno: YesNo | None = None
    ideal_answer: str = ""
    qtype_source: str = "given"
    qtype_probability: float | None = None
    annotations: dict[str, Annotations] = field(default_factory=dict)
    # The reader's answerability (factoid and list; qa.read.reader.Reading), how close the best
    # passage is to the question (qa.read.answering.evidence_similarity), and whether either
    # fell below the profile's threshold, so that no answer is confident enough to show.
    answerability: float | None = None
    evidence_similarity: float | None = None
    abstained: bool = False

    def exact_answer(self) -> Any:
        """The answer in the BioASQ submission format for this question's type."""
        if self.qtype == "yesno":
            return self.yesno.label if self.yesno else "yes"
        if self.qtype in SPAN_TYPES:
            return [[a.text, *a.synonyms] for a in self.answers]
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "qtype": self.qtype,
            "qtype_source": self.qtype_source,
            "qtype_probability": self.qtype_probability,
            "exact_answer": self.exact_answer(),
            "abstained": self.abstained,
            # -inf (no passage to read) is no JSON number
            "answerability": self.answerability if self.answerability != float("-inf") else None,
            "evidence_similarity": self.evidence_similarity,
            "answers": [a.to_dict() for a in self.answers],
            "yesno": self.yesno.to_dict() if self.yesno else None,
            "ideal_answer": self.ideal_answer,
            "hits": [h.to_dict() for h in self.hits],
            "annotations": {pid: a.to_dict() for pid, a in self.annotations.items()},
            "timings": dict(self.timings),
        }
