"""Fine-tune an extractive reader on BioASQ span examples.

Examples come from two sources:

* SQuAD-format JSON (dmis-lab's BioASQ files): question, context, answer text and start;
* BioASQ golden files: for factoid and list questions, every exact answer (or synonym) that
  occurs in a gold snippet, case-insensitively, becomes a span in that snippet; as many
  examples without an answer (at least one) come from its gold snippets without any of the
  names and, after those, one snippet of another question.

Windows of a long context that do not contain the answer, and every window of an example
without one, are labelled with the [CLS] token, as in SQuAD 2.0, which teaches the head to score
answer-less windows low: over whole abstracts, most windows hold no answer. The best epoch on the
dev questions (factoid MRR over their gold snippets) is kept and saved as an overlay on the
base model, with a model card.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import torch
from tqdm.auto import tqdm

from qa.corpus.bioasq import GoldQuestion, load_golden
from qa.errors import CorpusFormatError
from qa.modelhub.load import load_model
from qa.read.clean import normalise_answer
from qa.read.reader import Reader
from qa.train.common import (
    base_model_line,
    epoch_kept,
    fit_rows,
    metrics_as_shipped,
    pad_rows,
    run_files,
    save_trained,
    stop_note,
    word_embeddings,
)
from qa.train.fit import seed_everything
from qa.train.settings import TrainingConfig, TrainingRun
from qa.types import SPAN_TYPES

# The run settings when none are given (and the defaults of `qa train reader`).
DEFAULT_TRAINING_CONFIG = TrainingConfig(epochs=2, batch_size=16, lr=5e-5)


NO_ANSWER = -1  # the start and end of an example without an answer


@dataclass(frozen=True)
class SpanExample:
    question: str
    context: str
    start: int  # character offsets of the answer in the context, or NO_ANSWER
    end: int


def synonyms(exact_answer, qtype: str) -> list[list[str]]:
    """Golden exact answers as a list of items, each a list of synonyms."""
    if exact_answer is None:
        return []
    if isinstance(exact_answer, str):
        return [[exact_answer]]
    items = []
    for item in exact_answer:
        if isinstance(item, list):
            items.append([str(s) for s in item if str(s).strip()])
        elif str(item).strip():
            items.append([str(item)])
    if qtype == "factoid" and items and all(len(i) == 1 for i in items):
        # Older factoid files list synonyms flat: ["BRCA1", "breast cancer 1"] is one item.
        return [[i[0] for i in items]]
    return [i for i in items if i]


def examples_from_golden(questions: Iterable[GoldQuestion]) -> list[SpanExample]:
    """Span examples of the factoid and list questions, and their no-answer examples."""
    asked = [q for q in questions if q.type in SPAN_TYPES]
    examples: list[SpanExample] = []
    for i, q in enumerate(asked):
        names = {s.strip() for item in synonyms(q.exact_answer, q.type) for s in item}
        names = sorted((n for n in names if len(n) >= 2), key=len, reverse=True)
        found, missing = [], []
        for snippet in q.snippets:
            matches = [m for m in (whole_word(name, snippet.text) for name in names) if m]
            found += [SpanExample(q.body, snippet.text, m.start(), m.end()) for m in matches]
            if not matches:
                missing.append(snippet.text)
        other = asked[(i * 7919 + 1) % len(asked)]  # a fixed other question's snippet
        missing += [s.text for s in other.snippets[:1] if other.body != q.body]
        examples += found
        examples += [no_answer(q.body, text) for text in missing[: max(1, len(found))]]
    return examples


def whole_word(name: str, text: str) -> re.Match | None:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, flags=re.IGNORECASE)


def no_answer(question: str, context: str) -> SpanExample:
    """A passage that does not answer the question: every window is labelled [CLS] (SQuAD 2.0),
    so over whole abstracts the windows without an answer learn to score low."""
    return SpanExample(question, context, NO_ANSWER, NO_ANSWER)


def examples_from_squad(path: str | Path) -> list[SpanExample]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        articles = data["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CorpusFormatError(f"{path}: not a SQuAD-format file ({exc}).") from exc
    examples = []
    for article in articles:
        for paragraph in article.get("paragraphs", []):
            context = paragraph["context"]
            for qa in paragraph.get("qas", []):
                for answer in qa.get("answers", [])[:1]:
                    start = int(answer["answer_start"])
                    text = answer["text"]
                    if context[start : start + len(text)].lower() != text.lower():
                        found = context.lower().find(text.lower())
                        if found < 0:
                            continue
                        start = found
                    examples.append(SpanExample(qa["question"], context, start, start + len(text)))
    return examples


def is_golden(path: str | Path) -> bool:
    with open(path, encoding="utf-8") as fh:
        head = fh.read(4096)
    return '"questions"' in head and '"data"' not in head[:200]


def load_examples(paths: Sequence[str | Path]) -> list[SpanExample]:
    golden = [p for p in paths if is_golden(p)]
    squad = [p for p in paths if p not in golden]
    examples = examples_from_golden(load_golden(golden)) if golden else []
    for path in squad:
        examples.extend(examples_from_squad(path))
    return list(dict.fromkeys(examples))  # de-duplicated, order kept


def question_key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def drop_dev_questions(
    examples: Sequence[SpanExample], dev: Sequence[GoldQuestion]
) -> list[SpanExample]:
    """Training examples whose question is also a dev question (BioASQ repeats a few) go."""
    seen = {question_key(q.body) for q in dev}
    return [e for e in examples if question_key(e.question) not in seen]


def featurize(
    examples: Sequence[SpanExample], tokenizer, max_length: int, stride: int
) -> list[dict]:
    """Token windows with start/end positions of the answer ([CLS]=0 when it is not inside).

    Windows are left unpadded; :func:`~qa.train.common.pad_rows` pads each batch to its own longest window, which
    on short snippets saves most of the compute that padding to ``max_length`` would waste.
    """
    enc = tokenizer(
        [e.question for e in examples],
        [e.context for e in examples],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in enc]
    windows = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        example = examples[enc["overflow_to_sample_mapping"][i]]
        ctx = [j for j, sid in enumerate(enc.sequence_ids(i)) if sid == 1]
        s_tok = e_tok = 0
        answered = example.start != NO_ANSWER and ctx
        if answered and offsets[ctx[0]][0] <= example.start and offsets[ctx[-1]][1] >= example.end:
            s_tok = next(j for j in ctx if offsets[j][1] > example.start)
            e_tok = next(j for j in reversed(ctx) if offsets[j][0] < example.end)
        window = {k: enc[k][i] for k in keys}
        window["start_positions"] = s_tok
        window["end_positions"] = e_tok
        windows.append(window)
    return windows


def factoid_dev_metrics(reader: Reader, questions: Sequence[GoldQuestion]) -> dict[str, float]:
    """Strict/lenient accuracy and MRR of the top-5 answers over each question's gold snippets."""
    from qa.types import Passage

    strict = lenient = rr = 0.0
    asked = [q for q in questions if q.type == "factoid" and q.snippets and q.exact_answer]
    for q in tqdm(asked, desc="Dev factoid", unit="q", leave=False):
        passages = [Passage(f"s{i}", s.text) for i, s in enumerate(q.snippets) if s.text.strip()]
        answers = [normalise_answer(a.text) for a in reader.read(q.body, passages, top_k=5)]
        gold = {normalise_answer(s) for item in synonyms(q.exact_answer, q.type) for s in item}
        ranks = [i for i, a in enumerate(answers, start=1) if a in gold]
        strict += bool(ranks and ranks[0] == 1)
        lenient += bool(ranks)
        rr += 1.0 / ranks[0] if ranks else 0.0
    n = max(1, len(asked))
    return {
        "strict_accuracy": round(strict / n, 4),
        "lenient_accuracy": round(lenient / n, 4),
        "mrr": round(rr / n, 4),
        "questions": len(asked),
    }


