"""The Python API: one object that owns a loaded index and its models.

The CLI and the UI are thin shells over this class; nothing they do is missing here.
``ask`` reads factoid answers today; question types, yes/no and annotations join it as those
stages land.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from qa.config import Profile, load_profile
from qa.errors import QAError
from qa.index.store import LoadedIndex, load_index
from qa.types import Hit, QAResult

MAX_QUESTION_CHARS = 2000


def clean_question(question: str) -> str:
    """Refuse an empty question; cut an enormous one (with a warning) instead of failing."""
    if not isinstance(question, str) or not question.strip():
        raise QAError(
            "The question is empty: type a question, e.g. 'Which gene is mutated in Rett syndrome?'"
        )
    question = " ".join(question.split())
    if len(question) > MAX_QUESTION_CHARS:
        warnings.warn(
            f"Question of {len(question)} characters cut to the first {MAX_QUESTION_CHARS}.",
            stacklevel=3,
        )
        question = question[:MAX_QUESTION_CHARS]
    return question


class QA:
    """``QA.load(index_dir)`` then ``search(question)``."""

    def __init__(self, index: LoadedIndex, device: str = "auto") -> None:
        self.index = index
        self.device = device
        self._reader = None

    @classmethod
    def load(
        cls,
        index_dir: str | Path,
        profile: str | Path | Profile | None = None,
        device: str = "auto",
    ) -> QA:
        if profile is not None and not isinstance(profile, Profile):
            profile = load_profile(profile)
        return cls(load_index(index_dir, profile, device=device), device=device)

    @property
    def profile(self) -> Profile:
        return self.index.profile

    def search(self, question: str, k: int = 10, mode: str = "hybrid") -> list[Hit]:
        return self.index.retriever(mode).search(clean_question(question), k)

    @property
    def reader(self):
        """The extractive reader named in the profile, loaded on first use."""
        if self._reader is None:
            from qa.read.reader import Reader

            spec = self.profile.reader.get("model", "")
            if not spec:
                raise QAError(f"Profile {self.profile.name} names no [reader] model.")
            self._reader = Reader(spec, device=self.device)
        return self._reader

    def ask(self, question: str, k: int = 10, mode: str = "hybrid", top_k: int = 5) -> QAResult:
        """Retrieve ``k`` passages and read the answers out of them."""
        question = clean_question(question)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        hits = self.index.retriever(mode).search(question, k)
        timings["retrieve_ms"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        answers = self.reader.read(question, hits, top_k=top_k)
        timings["read_ms"] = (time.perf_counter() - started) * 1000
        return QAResult(
            question=question, qtype="factoid", answers=answers, hits=hits, timings=timings
        )

    def batch_search(
        self, questions: Sequence[str], k: int = 10, mode: str = "hybrid"
    ) -> list[list[Hit]]:
        return self.index.retriever(mode).batch_search([clean_question(q) for q in questions], k)
