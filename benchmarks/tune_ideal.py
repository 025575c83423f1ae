"""Choose the ideal-answer sentence selection (``qa.read.summary.Selection``) on BioASQ 9B.

Embeds the candidate sentences of every summary question's gold snippets once, then picks
sentences with each setting of the grid and scores them with ROUGE-2 and ROUGE-SU4 against the
gold ideal answers (``qa.evaluate.bioasq.rouge``). Prints JSON: every setting's figures, the
best by ROUGE-SU4 F1, the shipped one and the one before maximal marginal relevance (lambda 1,
no coverage bonus). The grid also varies the profile's ``summary_passages`` and
``summary_sentences``, for information: those live in the profile, not here. Choose on 9B;
10B is the development split, scored once with ``qa eval bioasq``.

    python benchmarks/tune_ideal.py --gold ../shared/data/bioasq/*/*9B[1-5]_golden.json
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json

import torch
from patterns import matching_files
from tqdm.auto import tqdm

from qa.corpus.bioasq import GoldQuestion, load_golden, snippet_passages
from qa.evaluate.bioasq.rouge import mean_rouge
from qa.pipeline import QA
from qa.read.summary import (
    SELECTION,
    Selection,
    candidate_sentences,
    content_terms,
    pick_sentences,
    relevance_scores,
)

LAMBDAS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
COVERAGE = (0.0, 0.1, 0.2, 0.3, 0.5)
DUPLICATE = (0.7, 0.75, 0.8, 0.85, 0.9)
BEFORE = Selection(mmr_lambda=1.0, coverage_weight=0.0, duplicate_cosine=0.9)


def prepare(qa: QA, q: GoldQuestion, passages: int) -> dict:
    """The candidates of one question's first ``passages`` snippets, embedded, and their terms."""
    sentences = candidate_sentences(list(snippet_passages(q.snippets))[:passages])
    with torch.inference_mode():
        vectors = qa.components.encoder.embed([q.body] + [s.text for s in sentences], 128)
    return {
        "texts": [s.text.strip() for s in sentences],
        "relevance": relevance_scores(sentences, vectors, (), SELECTION.answer_bonus),
        "similarity": (vectors[1:] @ vectors[1:].T).tolist(),
        "covers": [content_terms(s.text) for s in sentences],
        "question_terms": content_terms(q.body),
        "references": q.ideal_answer,
    }


def score(prepared: list[dict], selection: Selection, sentences: int) -> dict:
    pairs = []
    for p in prepared:
        args = (p["relevance"], p["similarity"], p["covers"], p["question_terms"])
        chosen = pick_sentences(*args, sentences, selection) if p["texts"] else []
        pairs.append((" ".join(p["texts"][i] for i in chosen), p["references"]))
    return {k: round(v, 4) for k, v in mean_rouge(pairs).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", nargs="+", required=True)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    files = matching_files(args.gold)
    questions = [q for q in load_golden(files) if q.type == "summary" and q.ideal_answer]
    qa = QA.load(None, profile=args.profile, device=args.device)
    shipped = (qa.profile.reader.summary_passages, qa.profile.reader.summary_sentences)
    grid = []
    for passages in sorted({shipped[0], 10, 1000}):
        prepared = [prepare(qa, q, passages) for q in tqdm(questions, desc=f"{passages} passages")]
        for sentences in sorted({shipped[1], 2, 4}):
            for lam, cover, dup in itertools.product(LAMBDAS, COVERAGE, DUPLICATE):
                selection = Selection(SELECTION.answer_bonus, lam, cover, dup)
                row = {"summary_passages": passages, "summary_sentences": sentences}
                row |= dataclasses.asdict(selection) | score(prepared, selection, sentences)
                grid.append(row)
    at_profile = [r for r in grid if (r["summary_passages"], r["summary_sentences"]) == shipped]

    def find(selection: Selection) -> dict:
        return next(
            r
            for r in at_profile
            if all(r[k] == v for k, v in dataclasses.asdict(selection).items())
        )

    print(
        json.dumps(
            {
                "gold": files,
                "questions": len(questions),
                "before_mmr": find(BEFORE),
                "shipped": find(SELECTION),
                "best_at_profile": max(at_profile, key=lambda r: r["rougesu4_f1"]),
                "best_overall": max(grid, key=lambda r: r["rougesu4_f1"]),
                "grid": grid,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
