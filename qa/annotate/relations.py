"""Relations between the entities of a passage, one sentence at a time.

A pair of entities is a candidate when their types fit a family (chemical–disease,
chemical–gene, chemical–chemical, gene–disease) and they lie in one sentence: a relation
between entities of different sentences is never proposed, so neither is one between entities
of different windows of a long passage. Each candidate becomes one input to a sequence
classifier: the family in words (``chemical disease``), then the sentence with the pair's first
mention in the text wrapped as ``<< … >>`` and the second as ``[[ … ]]``. Those markers are
SciBERT's ChemProt convention and are made of tokens every BERT vocabulary has, so training
can keep the word embeddings frozen. Marking by position rather than by type is deliberate:
ChemProt's copy does not say which of its two mentions is the chemical, and marking the same
way everywhere keeps training and prediction consistent.

All candidates of a passage go through the model together (batches of up to 64 pairs, not
one pair at a time). Each pair picks the best label
of *its own family* or ``none``, so a drug–drug pair cannot come out as a gene–disease
association; ``none`` is dropped from the result.

What a reader is shown is then chosen by :func:`select_relations`: a relation scoring below its
family's threshold (the profile's, tuned for precision on the dev sets) is dropped, the same
pair of names is listed once (either order, its best label), and only the best few are kept.
Every relation carries its label in words (``inhibits``, not ``CPR:4``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

import torch
from tqdm.auto import tqdm

from qa.batching import pad_batch
from qa.corpus.relations.examples import (
    NONE,
    RelationExample,
    label_family,
    pair_family,
    relation_phrase,
    sentence_groups,
)
from qa.errors import ModelLoadError
from qa.modelhub.component import ModelComponent
from qa.modelhub.load import TRAINED_LENGTH, model_config
from qa.types import Entity, Relation

FAMILY_WORDS = {
    "chemical-disease": "chemical disease",
    "chemical-gene": "chemical gene",
    "chemical-chemical": "chemical chemical",
    "gene-disease": "gene disease",
}
FIRST_MARKERS = ("<< ", " >>")
SECOND_MARKERS = ("[[ ", " ]]")
CHARS_PER_TOKEN = 3  # a cautious estimate for biomedical word pieces, used to crop long sentences


@dataclass(frozen=True)
class PairInput:
    """One candidate as the model sees it: a family, a sentence and two mentions in it."""

    family: str
    text: str
    first: Entity  # offsets into ``text``; ``first`` starts before ``second``
    second: Entity


def _crop(text: str, lo: int, hi: int, budget: int) -> tuple[int, int]:
    """A window of about ``budget`` characters around ``text[lo:hi]``, cut at spaces."""
    if len(text) <= budget:
        return 0, len(text)
    room = max(0, budget - (hi - lo)) // 2
    start, end = max(0, lo - room), min(len(text), hi + room)
    if start > 0:
        space = text.find(" ", start, lo)
        start = space + 1 if space >= 0 else start
    if end < len(text):
        space = text.rfind(" ", hi, end)
        end = space if space >= 0 else end
    return start, end


def mark_pair(pair: PairInput, max_chars: int | None = None) -> str:
    """The sentence with both mentions marked, cropped around them when it is too long.

    When even the stretch from one mention to the other exceeds ``max_chars`` (a long list of
    drugs), the middle of it is left out as `` ... ``, keeping some context on both sides of
    each mention.
    """
    text, first, second = pair.text, pair.first, pair.second
    budget = len(text) if max_chars is None else max_chars
    one = FIRST_MARKERS[0] + text[first.start : first.end] + FIRST_MARKERS[1]
    two = SECOND_MARKERS[0] + text[second.start : second.end] + SECOND_MARKERS[1]
    if second.end - first.start <= budget:
        start, end = _crop(text, first.start, second.end, budget)
        middle = text[first.end : second.start]
    else:
        room = max(0, budget - (first.end - first.start) - (second.end - second.start)) // 4
        start, end = max(0, first.start - room), min(len(text), second.end + room)
        middle = (
            text[first.end : first.end + room] + " ... " + text[second.start - room : second.start]
        )
    return text[start : first.start] + one + middle + two + text[second.end : end]


def example_input(example: RelationExample) -> PairInput:
    first, second = sorted((example.head, example.tail), key=lambda e: (e.start, e.end))
    return PairInput(example.family, example.text, first, second)


def encode_pairs(tokenizer, pairs: Sequence[PairInput], max_length: int) -> list[dict]:
    """Token ids of each pair (family words, then the marked sentence), unpadded.

    A sentence too long for ``max_length`` is cropped around its pair (never simply cut at the
    end, which could drop the second marker): first by a character estimate, then, for the
    inputs still too long (lists of drug names run at under 3 characters a token), again in
    proportion to their measured length.
    """
    if not pairs:
        return []
    prompts = [FAMILY_WORDS.get(p.family, p.family.replace("-", " ")) for p in pairs]
    budgets = [max_length * CHARS_PER_TOKEN] * len(pairs)
    marked = [mark_pair(p, b) for p, b in zip(pairs, budgets)]
    todo = list(range(len(pairs)))
    for _ in range(4):
        lengths = tokenizer([prompts[i] for i in todo], [marked[i] for i in todo])["input_ids"]
        over = [(i, len(ids)) for i, ids in zip(todo, lengths) if len(ids) > max_length]
        for i, length in over:
            budgets[i] = int(min(budgets[i], len(marked[i])) * max_length / length * 0.9)
            marked[i] = mark_pair(pairs[i], budgets[i])
        todo = [i for i, _ in over]
        if not todo:
            break
    enc = tokenizer(prompts, marked, truncation="only_second", max_length=max_length)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in enc]
    return [{k: enc[k][i] for k in keys} for i in range(len(pairs))]


def family_masks(id2label: dict[int, str], families: Sequence[str]) -> torch.Tensor:
    """Which labels each pair may take: its family's and ``none`` (all, for foreign labels)."""
    labels = [id2label[i] for i in range(len(id2label))]
    known = {label_family(label) for label in labels} - {""}
    rows = []
    for family in families:
        if family not in known:
            rows.append([True] * len(labels))
        else:
            rows.append([lab == NONE or label_family(lab) == family for lab in labels])
    return torch.tensor(rows, dtype=torch.bool)


