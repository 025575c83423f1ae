"""The models a profile names, each built on first use from its typed section and then shared.

One place builds the encoder, the reader, the yes/no, question-type and answer-type
classifiers and the annotator, so ``QA``, the CLI and the UI never construct a model
themselves. Settings come in with the profile (``__init__``); weights load on first use or all
at once with ``warm_up()``, so a server that only searches never loads the reader.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from qa.config import Profile
from qa.errors import QAError
from qa.types import QUESTION_TYPES

if TYPE_CHECKING:  # the models import torch; `import qa` stays light
    from qa.annotate.annotator import Annotator
    from qa.read.qtype import QuestionTypeClassifier
    from qa.read.reader import Reader
    from qa.read.yesno import YesNoClassifier
    from qa.retrieve.encoder import SentenceEncoder


class Components:
    """The profile's models, built lazily; ``encoder`` is the index's when one is given."""

    def __init__(
        self, profile: Profile, device: str = "auto", encoder: SentenceEncoder | None = None
    ) -> None:
        self.profile = profile
        self.device = device
        self._index_encoder = encoder

    def _named(self, section: str, key: str, hint: str) -> str:
        """The model spec at ``[section] key``, or an error saying how to get one."""
        spec = getattr(getattr(self.profile, section), key)
        if not spec:
            raise QAError(f"Profile {self.profile.name} names no [{section}] {key}{hint}")
        return spec

    @cached_property
    def reader(self) -> Reader:
        """The extractive reader: factoid and list answers."""
        from qa.read.reader import Reader

        cfg = self.profile.reader
        return Reader(
            self._named("reader", "model", "."),
            device=self.device,
            max_seq_length=cfg.max_seq_length,
            doc_stride=cfg.doc_stride,
            max_answer_length=cfg.max_answer_length,
            temperature=cfg.answer_temperature,
        ).with_backend(self.profile.runtime.backend)

    @cached_property
    def yesno(self) -> YesNoClassifier:
        from qa.read.yesno import YesNoClassifier

        cfg = self.profile.reader
        return YesNoClassifier(
            self._named("reader", "yesno_model", _TRAIN_HINT.format(what="yesno")),
            device=self.device,
            max_passages=cfg.yesno_passages,
            threshold=cfg.yesno_threshold,
            pooling=cfg.yesno_pooling,
            joined=cfg.yesno_joined,
        ).with_backend(self.profile.runtime.backend)

    @cached_property
    def qtype(self) -> QuestionTypeClassifier:
        from qa.read.qtype import QuestionTypeClassifier

        hint = (
            f": pass the question type ({', '.join(QUESTION_TYPES)}) or train one with "
            "qa train qtype."
        )
        return QuestionTypeClassifier(self._named("reader", "qtype_model", hint))

    @cached_property
    def answer_type(self) -> QuestionTypeClassifier:
        """The answer type a question expects, for the reader's answer-type prior."""
        from qa.read.qtype import QuestionTypeClassifier

        hint = _TRAIN_HINT.format(what="answer-type")
        spec = self._named("reader", "answer_type_model", hint)
        return QuestionTypeClassifier(spec, hint="train one with qa train answer-type")

    @cached_property
    def annotator(self) -> Annotator:
        from qa.annotate.annotator import Annotator

        spec = self._named("annotate", "ner_model", _TRAIN_HINT.format(what="ner"))
        settings = self.profile.annotate
        annotator = Annotator(
            spec,
            settings.relations_model,
            device=self.device,
            relation_min_scores=settings.relation_min_scores(),
            relations_per_passage=settings.relations_per_passage,
        )
        return annotator.with_backend(self.profile.runtime.backend)

    @cached_property
    def encoder(self) -> SentenceEncoder:
        """The query encoder of the index, or the profile's when there is no index."""
        if self._index_encoder is not None:
            return self._index_encoder
        from qa.retrieve.encoder import SentenceEncoder

        cfg = self.profile.embedder
        encoder = SentenceEncoder(
            cfg.model, device=self.device, max_seq_length=cfg.max_seq_length, pooling=cfg.pooling
        )
        return encoder.with_backend(self.profile.runtime.backend)

    def warm_up(self) -> None:
        """Load every model the profile names now, instead of on the first question."""
        reader, annotate = self.profile.reader, self.profile.annotate
        for spec, component in (
            (reader.yesno_model, "yesno"),
            (reader.qtype_model, "qtype"),
            (reader.answer_type_model, "answer_type"),
            (annotate.ner_model, "annotator"),
            (reader.model, "reader"),
            (self.profile.embedder.model, "encoder"),
        ):
            if spec:
                getattr(self, component).warm_up()


_TRAIN_HINT = ": train one with qa train {what} and name it in the profile."
