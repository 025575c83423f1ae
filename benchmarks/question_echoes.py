"""Factoid answers with and without the answers that echo the question.

A reader asked "Which gene is mutated in Rett syndrome?" scores "Rett syndrome" as a span
like any other; :func:`qa.read.clean.without_echoes` drops an answer all of whose names are
phrases of the question (not when the question offers a choice, "A or B?"). This scores one
reader's factoid answers over the gold snippets of ``--gold`` both ways, with the profile's
settings and the official measures, and lists the answers the rule dropped from first place,
so it can be chosen on held-out batches (9B, with a reader trained without them) and its gain
reported. (Lists keep their echoes: ``benchmarks/results/question_echoes_9b.json``.)

    python benchmarks/question_echoes.py --model /work/runs/reader/heldout9b-3ep \\
        --gold ../shared/data/bioasq/*/*9B[1-5]_golden.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from unittest import mock

from patterns import matching_files
from tqdm.auto import tqdm
from tune_reader import read_once, scores

from qa.config import load_profile
from qa.corpus.bioasq import load_golden, snippet_passages
from qa.pipeline import QA
from qa.read.answering import read_spans


def answers_of(qa: QA, factoids, passages: dict, label: str) -> dict[str, list]:
    cfg = qa.profile.reader
    return {
        q.id: read_spans(q.body, passages[q.id], "factoid", qa.components, cfg, False).answers
        for q in tqdm(factoids, desc=label, unit="q")
    }


def keep_all(question, answers):
    return list(answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", nargs="+", required=True, help="BioASQ golden files")
    parser.add_argument("--model", default=None, help="reader (default: the profile's)")
    parser.add_argument("--profile", default="embedded")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    if args.model:
        profile = replace(profile, reader=replace(profile.reader, model=args.model))
    qa = QA.load(None, profile=profile)
    read_once(qa.components.reader)  # the second pass re-ranks the first pass's spans
    questions = [q for q in load_golden(matching_files(args.gold)) if q.snippets and q.exact_answer]
    passages = {q.id: list(snippet_passages(q.snippets)) for q in questions}
    factoids = [q for q in questions if q.type == "factoid"]
    kept = answers_of(qa, factoids, passages, "Echoes dropped")
    with mock.patch("qa.read.clean.without_echoes", keep_all):
        before = answers_of(qa, factoids, passages, "Every answer")
    changed = [
        {"question": q.body, "was_first": before[q.id][0].text}
        for q in factoids
        if before[q.id] and (not kept[q.id] or kept[q.id][0].text != before[q.id][0].text)
    ]
    out = {
        "model": profile.reader.model,
        "factoid_questions": len(factoids),
        "every_answer": scores(factoids, before, "factoid"),
        "echoes_dropped": scores(factoids, kept, "factoid"),
        "first_answer_changed": changed,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
