"""Run the pipeline over BioASQ questions, write a submission, score it, write a report.

Two modes, as in the challenge: phase B reads the gold snippets of each question
(``snippets="gold"``); the retrieval mode answers from the index's passages, so retrieval and
reading are scored together, and the documents and snippets of the submission are scored as
phase A (each retrieved passage a snippet, whole or cut to its best sentences by ``[reader]
snippet_sentences``). The submission is written in the official format first and scored from
that file's content by the same code as ``qa eval score``, so the figures are those of the
submission.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from qa.atomic import write_text
from qa.corpus.bioasq import GoldQuestion, load_golden, snippet_passages
from qa.errors import QAError, check_choice
from qa.evaluate.bioasq import CURRENT_VERSION, evaluate_phase_a, evaluate_phase_b
from qa.evaluate.retrieval import gold_passages, retrieval_metrics
from qa.read.snippets import snippet_spans
from qa.types import EXACT_TYPES, QUESTION_TYPES, SPAN_TYPES, Hit, Passage, QAResult

PUBMED_URL = "http://www.ncbi.nlm.nih.gov/pubmed/"
RETRIEVAL_DEPTH = 100  # passages ranked per question for recall@100
SUBMITTED_DOCUMENTS = 10  # BioASQ accepts at most 10 documents and 10 snippets
SUBMITTED_SNIPPETS = 10


def submission_snippet(passage: Passage, span: tuple[int, int] | None = None) -> dict[str, Any]:
    """A passage, or the ``span`` of its text, as a BioASQ snippet: document URL, section and
    offsets inside that section (the end exclusive, as the golden files write it)."""
    start, end = span if span is not None else (0, len(passage.text))
    base = int(passage.meta.get("begin") or 0) + int(passage.meta.get("char_offset") or 0)
    section = str(passage.meta.get("section") or "abstract")
    if section.startswith("sections."):
        section = "abstract"
    return {
        "document": PUBMED_URL + passage.pmid,
        "text": passage.text[start:end],
        "offsetInBeginSection": base + start,
        "offsetInEndSection": base + end,
        "beginSection": section,
        "endSection": section,
    }


def snippet_passages_of(result: QAResult) -> list[Passage]:
    """The passages a submission's snippets come from: the first ten hits with a PMID."""
    return [h.passage for h in result.hits if h.passage.pmid][:SUBMITTED_SNIPPETS]


def evidence_spans(qa, question: str, result: QAResult) -> list[tuple[int, int]]:
    """Where each snippet passage's best sentences lie (``[reader] snippet_sentences``)."""
    return snippet_spans(
        question,
        snippet_passages_of(result),
        qa.components.encoder,
        qa.profile.reader.snippet_sentences,
    )


def submission_entry(
    question: GoldQuestion, result: QAResult, spans: Sequence[tuple[int, int]] | None = None
) -> dict[str, Any]:
    """One question of a submission, with the keys and nesting of the golden files; ``spans``
    (from :func:`evidence_spans`) cut the snippet passages to sentences, else they go whole."""
    with_pmid = [h.passage for h in result.hits if h.passage.pmid]
    documents = list(dict.fromkeys(PUBMED_URL + p.pmid for p in with_pmid))
    passages = with_pmid[:SUBMITTED_SNIPPETS]
    cuts = list(spans) if spans is not None else [None] * len(passages)
    entry: dict[str, Any] = {
        "id": question.id,
        "body": question.body,
        "type": question.type,
        "documents": documents[:SUBMITTED_DOCUMENTS],
        "snippets": [submission_snippet(p, cut) for p, cut in zip(passages, cuts, strict=True)],
        "ideal_answer": result.ideal_answer,
    }
    exact = conform(result.exact_answer(), question.type)
    if exact is not None:
        entry["exact_answer"] = exact
    return entry


def conform(exact, qtype: str):
    """An answer of a predicted type that is not the question's, in the form its type needs.

    A yes/no verdict given to a factoid question is an empty list, a list given to a yes/no
    question an empty string (neither "yes" nor "no"): scored as wrong, not as malformed.
    """
    if qtype in SPAN_TYPES and not isinstance(exact, list):
        return []
    if qtype == "yesno" and not isinstance(exact, str):
        return ""
    if qtype == "summary":
        return None
    return exact


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation), 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)], 2)


