"""Entities and relations of a passage, cached, for the passages behind the top answers.

``Annotator.annotate(text)`` runs the NER tagger, drops the spans that cannot be entities
(numbers, institutions, lone modifiers: :mod:`qa.annotate.entity_filter`), then runs the
relation classifier over entity pairs of one sentence and keeps the relations worth showing
(above their family's threshold, each pair of names once, at most ``relations_per_passage``:
:func:`~qa.annotate.relations.select_relations`). Annotating is the slowest optional stage, so ``QA`` calls it only on
the passages that carry the top answers, and results are kept per passage id in a small LRU
cache: the same passage asked about twice is tagged once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

from qa.annotate.entity_filter import plausible_entities
from qa.annotate.relations import select_relations
from qa.types import Annotations, Entity, Passage


class Annotator:
    """``annotate(text)`` -> :class:`Annotations`; ``annotate_passages`` caches by passage id."""

    def __init__(
        self,
        ner_model: str,
        relations_model: str = "",
        *,
        device: str = "auto",
        cache_size: int = 2048,
        relation_min_scores: Mapping[str, float] | None = None,
        relations_per_passage: int | None = None,
    ) -> None:
        from qa.annotate.ner import EntityTagger

        self.tagger = EntityTagger(ner_model, device=device)
        self.relations = None
        if relations_model:
            from qa.annotate.relations import RelationClassifier

            self.relations = RelationClassifier(relations_model, device=device)
        self.relation_min_scores = dict(relation_min_scores or {})
        # Families no score reaches (threshold 1.0) are never sent to the model.
        self.families_off = [f for f, t in self.relation_min_scores.items() if t >= 1.0]
        self.relations_per_passage = relations_per_passage
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, int], Annotations] = OrderedDict()

    def with_backend(self, backend: str) -> Annotator:
        """Run both models on ``backend`` (see :class:`~qa.modelhub.component.ModelComponent`)."""
        self.tagger.with_backend(backend)
        if self.relations is not None:
            self.relations.with_backend(backend)
        return self

    def warm_up(self) -> None:
        """Load the tagger's and the relation classifier's weights (once); annotating calls it."""
        self.tagger.warm_up()
        if self.relations is not None:
            self.relations.warm_up()

    def clear(self) -> None:
        """Forget every cached passage (e.g. to time annotation from cold)."""
        self._cache.clear()

    def annotate(self, text: str) -> Annotations:
        return self.annotate_texts([text])[0]

    def entities(self, texts: Sequence[str]) -> list[list[Entity]]:
        """The entities of each text, tagged in one batch, without those that cannot be
        entities; no relations (the answer-type prior needs only these)."""
        if not texts:
            return []
        self.tagger.warm_up()
        return [plausible_entities(tagged) for tagged in self.tagger.tag(list(texts))]

    def annotate_texts(self, texts: Sequence[str]) -> list[Annotations]:
        """All texts tagged in one batch; relations sentence by sentence within each text."""
        if not texts:
            return []
        self.warm_up()
        out = []
        for text, entities in zip(texts, self.entities(texts)):
            relations = (
                self.relations.predict(text, entities, self.families_off) if self.relations else []
            )
            relations = select_relations(
                relations, self.relation_min_scores, self.relations_per_passage
            )
            out.append(Annotations(tuple(entities), tuple(relations)))
        return out

    def annotate_passages(self, passages: Sequence[Passage]) -> dict[str, Annotations]:
        """Annotations by passage id; passages seen before come from the cache."""
        keys = {p.id: (p.id, hash(p.text)) for p in passages}
        todo = [
            p for p in dict((p.id, p) for p in passages).values() if keys[p.id] not in self._cache
        ]
        for passage, found in zip(todo, self.annotate_texts([p.text for p in todo])):
            self._cache[keys[passage.id]] = found
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        result = {}
        for p in passages:
            self._cache.move_to_end(keys[p.id])
            result[p.id] = self._cache[keys[p.id]]
        return result
