"""The Python API: one object that owns a loaded index and its models.

The CLI, the UI and the evaluation script are thin shells over this class; nothing they do is
missing here. ``ask`` retrieves then answers; ``answer`` reads passages the caller already has
(BioASQ phase B gives gold snippets). Every model is loaded on first use and then shared, so a
server that only searches never loads the reader.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa.config import Profile, load_profile
from qa.errors import QAError
from qa.index.store import LoadedIndex, load_index
from qa.types import Annotations, Answer, Hit, Passage, QAResult

if TYPE_CHECKING:  # the models import torch; `import qa` stays light
    from qa.annotate.annotator import Annotator
    from qa.read.qtype import QuestionTypeClassifier
    from qa.read.reader import Reader
    from qa.read.yesno import YesNoClassifier
    from qa.retrieve.encoder import SentenceEncoder

MAX_QUESTION_CHARS = 2000
QUESTION_TYPES = ("factoid", "list", "yesno", "summary")

# [reader] settings of a profile and their defaults.
READER_DEFAULTS = {
    "model": "",
    "max_seq_length": 384,
    "doc_stride": 128,
    "max_answer_length": 30,
    "answer_temperature": 1.0,  # merging one answer's spans: T * logsumexp(score / T)
    "rank_prior": 0.0,  # factoid spans of retrieved passage r lose rank_prior * ln(r)
    "factoid_answers": 5,  # BioASQ reads at most five
    "list_delta": 2.0,
    "list_max_items": 10,
    "list_split": True,  # cut "A, B and C" into three items
    "yesno_model": "",
    "yesno_threshold": 0.5,
    "yesno_passages": 10,
    "qtype_model": "",
    "summary_sentences": 3,
    "summary_passages": 5,
}
# [annotate] settings of a profile and their defaults.
ANNOTATE_DEFAULTS = {"ner_model": "", "relations_model": "", "passages": 3}


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


def add_retrieval_time(result: QAResult, retrieve_ms: float) -> QAResult:
    """Put the retrieval time first in ``result.timings`` and add ``total_ms`` over all stages
    (``ask``, ``ask_batch`` and the UI, which retrieves and reads as two streamed steps)."""
    result.timings = {"retrieve_ms": round(retrieve_ms, 2), **result.timings}
    result.timings["total_ms"] = round(sum(result.timings.values()), 2)
    return result


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


class QA:
    """``QA.load(index_dir)`` then ``ask(question)``; ``QA.load(None)`` reads given passages."""

    def __init__(
        self, index: LoadedIndex | None, profile: Profile | None = None, device: str = "auto"
    ) -> None:
        if index is None and profile is None:
            raise QAError("QA needs an index or a profile.")
        self.index = index
        self._profile = profile or index.profile  # type: ignore[union-attr]
        self.device = device
        unknown = sorted(set(self._profile.reader) - set(READER_DEFAULTS))
        if unknown:
            raise QAError(
                f"Profile {self._profile.name}: unknown [reader] setting(s) {', '.join(unknown)}; "
                f"the settings are {', '.join(READER_DEFAULTS)}."
            )
        self.settings = {**READER_DEFAULTS, **self._profile.reader}
        unknown = sorted(set(self._profile.annotate) - set(ANNOTATE_DEFAULTS))
        if unknown:
            raise QAError(
                f"Profile {self._profile.name}: unknown [annotate] setting(s) "
                f"{', '.join(unknown)}; the settings are {', '.join(ANNOTATE_DEFAULTS)}."
            )
        self.annotate_settings = {**ANNOTATE_DEFAULTS, **self._profile.annotate}
        self._annotator = None
        self._reader = None
        self._yesno = None
        self._qtype = None
        self._encoder = None

    @classmethod
    def load(
        cls,
        index_dir: str | Path | None,
        profile: str | Path | Profile | None = None,
        device: str = "auto",
    ) -> QA:
        """Load an index (checked against ``profile``), or only the profile's models."""
        if profile is not None and not isinstance(profile, Profile):
            profile = load_profile(profile)
        if index_dir is None:
            return cls(None, profile or load_profile(None), device=device)
        if profile is None:
            profile = current_profile_of(index_dir)
        return cls(load_index(index_dir, profile, device=device), device=device)

    @property
    def profile(self) -> Profile:
        return self._profile

    # --- models, loaded on first use ----------------------------------------------------------

    @property
    def reader(self) -> Reader:
        """The extractive reader named in the profile."""
        if self._reader is None:
            from qa.read.reader import Reader

            spec = self.settings["model"]
            if not spec:
                raise QAError(f"Profile {self.profile.name} names no [reader] model.")
            self._reader = Reader(
                spec,
                device=self.device,
                max_seq_length=self.settings["max_seq_length"],
                doc_stride=self.settings["doc_stride"],
                max_answer_length=self.settings["max_answer_length"],
                temperature=self.settings["answer_temperature"],
            )
        return self._reader

    @property
    def yesno_classifier(self) -> YesNoClassifier:
        if self._yesno is None:
            from qa.read.yesno import YesNoClassifier

            spec = self.settings["yesno_model"]
            if not spec:
                raise QAError(
                    f"Profile {self.profile.name} names no [reader] yesno_model: train one with "
                    "qa train yesno and name it in the profile."
                )
            self._yesno = YesNoClassifier(
                spec,
                device=self.device,
                max_passages=self.settings["yesno_passages"],
                threshold=self.settings["yesno_threshold"],
            )
        return self._yesno

    @property
    def qtype_classifier(self) -> QuestionTypeClassifier:
        if self._qtype is None:
            from qa.read.qtype import QuestionTypeClassifier

            spec = self.settings["qtype_model"]
            if not spec:
                raise QAError(
                    f"Profile {self.profile.name} names no [reader] qtype_model: pass the "
                    "question type (factoid, list, yesno, summary) or train one with qa train qtype."
                )
            self._qtype = QuestionTypeClassifier(spec)
        return self._qtype

    @property
    def annotator(self) -> Annotator:
        if self._annotator is None:
            from qa.annotate.annotator import Annotator

            spec = self.annotate_settings["ner_model"]
            if not spec:
                raise QAError(
                    f"Profile {self.profile.name} names no [annotate] ner_model: train one with "
                    "qa train ner and name it in the profile."
                )
            self._annotator = Annotator(
                spec, self.annotate_settings["relations_model"], device=self.device
            )
        return self._annotator

    def annotate(self, text: str) -> Annotations:
        """Entities (chemicals, diseases, genes, species) and relations of a text."""
        if not isinstance(text, str) or not text.strip():
            raise QAError("Nothing to annotate: give a non-empty text.")
        return self.annotator.annotate(text)

    @property
    def encoder(self) -> SentenceEncoder:
        """The query encoder of the index (or of the profile when there is no index)."""
        if self._encoder is None:
            if self.index is not None:
                self._encoder = self.index.dense.encoder
            else:
                from qa.retrieve.encoder import SentenceEncoder

                cfg = self.profile.embedder
                self._encoder = SentenceEncoder(
                    cfg.model,
                    device=self.device,
                    max_seq_length=cfg.max_seq_length,
                    pooling=cfg.pooling,
                )
        return self._encoder

    # --- the verbs --------------------------------------------------------------------------

    def search(self, question: str, k: int = 10, mode: str = "hybrid") -> list[Hit]:
        return self._index().retriever(mode).search(clean_question(question), k)

    def batch_search(
        self, questions: Sequence[str], k: int = 10, mode: str = "hybrid"
    ) -> list[list[Hit]]:
        return self._index().retriever(mode).batch_search([clean_question(q) for q in questions], k)

    def question_type(self, question: str) -> tuple[str, float]:
        """The predicted type of a question and its probability."""
        return self.qtype_classifier.predict(clean_question(question))

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
        started = time.perf_counter()
        hits = self._index().retriever(mode).search(question, k)
        retrieve_ms = _ms(started)
        result = self.answer(
            question, hits, qtype=qtype, ideal=ideal, annotate=annotate, ranked=True
        )
        return add_retrieval_time(result, retrieve_ms)

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
        cleaned = [clean_question(q) for q in questions]
        qtypes = list(qtypes) if qtypes is not None else [None] * len(cleaned)
        if len(qtypes) != len(cleaned):
            raise QAError(f"{len(cleaned)} questions but {len(qtypes)} question types.")
        started = time.perf_counter()
        all_hits = self._index().retriever(mode).batch_search(cleaned, k)
        retrieve_ms = _ms(started) / max(1, len(cleaned))
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
        from qa.read.reader import select_list

        question = clean_question(question)
        hits = [h if isinstance(h, Hit) else Hit(h, 0.0) for h in passages]
        texts = [h.passage for h in hits]
        timings: dict[str, float] = {}
        source, probability = "given", None
        if qtype is None:
            started = time.perf_counter()
            qtype, probability = self.qtype_classifier.predict(question)
            source = "predicted"
            timings["qtype_ms"] = _ms(started)
        elif qtype not in QUESTION_TYPES:
            raise QAError(
                f"Unknown question type {qtype!r}: use {', '.join(QUESTION_TYPES)} (or none to "
                "have it predicted)."
            )
        answers, yesno = [], None
        s = self.settings
        if qtype in ("factoid", "list"):
            started = time.perf_counter()
            if qtype == "factoid":
                prior = s["rank_prior"] if ranked else 0.0
                answers = self.reader.read(
                    question, texts, top_k=s["factoid_answers"], rank_prior=prior
                )
            else:
                candidates = self.reader.read(question, texts, top_k=max(20, s["list_max_items"]))
                answers = select_list(
                    candidates, s["list_delta"], s["list_max_items"], s["list_split"]
                )
            timings["read_ms"] = _ms(started)
        elif qtype == "yesno":
            started = time.perf_counter()
            yesno = self.yesno_classifier.predict(question, texts)
            timings["yesno_ms"] = _ms(started)
        summary = ""
        if qtype == "summary" or ideal:
            from qa.read.summary import ideal_answer

            started = time.perf_counter()
            prefix = {"yes": "Yes.", "no": "No."}.get(yesno.label, "") if yesno else ""
            summary = ideal_answer(
                question,
                texts[: s["summary_passages"]],
                self.encoder,
                answers=[a.text for a in answers],
                max_sentences=s["summary_sentences"],
                prefix=prefix,
            )
            timings["summary_ms"] = _ms(started)
        annotations = {}
        if annotate or (annotate is None and self.annotate_settings["ner_model"]):
            started = time.perf_counter()
            answers, annotations = self.annotate_answers(answers, texts)
            timings["annotate_ms"] = _ms(started)
        return QAResult(
            question=question,
            qtype=qtype,
            answers=answers,
            hits=hits,
            timings=timings,
            yesno=yesno,
            ideal_answer=summary,
            qtype_source=source,
            qtype_probability=probability,
            annotations=annotations,
        )

    def annotate_answers(
        self, answers: Sequence[Answer], passages: Sequence[Passage]
    ) -> tuple[list[Answer], dict[str, Annotations]]:
        """Annotations of the passages behind the top answers (or the top passages when there
        are no answers), and the answers with the entities inside their span marked."""
        import dataclasses

        top = self.annotate_settings["passages"]
        chosen = list({a.passage.id: a.passage for a in answers}.values())[:top]
        if not chosen:
            chosen = list(passages[:top])
        annotations = self.annotator.annotate_passages(chosen)
        marked = []
        for a in answers:
            found = annotations.get(a.passage.id)
            inside = tuple(
                e for e in (found.entities if found else ()) if e.start < a.end and a.start < e.end
            )
            marked.append(dataclasses.replace(a, entities=inside) if inside else a)
        return marked, annotations

    def _index(self) -> LoadedIndex:
        if self.index is None:
            raise QAError(
                "This QA was loaded without an index: give QA.load an index folder (build one "
                "with qa index build), or read your own passages with QA.answer."
            )
        return self.index