def headline(phase_b: dict) -> dict[str, dict[str, float]]:
    return {
        "factoid": {
            k: round(phase_b["factoid"][k], 4)
            for k in ("strict_accuracy", "lenient_accuracy", "mrr")
        },
        "list": {
            k: round(phase_b["list"][k], 4) for k in ("mean_precision", "mean_recall", "mean_f1")
        },
        "yesno": {k: round(phase_b["yesno"][k], 4) for k in ("accuracy", "macro_f1")},
        "ideal": {
            group: {k: round(v, 4) for k, v in scores.items()}
            for group, scores in phase_b["ideal"].items()
        },
    }


def question_score(gold_raw: dict, entry: dict) -> float | None:
    """The official measure of one question: factoid RR, list F1, yes/no right (1/0)."""
    kind = gold_raw.get("type")
    if kind == "summary":
        return None
    scores = evaluate_phase_b([gold_raw], [entry], CURRENT_VERSION)
    return {
        "factoid": scores["factoid"]["mrr"],
        "list": scores["list"]["mean_f1"],
        "yesno": scores["yesno"]["accuracy"],
    }.get(kind)


def _answer_question(
    qa, q: GoldQuestion, qtype: str, snippets: str | None, k: int, mode: str
) -> tuple[QAResult, list[Hit]]:
    """One question answered from its gold snippets, or from ``k`` of 100 retrieved passages."""
    if snippets == "gold":
        passages = list(snippet_passages(q.snippets))
        return qa.answer(q.body, passages, qtype=qtype, ideal=True, annotate=False), []
    deep = qa.search(q.body, k=max(k, RETRIEVAL_DEPTH), mode=mode)
    result = qa.answer(q.body, deep[:k], qtype=qtype, ideal=True, annotate=False, ranked=True)
    return result, deep


def _record(
    q: GoldQuestion, result: QAResult, latency_ms: float, spans: list[tuple[int, int]] | None
) -> dict[str, Any]:
    entry = submission_entry(q, result, spans)
    return {
        "question": q,
        "result": result,
        "entry": entry,
        "latency_ms": latency_ms,
        "score": question_score(q.raw, entry),
    }


def _retrieval_figures(
    qa, questions: Sequence[GoldQuestion], deep: dict[str, list[Hit]], entries: list[dict]
) -> dict[str, float]:
    """Retrieval measures of the 100 passages ranked per question, and phase A of the entries."""
    ranked = {qid: [h.passage.id for h in hits] for qid, hits in deep.items()}
    ranked_docs = {qid: [h.passage.pmid for h in hits] for qid, hits in deep.items()}
    gold_ids = gold_passages(questions, list(qa.index.passages.iter_ids()))
    gold_docs = {q.id: set(q.documents) for q in questions}
    found = retrieval_metrics(ranked, gold_ids, ranked_docs=ranked_docs, gold_docs=gold_docs)
    phase_a = evaluate_phase_a([q.raw for q in questions], entries, CURRENT_VERSION)
    return {
        "hit@10": found["hit@10"],
        "mrr@10": found["mrr@10"],
        "recall@100": found["recall@100"],
        "document_map": round(phase_a["documents"]["map"], 4),
        "snippet_map": round(phase_a["snippets"]["map"], 4),
        "document_f1": round(phase_a["documents"]["f_measure"], 4),
        "snippet_f1": round(phase_a["snippets"]["f_measure"], 4),
        "snippet_precision": round(phase_a["snippets"]["mean_precision"], 4),
        "snippet_recall": round(phase_a["snippets"]["mean_recall"], 4),
    }


