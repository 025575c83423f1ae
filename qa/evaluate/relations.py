"""Relation-extraction measures: P/R/F1 per relation type and micro-F1 without ``none``.

The convention of the ChemProt and DDI-2013 shared tasks: ``none`` is not a relation type.
A pair whose gold label is X and whose prediction is Y counts as a false positive of Y and a
false negative of X (either side being ``none`` drops that half); micro-F1 pools the counts of
all relation types. Computed here, so the figures do not depend on another library's
averaging rules.

BC5CDR CID is scored twice: over sentence-level mention pairs (what the classifier sees; CID
relations whose chemical and disease never share a sentence are not in it), and per document,
where a predicted (chemical id, disease id) pair of a document is right when the document
relates them, and every cross-sentence relation counts as a miss, as in the official task.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from qa.corpus.relations import corpus_format, read_relations
from qa.corpus.relations.examples import NONE, RelationExample
from qa.corpus.relations.pubtator import examples_from_cid, read_pubtator


def precision_recall_f1(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "support": tp + fn,
    }


def relation_scores(gold: Sequence[str], predicted: Sequence[str]) -> dict:
    """P/R/F1 per relation type and pooled (micro), ``none`` excluded, over aligned labels."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for g, p in zip(gold, predicted):
        if g == p:
            if g != NONE:
                tp[g] += 1
            continue
        if p != NONE:
            fp[p] += 1
        if g != NONE:
            fn[g] += 1
    types = sorted((set(gold) | set(predicted)) - {NONE})
    return {
        "pairs": len(gold),
        "micro": precision_recall_f1(sum(tp.values()), sum(fp.values()), sum(fn.values())),
        "per_type": {t: precision_recall_f1(tp[t], fp[t], fn[t]) for t in types},
    }


def cid_document_scores(
    examples: Sequence[RelationExample], predicted: Sequence[str], gold: set[tuple[str, str, str]]
) -> dict:
    """Document-level CID: predicted (document, chemical id, disease id) against the gold set."""
    found = {
        (e.meta["document"], c, d)
        for e, label in zip(examples, predicted)
        if label != NONE
        for c in e.meta.get("head_ids", ())
        for d in e.meta.get("tail_ids", ())
    }
    return precision_recall_f1(len(found & gold), len(found - gold), len(gold - found))


def evaluate_relations(
    classifier, paths: Sequence[str | Path], *, chemprot_negatives: bool = True
) -> dict:
    """Score a :class:`~qa.annotate.relations.RelationClassifier` on gold pairs of test files.

    Each file (or DDI folder) is read with its corpus reader; scores are given per corpus and
    over all pairs together.
    """
    examples: list[RelationExample] = []
    cid_gold: set[tuple[str, str, str]] = set()
    for path in paths:
        if corpus_format(path) == "pubtator":
            documents = read_pubtator(path)
            examples.extend(examples_from_cid(documents))
            cid_gold |= {(doc.pmid, c, d) for doc in documents for c, d in doc.relations}
        else:
            examples.extend(read_relations([path], chemprot_negatives=chemprot_negatives))
    predicted = [label for label, _ in classifier.predict_examples(examples)]
    corpora: dict[str, dict] = {}
    for corpus in sorted({e.corpus for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.corpus == corpus]
        scores = relation_scores([examples[i].label for i in idx], [predicted[i] for i in idx])
        if corpus == "bc5cdr-cid":
            scores["document_level"] = cid_document_scores(
                [examples[i] for i in idx], [predicted[i] for i in idx], cid_gold
            )
        corpora[corpus] = scores
    return {
        "model": getattr(classifier, "spec", ""),
        "files": [str(p) for p in paths],
        "corpora": corpora,
        "all": relation_scores([e.label for e in examples], predicted),
    }
