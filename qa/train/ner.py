"""Train one NER model for every entity type on corpora that each annotate only some types.

NCBI-disease marks diseases and nothing else, so a gene in it is tagged ``O``: read naively,
that sentence teaches the model that the gene is *not* a gene. The model here keeps one softmax
over the full BIO label set (``O``, ``B-``/``I-`` of every type), and for each sentence the
logits of the types its corpus does not annotate are set to ``-inf`` before the cross-entropy.
Within that sentence the softmax then runs over ``O`` and the corpus's own types only: an ``O``
there means "none of *these* types", which is exactly what the annotators said, and nothing
pushes the logits of the other types down. At inference every label competes as usual. This is
the masked-softmax (partial-label) scheme used for merging heterogeneous tag sets; it needs no
extra heads, no per-corpus models and no pseudo-labelling, and it reduces to the plain loss for
a corpus that annotates every type. (A per-type sigmoid would avoid the issue too, but then BIO
tags of different types could fire on the same word and need a second decoding step.)

Only the first word piece of a word is labelled (the others get -100), the same piece the
tagger reads. Sentences longer than a window are cut into overlapping windows, each labelled.
The word embeddings stay frozen by default, as in the reader trainer, which keeps the saved
overlay near 22 MB for MiniLM (``train_embeddings`` trains them too, for the biomedical words
the general-domain vocabulary splits into pieces). The best epoch by dev macro-F1 (mean over
every dev corpus and type it annotates, so a small corpus counts as much as a large one) is
kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch

from qa.annotate.ner import EntityTagger, first_pieces
from qa.batching import pad_batch
from qa.corpus.ner import (
    NerSource,
    Sentence,
    order_types,
    read_source,
    resolve_sources,
    source_types,
)
from qa.errors import CorpusFormatError
from qa.evaluate.ner import evaluate_sources
from qa.modelhub.load import load_model, require_fast_tokenizer
from qa.train.common import (
    base_model_line,
    fit_rows,
    save_trained,
    stop_note,
    word_embeddings,
)
from qa.train.fit import seed_everything
from qa.train.settings import TrainingConfig, TrainingRun

# The run settings when none are given (and the defaults of `qa train ner`).
DEFAULT_TRAINING_CONFIG = TrainingConfig(epochs=3, batch_size=32, lr=5e-5)


def label_set(types: Sequence[str]) -> list[str]:
    """``O`` then ``B-``/``I-`` of each type, in the canonical type order."""
    return ["O"] + [f"{prefix}-{kind}" for kind in order_types(types) for prefix in ("B", "I")]


def featurize(
    sentences: Sequence[Sentence],
    tokenizer,
    label2id: dict[str, int],
    visible: int,
    max_length: int,
    stride: int,
) -> list[dict]:
    """Token windows of pre-split sentences, first pieces labelled, the rest -100.

    ``visible`` is the index of the sentence's label mask (its corpus's types) in the batch's
    mask table."""
    windows: list[dict] = []
    keys = [k for k in tokenizer.model_input_names if k != "attention_mask"] + ["attention_mask"]
    for lo in range(0, len(sentences), 1000):
        chunk = sentences[lo : lo + 1000]
        enc = tokenizer(
            [list(s.tokens) for s in chunk],
            is_split_into_words=True,
            truncation=True,
            max_length=max_length,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        by_sample: dict[int, list[int]] = {}
        for w, sample in enumerate(enc["overflow_to_sample_mapping"]):
            by_sample.setdefault(int(sample), []).append(w)
        for sample, ws in by_sample.items():
            labels = chunk[sample].labels
            for w, pieces in zip(ws, first_pieces(enc, ws)):
                targets = [-100] * len(enc["input_ids"][w])
                for position, word, _ in pieces:
                    targets[position] = label2id[labels[word]]
                window = {k: list(enc[k][w]) for k in keys if k in enc}
                window["labels"] = targets
                window["visible"] = visible
                windows.append(window)
    return windows


def partial_label_loss(
    logits: torch.Tensor, labels: torch.Tensor, visible: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy with the labels a sentence's corpus does not annotate masked out.

    ``logits`` (batch, tokens, labels); ``visible`` (batch, labels) is True for ``O`` and the
    B/I labels of the types that sentence's corpus annotates."""
    masked = logits.float().masked_fill(~visible[:, None, :], float("-inf"))
    return torch.nn.functional.cross_entropy(
        masked.reshape(-1, masked.shape[-1]), labels.reshape(-1), ignore_index=-100
    )


