"""Retrieval measures over ranked passage ids and gold passage sets.

* ``hit@10``: share of questions with at least one gold passage in the top 10;
* ``mrr@10``: mean reciprocal rank of the first gold passage within the top 10;
* ``recall@100``: mean share of a question's gold passages found in the top 100;
* ``map@10`` over documents, BioASQ style: passages are mapped to their PMIDs (first
  occurrence kept), the top 10 documents are scored with average precision whose divisor is
  ``min(|gold documents|, 10)``, the rule of the BioASQ phase-A evaluation since 2021.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qa.corpus.bioasq import snippet_passage_id
from qa.types import RETRIEVAL_MODES


def reciprocal_rank(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    for rank, pid in enumerate(ranked[:k], start=1):
        if pid in gold:
            return 1.0 / rank
    return 0.0


def recall_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    if not gold:
        return 0.0
    return len(gold.intersection(ranked[:k])) / len(gold)


def average_precision(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    """Average precision of the top ``k``, divided by ``min(|gold|, k)``."""
    if not gold:
        return 0.0
    hits, total = 0, 0.0
    for rank, item in enumerate(ranked[:k], start=1):
        if item in gold:
            hits += 1
            total += hits / rank
    return total / min(len(gold), k)


def unique_in_order(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if x and not (x in seen or seen.add(x))]


def retrieval_metrics(
    ranked: Mapping[str, Sequence[str]],
    gold: Mapping[str, set[str]],
    *,
    ranked_docs: Mapping[str, Sequence[str]] | None = None,
    gold_docs: Mapping[str, set[str]] | None = None,
) -> dict[str, float]:
    """Mean measures over the questions of ``gold`` (a question never answered counts as 0)."""
    qids = [q for q in gold if gold[q]]
    n = len(qids)
    if n == 0:
        raise ValueError("No question has a gold passage: nothing to evaluate.")
    result = {
        "hit@10": sum(bool(gold[q].intersection(ranked.get(q, [])[:10])) for q in qids) / n,
        "mrr@10": sum(reciprocal_rank(ranked.get(q, []), gold[q]) for q in qids) / n,
        "recall@100": sum(recall_at(ranked.get(q, []), gold[q], 100) for q in qids) / n,
        "questions": n,
    }
    if ranked_docs is not None and gold_docs is not None:
        doc_q = [q for q in qids if gold_docs.get(q)]
        result["map@10"] = (
            sum(
                average_precision(unique_in_order(ranked_docs.get(q, [])), gold_docs[q])
                for q in doc_q
            )
            / len(doc_q)
            if doc_q
            else 0.0
        )
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}


def gold_passages(questions, passage_ids: Sequence[str]) -> dict[str, set[str]]:
    """Gold passage ids of each question: its own snippets, as they were split in the index.

    A snippet passage ``bioasq:KEY`` may have been split into ``bioasq:KEY#0``, ``#1``…; all
    windows are gold. A snippet absent from the index stays in the gold set under its own id,
    so it counts as missed instead of silently vanishing from the denominator.
    """
    windows: dict[str, list[str]] = {}
    for pid in passage_ids:
        windows.setdefault(pid.split("#", 1)[0], []).append(pid)
    gold: dict[str, set[str]] = {}
    for q in questions:
        ids: set[str] = set()
        for s in q.snippets:
            if s.text.strip():
                base = snippet_passage_id(s.text)
                ids.update(windows.get(base, [base]))
        if ids:
            gold[q.id] = ids
    return gold


def evaluate_retrieval(
    index,
    questions,
    modes: Sequence[str] = RETRIEVAL_MODES,
    *,
    batch_size: int = 64,
    show_progress: bool = True,
) -> dict[str, dict[str, float]]:
    """Run every question through each retriever of a loaded index and score the rankings."""
    from tqdm.auto import tqdm

    gold = gold_passages(questions, list(index.passages.iter_ids()))
    asked = [q for q in questions if q.id in gold]
    gold_docs = {q.id: {d for d in q.documents if d} for q in asked}
    results: dict[str, dict[str, float]] = {}
    for mode in modes:
        retriever = index.retriever(mode)
        ranked: dict[str, list[str]] = {}
        docs: dict[str, list[str]] = {}
        bar = tqdm(total=len(asked), desc=f"Retrieval {mode}", unit="q", disable=not show_progress)
        for start in range(0, len(asked), batch_size):
            chunk = asked[start : start + batch_size]
            for q, hits in zip(chunk, retriever.batch_search([q.body for q in chunk], 100)):
                ranked[q.id] = [h.passage.id for h in hits]
                docs[q.id] = [h.passage.pmid for h in hits]
            bar.update(len(chunk))
        bar.close()
        results[mode] = retrieval_metrics(ranked, gold, ranked_docs=docs, gold_docs=gold_docs)
    return results