def _batch_mean(metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each headline measure averaged over the batches (each golden file weighs the same)."""
    batches = metrics["batches"]
    if not batches:
        return {}
    return {
        kind: {
            key: round(sum(b[kind][key] for b in batches.values()) / len(batches), 4)
            for key in metrics[kind]
        }
        for kind in EXACT_TYPES
    }


def _metrics(
    qa,
    questions: Sequence[GoldQuestion],
    records: list[dict[str, Any]],
    *,
    mode_label: str,
    qtype_right: int,
    predict_types: bool,
) -> dict[str, Any]:
    """The run's report: official measures, latency percentiles, question counts."""
    entries = [r["entry"] for r in records]
    phase_b = evaluate_phase_b([q.raw for q in questions], entries, CURRENT_VERSION)
    latencies = [r["latency_ms"] for r in records]
    classified = questions and qa.profile.reader.qtype_model
    return {
        "mode": mode_label,
        **headline(phase_b),
        "retrieval": None,
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
        "n_questions": {
            "total": len(questions),
            **{t: sum(q.type == t for q in questions) for t in QUESTION_TYPES},
        },
        "question_type_accuracy": round(qtype_right / len(questions), 4) if classified else None,
        "question_types": "predicted" if predict_types else "gold",
    }


def run_bioasq(
    qa,
    gold_paths: Sequence[str | Path],
    *,
    snippets: str | None = "gold",
    k: int = 10,
    mode: str = "hybrid",
    limit: int = 0,
    predict_types: bool = False,
    types: Sequence[str] = (),
    show_progress: bool = True,
) -> dict[str, Any]:
    """Answer every question; return the submission, the metrics and per-question records.

    ``snippets="gold"`` reads each question's gold snippets; ``snippets=None`` retrieves ``k``
    passages from ``qa.index`` (and 100 for the retrieval measures). ``predict_types`` ignores
    the gold question type and uses the classifier, as a user's question would be. ``types``
    keeps only the questions of those gold types (all when empty), before ``limit``.
    """
    if not qa.profile.reader.model:  # QA.ask would return passages only: nothing to score
        raise QAError(
            f"Profile {qa.profile.name} names no [reader] model, so there are no answers to "
            "score: use a profile with a reader (qa eval retrieval scores retrieval alone)."
        )
    for kind in types:
        check_choice("question type", kind, QUESTION_TYPES)
    questions = [q for q in load_golden(gold_paths) if not types or q.type in types]
    if limit:
        questions = questions[:limit]
    if snippets not in ("gold", None):
        raise ValueError(f"snippets must be 'gold' or None, got {snippets!r}.")
    records: list[dict[str, Any]] = []
    deep: dict[str, list[Hit]] = {}
    qtype_right = 0
    for q in tqdm(questions, desc="BioASQ questions", unit="q", disable=not show_progress):
        predicted = qa.question_type(q.body)[0] if qa.profile.reader.qtype_model else None
        qtype_right += predicted == q.type
        started = time.perf_counter()
        result, deep[q.id] = _answer_question(
            qa, q, predicted if predict_types else q.type, snippets, k, mode
        )
        latency_ms = (time.perf_counter() - started) * 1000
        # Retrieved passages are cut to sentences; gold snippets are submitted as they came.
        spans = None if snippets == "gold" else evidence_spans(qa, q.body, result)
        records.append(_record(q, result, latency_ms, spans))
    submission = {"questions": [r["entry"] for r in records]}
    mode_label = "gold snippets" if snippets == "gold" else f"retrieved ({mode}, k={k})"
    metrics = _metrics(
        qa,
        questions,
        records,
        mode_label=mode_label,
        qtype_right=qtype_right,
        predict_types=predict_types,
    )
    if snippets is None:
        metrics["retrieval"] = _retrieval_figures(qa, questions, deep, submission["questions"])
    metrics["batches"] = per_batch(questions, submission["questions"])
    metrics["batch_mean"] = _batch_mean(metrics)
    return {"metrics": metrics, "submission": submission, "records": records}


def per_batch(questions: Sequence[GoldQuestion], entries: Sequence[dict]) -> dict[str, dict]:
    """The headline measures of each golden file (a BioASQ batch) on its own."""
    by_batch: dict[str, list[GoldQuestion]] = defaultdict(list)
    for q in questions:
        by_batch[q.batch or "all"].append(q)
    ids_by_batch = {b: {q.id for q in qs} for b, qs in by_batch.items()}
    out = {}
    for batch, qs in sorted(by_batch.items()):
        sub = [e for e in entries if e["id"] in ids_by_batch[batch]]
        out[batch] = headline(evaluate_phase_b([q.raw for q in qs], sub, CURRENT_VERSION))
        out[batch]["questions"] = len(qs)
    return out


def write_json(data: Any, path: str | Path) -> None:
    """Write JSON that is never seen half written (see :func:`qa.atomic.write_text`)."""
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _ideal_lines(ideal: dict[str, dict]) -> list[str]:
    """The ROUGE table of the report: one row per question set."""
    lines = [
        "",
        "## Ideal answers (ROUGE, best gold answer per question)",
        "",
        "| questions | n | ROUGE-2 R | ROUGE-2 F1 | ROUGE-SU4 R | ROUGE-SU4 F1 |",
        "|---|---|---|---|---|---|",
    ]
    for group, r in ideal.items():
        lines.append(
            f"| {group} | {r['questions']} | {_fmt(r['rouge2_recall'])} | {_fmt(r['rouge2_f1'])} "
            f"| {_fmt(r['rougesu4_recall'])} | {_fmt(r['rougesu4_f1'])} |"
        )
    return lines


def report_markdown(run: dict[str, Any], *, command: str = "", worst: int = 10) -> str:
    """A readable report: measures per type and per batch, latency, the worst-answered questions."""
    m = run["metrics"]
    lines = [
        "# BioASQ evaluation report",
        "",
        f"- Mode: {m['mode']}; question types: {m['question_types']}",
        f"- Questions: {json.dumps(m['n_questions'])}",
        f"- Latency per question: p50 {m['latency_ms']['p50']} ms, p95 {m['latency_ms']['p95']} ms",
    ]
    if command:
        lines.append(f"- Command: `{command}`")
    if m.get("question_type_accuracy") is not None:
        lines.append(f"- Question-type classifier accuracy: {m['question_type_accuracy']}")
    lines += [
        "",
        "## Exact answers (official measures, version 9)",
        "",
        "| type | measure | all questions | mean over batches |",
        "|---|---|---|---|",
    ]
    for kind in EXACT_TYPES:
        for key, value in m[kind].items():
            lines.append(
                f"| {kind} | {key} | {_fmt(value)} | {_fmt(m['batch_mean'].get(kind, {}).get(key, '-'))} |"
            )
    lines += _ideal_lines(m["ideal"])
    if m["retrieval"]:
        lines += ["", "## Retrieval", "", "| measure | value |", "|---|---|"]
        lines += [f"| {key} | {_fmt(v)} |" for key, v in m["retrieval"].items()]
    lines += [
        "",
        "## Per batch",
        "",
        "| batch | questions | factoid MRR | factoid strict | list F1 | yes/no acc. | yes/no macro-F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for batch, b in m["batches"].items():
        lines.append(
            f"| {batch} | {b['questions']} | {_fmt(b['factoid']['mrr'])} | "
            f"{_fmt(b['factoid']['strict_accuracy'])} | {_fmt(b['list']['mean_f1'])} | "
            f"{_fmt(b['yesno']['accuracy'])} | {_fmt(b['yesno']['macro_f1'])} |"
        )
    scored = [r for r in run["records"] if r["score"] is not None]
    scored.sort(key=lambda r: (r["score"], r["question"].id))
    lines += ["", f"## The {min(worst, len(scored))} worst-answered questions", ""]
    for r in scored[:worst]:
        q, result = r["question"], r["result"]
        gold = q.exact_answer
        lines += [
            f"### {q.id} ({q.type}, score {r['score']:.2f})",
            "",
            f"**Q:** {q.body}",
            "",
            f"- Gold: `{json.dumps(gold, ensure_ascii=False)[:300]}`",
            f"- Ours: `{json.dumps(result.exact_answer(), ensure_ascii=False)[:300]}`",
        ]
        if result.yesno:
            lines.append(f"- P(yes) = {result.yesno.probability:.3f}")
        for answer in result.answers[:2]:
            p = answer.passage
            context = p.text[max(0, answer.start - 80) : answer.end + 80].replace("\n", " ")
            lines.append(f"- Evidence for '{answer.text}' (PMID {p.pmid or '-'}): …{context}…")
        if not result.answers and result.hits:
            lines.append(
                f"- Top passage (PMID {result.hits[0].passage.pmid or '-'}): "
                f"{result.hits[0].passage.text[:240]}"
            )
        lines.append("")
    return "\n".join(lines) + "\n"
