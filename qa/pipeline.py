"""The Python API: one object that owns a loaded index and its models.

The CLI, the UI and the evaluation script are thin shells over this class; nothing they do is
missing here. ``ask`` retrieves then answers; ``answer`` reads passages the caller already has
(BioASQ phase B gives gold snippets). The models are built by :class:`~qa.components.Components`
on first use and then shared, so a server that only searches never loads the reader; the
answering of each question type lives beside the readers, in :mod:`qa.read.answering`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from qa.components import Components
from qa.config import Profile, load_profile, with_backend
from qa.errors import InvalidInput, QAError, check_choice, check_count
from qa.index.store import LoadedIndex, load_index
from qa.memory import MemoryTrimmer
from qa.modelhub.trained import require_trained
from qa.read.answering import answer_passages, timed
from qa.retrieve.base import Searcher
from qa.types import (
    QUESTION_TYPES,
    RETRIEVAL_MODES,
    RETRIEVAL_ONLY,
    Annotations,
    Hit,
    Passage,
    QAResult,
)

MAX_QUESTION_CHARS = 2000
WARM_UP_QUESTION = "Which gene is mutated in cystic fibrosis?"
WARM_UP_PASSAGE = Passage("warm-up", "Cystic fibrosis is caused by mutations in the CFTR gene.")


def clean_question(question: str) -> str:
    """Refuse an empty question; cut an enormous one (with a warning) instead of failing."""
    if not isinstance(question, str):
        raise InvalidInput(f"The question must be a str, not {type(question).__name__}.")
    if not question.strip():
        raise InvalidInput(
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


def clean_questions(questions: Sequence[str]) -> list[str]:
    """:func:`clean_question` of each; a single str is refused (it would be read letter by
    letter)."""
    if isinstance(questions, str) or not isinstance(questions, Sequence):
        raise InvalidInput(
            f"questions must be a list of str, not {type(questions).__name__}: "
            "use search or ask for one question."
        )
    return [clean_question(q) for q in questions]


def check_qtype(qtype: str | None) -> None:
    check_choice("question type", qtype, QUESTION_TYPES, none_ok="to have it predicted")


def current_profile_of(index_dir: str | Path) -> Profile | None:
    """Today's version of the profile an index was built with, when it can still be found.

    The manifest keeps the profile as it was at build time; reader, yes/no and annotation
    models may have been trained since, and they do not change the index, so a shipped (or
    still present) profile of that name is preferred. ``None`` falls back to the manifest's.
    """
    from qa.errors import ConfigError
    from qa.index.store import read_manifest

    recorded = read_manifest(index_dir)["profile"]
    source = recorded.get("source") or ""
    try:
        return load_profile(
            source if source.endswith(".toml") and Path(source).is_file() else recorded.get("name")
        )
    except ConfigError:
        return None


def run_profile(
    index_dir: str | Path, profile: Profile | None, backend: str | None = None
) -> Profile | None:
    """The profile to load an index with: the one given, else :func:`current_profile_of`;
    with a ``backend``, that one running on it (the manifest's profile when no other is
    found). ``None`` leaves the choice to the manifest."""
    if profile is None:
        profile = current_profile_of(index_dir)
    if backend is None:
        return profile
    if profile is None:
        from qa.index.manifest import recorded_profile
        from qa.index.store import read_manifest

        profile = recorded_profile(read_manifest(index_dir))
    return with_backend(profile, backend)


def add_retrieval_time(result: QAResult, retrieve_ms: float) -> QAResult:
    """Put the retrieval time first in ``result.timings`` and add ``total_ms`` over all stages
    (``ask``, ``ask_batch`` and the UI, which retrieves and reads as two streamed steps)."""
    result.timings = {"retrieve_ms": round(retrieve_ms, 2), **result.timings}
    result.timings["total_ms"] = round(sum(result.timings.values()), 2)
    return result


class QA:
    """``QA.load(index_dir)`` then ``ask(question)``; ``QA.load(None)`` reads given passages.

    The profile's typed sections are ``qa.profile.reader``, ``.annotate`` and ``.ui``; the
    models are ``qa.components.reader``, ``.yesno``, ``.qtype``, ``.encoder``, ``.annotator``.
    A profile without a [reader] model is a retrieval profile: ``ask`` and ``answer`` return
    the passages (qtype "passages") and no answers.
    """

    def __init__(
        self, index: LoadedIndex | None, profile: Profile | None = None, device: str = "auto"
    ) -> None:
        if index is None and profile is None:
            raise QAError("QA needs an index or a profile.")
        self.index = index
        self.profile: Profile = profile or index.profile  # type: ignore[union-attr]
        require_trained(self.profile)
        self.device = device
        encoder = index.dense.encoder if index is not None else None
        self.components = Components(self.profile, device=device, encoder=encoder)
        self._trim_memory = MemoryTrimmer()

    @classmethod
    def load(
        cls,
        index_dir: str | Path | None,
        profile: str | Path | Profile | None = None,
        device: str = "auto",
        backend: str | None = None,
        engine: str = "local",
        address: str | None = None,
    ) -> QA:
        """Load an index (checked against ``profile``), or only the profile's models;
        ``backend`` (torch, onnx) replaces the profile's ``[runtime] backend``; ``engine="ray"``
        searches the index's shards on Ray actors (a local Ray, or the cluster at ``address``)."""
        if profile is not None and not isinstance(profile, Profile):
            profile = load_profile(profile)
        if index_dir is None:
            return cls(None, with_backend(profile or load_profile(None), backend), device=device)
        profile = run_profile(index_dir, profile, backend)
        if profile is not None:
            require_trained(profile)  # before the index and its encoder load
        index = load_index(index_dir, profile, device=device, engine=engine, address=address)
        return cls(index, device=device)

    def warm_up(self) -> float:
        """Load every model the profile names and answer one small question, so the first user
        does not wait for them; returns the seconds it took."""
        started = time.perf_counter()
        self.components.warm_up()
        if self.index is not None:
            self.ask(WARM_UP_QUESTION, qtype="factoid", k=2)
        else:
            self.answer(WARM_UP_QUESTION, [WARM_UP_PASSAGE], qtype="factoid")
        return time.perf_counter() - started

    # --- the verbs --------------------------------------------------------------------------

    def annotate(self, text: str) -> Annotations:
        """Entities (chemicals, diseases, genes, species) and relations of a text."""
        if not isinstance(text, str) or not text.strip():
            raise QAError("Nothing to annotate: give a non-empty text.")
        return self.components.annotator.annotate(text)

    def search(self, question: str, k: int = 10, mode: str = "hybrid") -> list[Hit]:
        question = clean_question(question)
        return self._retriever(k, mode).search(question, k)

    def batch_search(
        self, questions: Sequence[str], k: int = 10, mode: str = "hybrid"
    ) -> list[list[Hit]]:
        cleaned = clean_questions(questions)
        return self._retriever(k, mode).batch_search(cleaned, k)

    def question_type(self, question: str) -> tuple[str, float]:
        """The predicted type of a question and its probability."""
        return self.components.qtype.predict(clean_question(question))

    def ask(
        self,
        question: str,
        qtype: str | None = None,
        k: int = 10,
        mode: str = "hybrid",
        ideal: bool | None = None,
        annotate: bool | None = None,
    ) -> QAResult:
        """Retrieve ``k`` passages and answer from them.

        ``qtype`` is one of factoid, list, yesno, summary, or ``None`` to predict it. The ideal
        answer (a few best sentences) is written for summary questions, and for the others
        when ``ideal`` is true.
        """
        question = clean_question(question)
        check_qtype(qtype)
        retriever = self._retriever(k, mode)
        spent: dict[str, float] = {}
        with timed(spent, "retrieve_ms"):
            hits = retriever.search(question, k)
        result = self.answer(
            question, hits, qtype=qtype, ideal=ideal, annotate=annotate, ranked=True
        )
        return add_retrieval_time(result, spent["retrieve_ms"])

    def ask_batch(
        self,
        questions: Sequence[str],
        qtypes: Sequence[str | None] | None = None,
        k: int = 10,
        mode: str = "hybrid",
        ideal: bool | None = None,
        annotate: bool | None = None,
    ) -> list[QAResult]:
        """Answer many questions: retrieval is batched, reading goes question by question."""
        cleaned = clean_questions(questions)
        qtypes = list(qtypes) if qtypes is not None else [None] * len(cleaned)
        if len(qtypes) != len(cleaned):
            raise InvalidInput(f"{len(cleaned)} questions but {len(qtypes)} question types.")
        for qtype in qtypes:
            check_qtype(qtype)
        retriever = self._retriever(k, mode)
        spent: dict[str, float] = {}
        with timed(spent, "retrieve_ms"):
            all_hits = retriever.batch_search(cleaned, k)
        retrieve_ms = spent["retrieve_ms"] / max(1, len(cleaned))
        results = []
        for question, qtype, hits in zip(cleaned, qtypes, all_hits):
            result = self.answer(
                question, hits, qtype=qtype, ideal=ideal, annotate=annotate, ranked=True
            )
            results.append(add_retrieval_time(result, retrieve_ms))
        return results

    def answer(
        self,
        question: str,
        passages: Sequence[Hit] | Sequence[Passage],
        qtype: str | None = None,
        ideal: bool | None = None,
        annotate: bool | None = None,
        ranked: bool = False,
    ) -> QAResult:
        """Answer from the given passages (no retrieval), e.g. BioASQ gold snippets.

        ``ranked`` says the passages come best first from a retriever, so the profile's
        ``rank_prior`` applies to factoid answers (gold snippets have no such order).

        ``annotate`` (default: when the profile names an NER model) tags the passages behind
        the top answers (or the top passages of a yes/no or summary question) and marks the
        entities inside each answer span.
        """
        question = clean_question(question)
        check_qtype(qtype)
        if isinstance(passages, str) or not all(isinstance(h, (Hit, Passage)) for h in passages):
            raise InvalidInput("passages must be a list of Passage (or Hit) objects.")
        hits = [h if isinstance(h, Hit) else Hit(h, 0.0) for h in passages]
        if not self.profile.reader.model:
            return QAResult(question, RETRIEVAL_ONLY, [], hits, qtype_source="retrieval only")
        settings = self.profile.annotate
        marks = annotate or (annotate is None and bool(settings.ner_model))
        result = answer_passages(
            question,
            hits,
            self.components,
            self.profile.reader,
            settings if marks else None,
            qtype=qtype,
            ideal=ideal,
            ranked=ranked,
        )
        self._trim_memory()  # a long-running server would otherwise keep growing (qa/memory.py)
        return result

    def _retriever(self, k: int, mode: str) -> Searcher:
        """The index's retriever of ``mode``, once ``k`` and ``mode`` are known to be valid."""
        check_count("k", k)
        check_choice("retrieval mode", mode, RETRIEVAL_MODES)
        return self._index().retriever(mode)

    def _index(self) -> LoadedIndex:
        if self.index is None:
            raise QAError(
                "This QA was loaded without an index: give QA.load an index folder (build one "
                "with qa index build), or read your own passages with QA.answer."
            )
        return self.index
