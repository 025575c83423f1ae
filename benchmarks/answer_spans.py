"""Answers that repeat one another or run across a sentence, counted over BioASQ gold snippets.

For every factoid and list question of the gold files, the shipped reader answers from the
question's own snippets (as ``qa eval bioasq --snippets gold`` does) and this counts, over all
answers, the ones whose span crosses a sentence boundary of its passage and the ones that name
the same thing as a better answer of the same question (same :func:`qa.read.clean.answer_key`).
Prints one JSON document::

    python benchmarks/answer_spans.py --gold ../shared/data/bioasq/*/*10B[1-6]_golden.json
"""

from __future__ import annotations

import argparse
import json
import sys

from qa.corpus.bioasq import load_golden, snippet_passages
from qa.corpus.split import sentence_spans
from qa.pipeline import QA
from qa.read.clean import answer_key


def crosses_a_sentence(answer) -> bool:
    bounds = sentence_spans(answer.passage.text)
    return not any(s <= answer.start and answer.end <= e for s, e in bounds)


def count(qa: QA, questions) -> dict:
    answers = crossing = repeated = 0
    examples: list[list[str]] = []
    for q in questions:
        if q.type not in ("factoid", "list"):
            continue
        result = qa.answer(q.body, list(snippet_passages(q.snippets)), qtype=q.type, annotate=False)
        keys = [answer_key(a.text) for a in result.answers]
        answers += len(keys)
        crossing += sum(crosses_a_sentence(a) for a in result.answers)
        repeats = len(keys) - len(set(keys))
        repeated += repeats
        if repeats and len(examples) < 5:
            examples.append([a.text for a in result.answers])
    return {
        "answers": answers,
        "crossing_a_sentence": crossing,
        "repeating_a_better_answer": repeated,
        "examples_of_repeats": examples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", nargs="+", required=True)
    parser.add_argument("--profile", default="embedded")
    args = parser.parse_args()
    questions = load_golden(args.gold)
    report = {"questions": len(questions), **count(QA.load(None, args.profile), questions)}
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
