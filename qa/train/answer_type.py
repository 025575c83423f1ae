"""Train the expected-answer-type classifier: gold answers typed by the project's NER.

BioASQ gold answers carry no type. Each factoid and list answer is found (whole word, any
case) in its question's gold snippets, the snippets are tagged by the NER model, and the
occurrence is typed by :func:`qa.read.answer_type.span_type`, the rule that types the
reader's spans at answer time, so both sides of the prior speak the same language. An answer
no snippet mentions is typed from its own words. A question takes the type most of its answer
items have; the classifier (:mod:`qa.train.qtype`'s linear model) then learns it from the
question's words.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from tqdm.auto import tqdm

from qa.corpus.bioasq import GoldQuestion, load_golden
from qa.errors import InvalidInput
from qa.read.answer_type import ANSWER_TYPES, span_type
from qa.read.qtype import META_FILE, WEIGHTS_FILE
from qa.train.qtype import TypedQuestion, train_question_classifier
from qa.train.reader import synonyms, whole_word
from qa.types import SPAN_TYPES, Entity

Tagger = Callable[[list[str]], list[list[Entity]]]


def item_type(names: Sequence[str], texts: Sequence[str], tagged: Sequence[list[Entity]]) -> str:
    """The type most occurrences of an answer item (its synonyms) have in ``texts``, ``other``
    only when no occurrence has a type; ``""`` when no text mentions the item."""
    votes: Counter[str] = Counter()
    for text, entities in zip(texts, tagged):
        for name in names:
            found = whole_word(name, text) if len(name.strip()) >= 2 else None
            if found:
                votes[span_type(text, found.start(), found.end(), entities)] += 1
                break
    typed = [t for t, _ in votes.most_common() if t != "other"]
    return typed[0] if typed else ("other" if votes else "")


def answered_span_questions(questions: Sequence[GoldQuestion]) -> list[GoldQuestion]:
    return [q for q in questions if q.type in SPAN_TYPES and synonyms(q.exact_answer, q.type)]


def label_questions(
    questions: Sequence[GoldQuestion], tag: Tagger, batch: int = 64
) -> list[TypedQuestion]:
    """(body, expected answer type) of each factoid and list question with a gold answer."""
    asked = answered_span_questions(questions)
    labelled = []
    for start in tqdm(range(0, len(asked), batch), desc="Typing gold answers", unit="batch"):
        chunk = asked[start : start + batch]
        texts = [[s.text for s in q.snippets] for q in chunk]
        names = [synonyms(q.exact_answer, q.type) for q in chunk]
        # One tagger call per batch: every snippet, and every answer's first name on its own.
        flat = [t for ts in texts for t in ts] + [item[0] for items in names for item in items]
        tagged = iter(tag(flat))
        snippet_tags = [[next(tagged) for _ in ts] for ts in texts]
        for q, ts, tags, items in zip(chunk, texts, snippet_tags, names):
            votes = Counter()
            for item in items:
                own = next(tagged)
                kind = item_type(item, ts, tags) or span_type(item[0], 0, len(item[0]), own)
                votes[kind] += 1
            labelled.append((q.body, votes.most_common(1)[0][0]))
    return labelled


def answer_type_pairs(
    train_paths: Sequence[str | Path], dev_paths: Sequence[str | Path], tag: Tagger
) -> tuple[list[TypedQuestion], list[TypedQuestion]]:
    """(train, dev) labelled questions; a training question that is also a dev question (case
    aside) is left out of train, as for the question-type classifier."""
    questions = load_golden(train_paths)
    if not answered_span_questions(questions):
        raise InvalidInput(
            "The --train files hold no factoid or list question with a gold answer: the "
            "answer-type classifier learns from those (BioASQ golden files, 4B-8B)."
        )
    train = label_questions(questions, tag)
    dev = label_questions(load_golden(dev_paths), tag) if dev_paths else []
    dev_bodies = {body.lower() for body, _ in dev}
    return [(b, t) for b, t in train if b.lower() not in dev_bodies], dev


def train_answer_type(
    train: Sequence[TypedQuestion],
    dev: Sequence[TypedQuestion],
    out: str | Path,
    ner_model: str,
    command: str = "",
) -> dict:
    """The expected-answer-type classifier fitted and saved with its card."""
    card = partial(model_card, ner_model=ner_model, command=command)
    return train_question_classifier(train, dev, ANSWER_TYPES, "answer-type", out, card)


def model_card(result: dict, ner_model: str, command: str) -> str:
    return f"""# Expected answer type (gene / chemical / disease / species / number / other)

The type of answer a factoid or list question expects, for the answer-type prior of the reader
(`qa/read/answer_type.py`). A multinomial logistic regression over word unigrams, bigrams and the
first 1-3 words of the question (the question-type model's features, `qa/read/qtype.py`);
{result["features"]} features, stored as `{WEIGHTS_FILE}` plus the vocabulary in `{META_FILE}`.

- **Labels**: each gold answer of the training questions found in the question's gold snippets
  and typed by the NER model `{ner_model}` (numbers by rule, `other` when no entity covers it);
  a question takes the type of most of its answer items (`qa/train/answer_type.py`).
- **Training data**: {result["train_questions"]} factoid and list questions of the golden files
  named in the command (BioASQ terms of use); labels {json.dumps(result["train_labels"], sort_keys=True)}.
- **Command**: `{command or "qa train answer-type"}` ({result["train_seconds"]} s on CPU)
- **Train accuracy**: {result["train_accuracy"]}
- **Dev accuracy** ({result["dev_questions"]} questions of the `--dev` files, labelled the same
  way): {result["dev_accuracy"]}

Dev confusion (gold type -> predicted counts): `{json.dumps(result["dev_confusion"], sort_keys=True)}`
"""
