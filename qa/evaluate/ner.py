"""Entity-level NER scores: strict precision, recall and F1 per type and micro-averaged.

A predicted mention counts only when its span and its type both match a gold mention exactly,
as in conlleval and seqeval (written here over spans so that it scores character spans from a
text tagger and token spans alike). A corpus annotates only some types: mentions of types it
does not annotate are left out of both sides, since nobody can say whether a GENE predicted in
NCBI-disease is right.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path

from tqdm.auto import tqdm

from qa.corpus.ner import (
    NerSource,
    char_spans,
    order_types,
    read_source,
    resolve_sources,
    source_types,
)

Span = tuple[int, int, str]  # start, end, type


def _prf(correct: int, predicted: int, gold: int) -> dict[str, float | int]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "gold": gold,
        "predicted": predicted,
        "correct": correct,
    }


def entity_scores(
    gold: Sequence[Iterable[tuple[int, int, str]]],
    predicted: Sequence[Iterable[tuple[int, int, str]]],
    types: Iterable[str] | None = None,
) -> dict:
    """P/R/F1 per type and micro over all types, from the mentions of each sentence.

    ``gold[i]`` and ``predicted[i]`` are the ``(start, end, type)`` mentions of sentence ``i``.
    With ``types``, only those types are scored (and reported even when absent); without, every
    type seen on either side. A duplicated mention counts once."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones.")
    keep = set(types) if types is not None else None
    counts: dict[str, list[int]] = {}  # type -> [correct, predicted, gold]
    for gold_spans, pred_spans in zip(gold, predicted):
        g = {s for s in gold_spans if keep is None or s[2] in keep}
        p = {s for s in pred_spans if keep is None or s[2] in keep}
        for index, spans in ((1, p), (2, g)):
            for span in spans:
                counts.setdefault(span[2], [0, 0, 0])[index] += 1
        for span in g & p:
            counts[span[2]][0] += 1
    for kind in keep or ():
        counts.setdefault(kind, [0, 0, 0])
    per_type = {kind: _prf(*counts[kind]) for kind in order_types(counts)}
    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {"types": per_type, "micro": _prf(*total)}


def macro_f1(scores: dict[Hashable, dict]) -> float:
    """Mean F1 over every (source, type) pair, so a small corpus weighs as much as a big one."""
    values = [t["f1"] for s in scores.values() for t in s["types"].values()]
    return round(sum(values) / len(values), 4) if values else 0.0


def evaluate_sources(
    tagger,
    sources: Sequence[NerSource],
    *,
    max_sentences: int | None = None,
    progress: bool = True,
) -> dict:
    """Score ``tagger`` (an :class:`~qa.annotate.ner.EntityTagger`) on each source.

    Each sentence is tagged as its tokens joined by spaces, the same text path users take, and
    compared on character spans. Only the types a source annotates, and that the model knows,
    are scored; ``overall`` pools the mention counts of every source per type.
    ``max_sentences`` keeps the first N sentences of each source (a quick look, not a score to
    report)."""
    results: dict[str, dict] = {}
    pooled_gold: list[list[Span]] = []
    pooled_pred: list[list[Span]] = []
    tagger.warm_up()  # the weights load before the clock starts
    started = time.time()
    for source in sources:
        sentences = read_source(source)[:max_sentences]
        types = [t for t in source_types(source, sentences) if t in tagger.types]
        texts, gold = [], []
        for sentence in sentences:
            text, spans = char_spans(sentence)
            texts.append(text)
            gold.append([s for s in spans if s[2] in types])
        predicted = []
        chunk = 256
        for lo in tqdm(
            range(0, len(texts), chunk),
            desc=f"Tagging {source.name}",
            unit="batch",
            disable=not progress,
            leave=False,
        ):
            for entities in tagger.tag(texts[lo : lo + chunk]):
                predicted.append([(e.start, e.end, e.label) for e in entities if e.label in types])
        scores = entity_scores(gold, predicted, types)
        scores["sentences"] = len(sentences)
        scores["file"] = str(source.path)
        results[source.name or Path(source.path).name] = scores
        pooled_gold.extend(gold)
        pooled_pred.extend(predicted)
    return {
        "model": tagger.spec,
        "sources": results,
        "overall": entity_scores(pooled_gold, pooled_pred),
        "macro_f1": macro_f1(results),
        "seconds": round(time.time() - started, 1),
    }


def evaluate_tagger(
    tagger,
    data: Sequence[str | Path],
    *,
    data_dir: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Score a tagger on test files or corpus names (``bc2gm`` means its test split)."""
    return evaluate_sources(
        tagger, resolve_sources(data, split="test", data_dir=data_dir), progress=progress
    )
