"""The Python API: one object that owns a loaded index and its models.

The CLI and the UI are thin shells over this class; nothing they do is missing here.
Retrieval is what exists today; ``ask`` (reader) and ``annotate`` join it as those stages land.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from qa.config import Profile, load_profile
from qa.errors import QAError
from qa.index.store import LoadedIndex, load_index
from qa.types import Hit

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

    def __init__(self, index: LoadedIndex) -> None:
        self.index = index

    @classmethod
    def load(
        cls,
        index_dir: str | Path,
        profile: str | Path | Profile | None = None,
        device: str = "auto",
    ) -> QA:
        if profile is not None and not isinstance(profile, Profile):
            profile = load_profile(profile)
        return cls(load_index(index_dir, profile, device=device))

    @property
    def profile(self) -> Profile:
        return self.index.profile

    def search(self, question: str, k: int = 10, mode: str = "hybrid") -> list[Hit]:
        return self.index.retriever(mode).search(clean_question(question), k)

    def batch_search(
        self, questions: Sequence[str], k: int = 10, mode: str = "hybrid"
    ) -> list[list[Hit]]:
        return self.index.retriever(mode).batch_search([clean_question(q) for q in questions], k)