def train_reader(run: TrainingRun, *, max_seq_length: int = 256, doc_stride: int = 96) -> dict:
    """Train a span head on the examples of ``run.train`` (BioASQ golden or SQuAD-format files),
    keep the epoch with the best factoid MRR on the ``run.dev`` golden files (each epoch's
    overlay is saved and read back, as it will ship), save the overlay and its card.

    ``run.config`` None: :data:`DEFAULT_TRAINING_CONFIG`."""
    training = run.settings(DEFAULT_TRAINING_CONFIG)
    seed_everything(training.seed)
    tokenizer, model = load_model(run.base, "question-answering")
    examples = load_examples(run.train)
    if not examples:
        raise CorpusFormatError("No span examples found in the training files.")
    dev_q = load_golden(run.dev) if run.dev else []
    examples = drop_dev_questions(examples, dev_q)
    features = featurize(examples, tokenizer, max_seq_length, doc_stride)
    config = replace(training, frozen=word_embeddings(model), job="reader")
    make_batch = partial(pad_rows, features, tokenizer.pad_token_id or 0)
    reading = {"device": config.device, "max_seq_length": max_seq_length, "doc_stride": doc_stride}

    def measure(folder: str) -> dict:
        return factoid_dev_metrics(Reader(folder, **reading), dev_q)

    evaluate = partial(metrics_as_shipped, run, "reader", config.frozen, measure)
    fitted = fit_rows(
        model, features, make_batch, span_loss, config, evaluate if dev_q else None, "mrr"
    )
    result = {
        **run_files(run),
        "examples": len(examples),
        "windows": len(features),
        **config.summary(),
        "max_seq_length": max_seq_length,
        **fitted.summary(),
        "best_dev_mrr": fitted.best_score,
    }
    card = model_card(result, run.command)
    save_trained(run, model, "reader", config.frozen, card, {"metrics": result})
    return result


def span_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The span head's own loss (cross-entropy of the start and the end position)."""
    return model(**batch).loss


def model_card(result: dict, command: str) -> str:
    """The model card: base, data, the exact command, and the dev figures per epoch."""
    if result["dev_files"]:
        rows = "\n".join(
            f"| {h['epoch']} | {h['strict_accuracy']} | {h['lenient_accuracy']} | {h['mrr']} |"
            for h in result["history"]
        )
        files = ", ".join(result["dev_files"])
        dev = f"""## Dev (factoid questions of {files}, their gold snippets, top 5)

| epoch | strict acc. | lenient acc. | MRR |
|---|---|---|---|
{rows}

These are this trainer's quick figures (lower-cased exact match against the synonyms); the
official BioASQ figures come from `qa eval bioasq`.
"""
    else:
        dev = "Official BioASQ figures come from `qa eval bioasq`.\n"
    return f"""# Extractive reader (span head) on {result["base"]} (overlay)

Scores answer spans (start + end logits) for a question over a passage.

{base_model_line(result["base"])}
- **Training data**: {", ".join(result["train_files"])} ({result["examples"]} span examples,
  {result["windows"]} windows), from ../shared/data/bioasq. BioASQ data is subject to the BioASQ
  terms of use; see ../shared/data/SOURCES.md.
- **Training**: {result["steps"]} steps, batch {result["batch_size"]}, lr {result["lr"]},
  max length {result["max_seq_length"]}, {result["train_seconds"]} s. Loss
  {result["first_loss"]:.3f} -> {result["last_loss"]:.3f}.{stop_note(result)}
  {epoch_kept(result, "factoid MRR")}
- **Command**: `{command or "qa train reader"}`

{dev}"""