def _describe(source: NerSource, sentences: Sequence[Sentence], types: Sequence[str]) -> dict:
    mentions = {t: 0 for t in types}
    for sentence in sentences:
        for label, previous in zip(sentence.labels, ["O", *sentence.labels]):
            kind = label[2:]
            if label.startswith("B-") or (label.startswith("I-") and previous[2:] != kind):
                mentions[kind] = mentions.get(kind, 0) + 1
    return {
        "name": source.name,
        "file": Path(source.path).name,
        "types": list(types),
        "sentences": len(sentences),
        "mentions": mentions,
        "licence": source.licence,
    }


def train_ner(
    run: TrainingRun,
    *,
    max_seq_length: int = 256,
    stride: int = 64,
    max_dev_sentences: int | None = None,
    data_dir: str | Path | None = None,
    train_embeddings: bool = False,
) -> dict:
    """Train on ``run.train`` (corpus names, taken at their train split, or files), select the
    best epoch on ``run.dev`` (names at their dev split, or files), save an overlay with a model
    card.

    ``run.config`` None: :data:`DEFAULT_TRAINING_CONFIG`. ``max_dev_sentences`` caps each dev
    source (its first N sentences) to keep evaluation short; ``data_dir`` is where corpus names
    are looked up; ``train_embeddings`` trains the word embeddings too (the overlay then stores
    them: about 23 MB more for MiniLM).
    """
    training = run.settings(DEFAULT_TRAINING_CONFIG)
    seed_everything(training.seed)
    dev_sources = resolve_sources(run.dev, split="dev", data_dir=data_dir) if run.dev else []
    corpora = read_corpora(resolve_sources(run.train, split="train", data_dir=data_dir))
    labels = label_set(order_types(t for _, _, ts in corpora for t in ts))
    tokenizer, model = load_model(run.base, "token-classification", labels=labels)
    require_fast_tokenizer(tokenizer, run.base)
    frozen = () if train_embeddings else word_embeddings(model)
    config = replace(training, frozen=frozen, job="NER")
    features, visible = featurize_corpora(corpora, tokenizer, labels, max_seq_length, stride)
    make_batch = partial(window_batch, features, tokenizer.pad_token_id or 0, visible)
    tagging = dict(device=config.device, batch_size=64, max_length=max_seq_length, stride=stride)
    evaluate = None
    if dev_sources:
        evaluate = partial(dev_scores, tokenizer, dev_sources, max_dev_sentences, tagging)
    fitted = fit_rows(model, features, make_batch, window_loss, config, evaluate, "dev_macro_f1")
    result = {
        "base": run.base,
        "labels": labels,
        "train": [_describe(s, sents, ts) for s, sents, ts in corpora],
        "dev": [s.name for s in dev_sources],
        "windows": len(features),
        **config.summary(),
        "max_seq_length": max_seq_length,
        "max_dev_sentences": max_dev_sentences,
        "train_embeddings": train_embeddings,
        **fitted.summary(),
        "best_dev_macro_f1": fitted.best_score,
    }
    card = model_card(result, run.command)
    save_trained(run, model, "ner", config.frozen, card, {"metrics": result})
    return result


def window_batch(
    features: Sequence[dict], pad_id: int, visible: torch.Tensor, idx: list[int]
) -> dict[str, torch.Tensor]:
    """Windows ``idx`` padded into a batch (labels with -100), each with the labels its
    corpus annotates (a row of ``visible``)."""
    batch = pad_batch([features[i] for i in idx], pad_id, fills={"labels": -100})
    return {**batch, "visible": visible[batch["visible"]]}


def window_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    target, visible = batch.pop("labels"), batch.pop("visible")
    return partial_label_loss(model(**batch).logits, target, visible)


def dev_scores(
    tokenizer, sources: Sequence[NerSource], max_sentences: int | None, tagging: dict, model
) -> dict:
    """Entity F1 of the model in memory on each dev source, and their macro mean."""
    tagger = EntityTagger.from_model(model, tokenizer, **tagging)
    scores = evaluate_sources(tagger, sources, max_sentences=max_sentences, progress=True)
    return {
        "dev_macro_f1": scores["macro_f1"],
        "dev_seconds": scores["seconds"],
        "dev": {
            n: {t: s["f1"] for t, s in r["types"].items()} for n, r in scores["sources"].items()
        },
    }