def predict_pairs(
    model,
    tokenizer,
    pairs: Sequence[PairInput],
    *,
    device: str,
    batch_size: int = 64,
    max_length: int = 128,
    progress: bool = False,
) -> list[tuple[str, float]]:
    """The label and probability of every pair, batched by length, in input order;
    ``progress``: a bar over the batches (evaluations classify thousands of pairs)."""
    if not pairs:
        return []
    features = encode_pairs(tokenizer, pairs, max_length)
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    masks = family_masks(id2label, [p.family for p in pairs])
    order = sorted(range(len(pairs)), key=lambda i: len(features[i]["input_ids"]))
    results: list[tuple[str, float]] = [(NONE, 0.0)] * len(pairs)
    model.eval()
    with torch.inference_mode():
        starts = range(0, len(order), batch_size)
        for lo in tqdm(starts, desc="Relation pairs", unit="batch", disable=not progress):
            idx = order[lo : lo + batch_size]
            batch = pad_batch([features[i] for i in idx], tokenizer.pad_token_id or 0)
            logits = model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu()
            probs = logits.masked_fill(~masks[idx], float("-inf")).softmax(-1)
            scores, best = probs.max(-1)
            for i, label_id, score in zip(idx, best.tolist(), scores.tolist()):
                results[i] = (id2label[label_id], float(score))
    return results


def _name(entity: Entity) -> str:
    return " ".join(entity.text.casefold().split())


def select_relations(
    relations: Sequence[Relation],
    min_scores: Mapping[str, float],
    limit: int | None = None,
) -> list[Relation]:
    """The relations worth showing, best first.

    A relation is kept when it scores at least its family's threshold in ``min_scores`` (the
    ``""`` key is the threshold of any other family; a threshold of 1.0 or more switches a
    family off, as for one that reaches the target precision at no score); of the relations between the same two
    names (case and spacing aside, in either order: "aspirin"/"COX-2" twice in a passage) only
    the best-scoring one stays; then at most ``limit`` remain.
    """
    default = min_scores.get("", 0.0)
    best: dict[frozenset[str], Relation] = {}
    for r in sorted(relations, key=lambda r: -r.score):
        threshold = min_scores.get(label_family(r.label), default)
        if r.score < threshold or threshold >= 1.0:
            continue
        best.setdefault(frozenset((_name(r.head), _name(r.tail))), r)
    return list(best.values())[:limit]


class RelationClassifier(ModelComponent):
    """Label the relations among the entities of a text (see the module docstring)."""

    task, kind = "sequence-classification", "relations"

    def __init__(
        self,
        spec: str,
        *,
        device: str = "auto",
        max_length: int | None = None,
        batch_size: int = 64,
    ) -> None:
        self._settle(spec, device)
        config = model_config(self.location)
        id2label = {int(k): v for k, v in config.id2label.items()}
        if NONE not in set(id2label.values()):
            raise ModelLoadError(
                f"{spec} classifies into {sorted(set(id2label.values()))}, which has no {NONE!r} "
                "label, so it was not trained for this relation vocabulary: train one with "
                "`qa train relations`."
            )
        self.labels = tuple(id2label[i] for i in sorted(id2label))
        # pairs are cropped as in training (qa.train.relations records the length)
        self.max_length = max_length or getattr(config, TRAINED_LENGTH, None) or 128
        self.batch_size = batch_size

    def predict(
        self, text: str, entities: Sequence[Entity], skip: Collection[str] = ()
    ) -> list[Relation]:
        """Relations among ``entities`` (offsets into ``text``), within sentences only; pairs
        of the families in ``skip`` (switched off by the profile) are not classified at all."""
        pairs: list[PairInput] = []
        heads: list[tuple[Entity, Entity]] = []
        for start, end, members in sentence_groups(text, list(dict.fromkeys(entities))):
            sentence = text[start:end]
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    if a.start < b.end and b.start < a.end:
                        continue  # nested or overlapping mentions cannot both be marked
                    found = pair_family(a, b)
                    if found is None or found[0] in skip:
                        continue
                    family, head, tail = found
                    if family == "chemical-chemical" and a.text.lower() == b.text.lower():
                        continue  # a drug does not interact with itself
                    first, second = sorted((a, b), key=lambda e: e.start)
                    pairs.append(
                        PairInput(
                            family,
                            sentence,
                            replace(first, start=first.start - start, end=first.end - start),
                            replace(second, start=second.start - start, end=second.end - start),
                        )
                    )
                    heads.append((head, tail))
        predictions = predict_pairs(
            self.model,
            self.tokenizer,
            pairs,
            device=self.device,
            batch_size=self.batch_size,
            max_length=self.max_length,
        )
        return [
            Relation(head, tail, label, score, relation_phrase(label))
            for (head, tail), (label, score) in zip(heads, predictions)
            if label != NONE
        ]

    def predict_examples(self, examples: Sequence[RelationExample]) -> list[tuple[str, float]]:
        """The label and score of each given pair, as evaluation on gold pairs needs."""
        return predict_pairs(
            self.model,
            self.tokenizer,
            [example_input(e) for e in examples],
            device=self.device,
            batch_size=self.batch_size,
            max_length=self.max_length,
            progress=True,
        )