def read_corpora(sources: Sequence[NerSource]) -> list[tuple[NerSource, list[Sentence], list]]:
    """Each training source with its sentences and the entity types it annotates."""
    corpora = []
    for source in sources:
        sentences = read_source(source)
        types = source_types(source, sentences)
        if not types:
            raise CorpusFormatError(f"{source.path} has no entity tags: nothing to learn from.")
        corpora.append((source, sentences, types))
    return corpora


def featurize_corpora(
    corpora: Sequence[tuple[NerSource, list[Sentence], list]],
    tokenizer,
    labels: list[str],
    max_length: int,
    stride: int,
) -> tuple[list[dict], torch.Tensor]:
    """Windows of every corpus, and the table of labels visible to each corpus's windows."""
    label2id = {label: i for i, label in enumerate(labels)}
    masks, features = [], []
    for index, (_, sentences, types) in enumerate(corpora):
        allowed = {"O"} | {f"{p}-{t}" for t in types for p in ("B", "I")}
        masks.append([label in allowed for label in labels])
        features.extend(featurize(sentences, tokenizer, label2id, index, max_length, stride))
    if not features:
        raise CorpusFormatError("No training sentences in the given corpora.")
    return features, torch.tensor(masks, dtype=torch.bool)


def model_card(result: dict, command: str) -> str:
    """The model card: base, data with licences, the command, and the dev figures."""
    types = [label[2:] for label in result["labels"] if label.startswith("B-")]
    data = "\n".join(
        f"| {t['name']} | {', '.join(t['types'])} | {t['sentences']} | "
        f"{', '.join(f'{k} {v}' for k, v in t['mentions'].items())} | {t['licence'] or '-'} |"
        for t in result["train"]
    )
    dev_names = sorted({name for h in result["history"] for name in h.get("dev", {})})
    header = " | ".join(f"{n} {t}" for n in dev_names for t in result["history"][0]["dev"][n])
    if dev_names:
        rows = "\n".join(
            f"| {h['epoch']} | {h['steps']} | {h['dev_macro_f1']} | "
            + " | ".join(str(v) for n in dev_names for v in h["dev"][n].values())
            + " |"
            for h in result["history"]
        )
        cells = len(header.split(" | ")) if header else 0
        dev_table = (
            f"| epoch | steps | macro F1 | {header} |\n|{'---|' * (3 + cells)}\n{rows}\n\n"
            f"Best epoch: {result['best_epoch']} (kept)."
        )
        if result.get("max_dev_sentences"):
            dev_table += f" Dev capped at the first {result['max_dev_sentences']} sentences."
    else:
        dev_table = "No dev data was given: the last epoch is kept."
    return f"""# Biomedical NER ({", ".join(types)}) on {result["base"]} (overlay)

Token classification with BIO tags ({len(result["labels"])} labels: {", ".join(result["labels"])}),
one model for all types. Used by `qa.annotate.ner.EntityTagger`, which merges word pieces into
whole-word character spans.

{base_model_line(result["base"], result.get("train_embeddings", False))}
- **Partial annotation**: each corpus annotates only some types; for a sentence, the logits of
  the types its corpus does not annotate are masked out of the softmax, so an `O` there is not
  read as "not a gene" (see `qa/train/ner.py`).
- **Training**: {result["steps"]} steps, batch {result["batch_size"]}, lr {result["lr"]},
  windows of {result["max_seq_length"]} tokens ({result["windows"]} windows),
  {result["train_seconds"]} s ({result["seconds_per_step"]} s/step). Loss
  {result["first_loss"]:.3f} -> {result["last_loss"]:.3f}.{stop_note(result)}
- **Command**: `{command or "qa train ner"}`

## Training data (from ../shared/data/ner; see ../shared/data/SOURCES.md)

| corpus | types | sentences | mentions | licence |
|---|---|---|---|---|
{data}

Check each corpus's original licence before commercial use of this model.

## Dev (entity-level strict F1, {", ".join(result["dev"]) or "none"})

{dev_table}

Test figures come from `qa eval ner --model <this folder> --data <corpus>:test`.
"""
