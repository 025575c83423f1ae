"""Fine-tune one relation classifier on BC5CDR CID, ChemProt, DDI-2013 and GAD/EU-ADR together.

All corpora share one label vocabulary (:data:`qa.corpus.relations.examples.LABELS`); each pair's
loss is taken over its own family's labels and ``none`` only, the same restriction the
classifier applies when predicting, so the corpora never compete for a pair (DDI's thousands
of ``none`` pairs do not teach the model that chemical–disease pairs are unrelated). Inputs
are built by :func:`qa.annotate.relations.encode_pairs`, exactly as at prediction time.

The word embeddings stay frozen (the entity markers are ordinary tokens), so the overlay
holds only the transformer layers and the head. The epoch with the best dev score (mean of
the per-corpus micro-F1) is kept.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import torch

from qa.annotate.relations import encode_pairs, example_input, family_masks, predict_pairs
from qa.config import resolve_device
from qa.corpus.relations import read_relations
from qa.corpus.relations.examples import LABELS, NONE, RelationExample
from qa.errors import CorpusFormatError
from qa.evaluate.relations import relation_scores
from qa.modelhub.load import TRAINED_LENGTH, load_model
from qa.train.common import (
    BatchesByLength,
    base_model_line,
    lower_layer_names,
    pad_rows,
    save_trained,
    stop_note,
    word_embeddings,
)
from qa.train.fit import fit, seed_everything
from qa.train.settings import TrainingConfig, TrainingRun

# The run settings when none are given (and the defaults of `qa train relations`).
DEFAULT_TRAINING_CONFIG = TrainingConfig(epochs=3, batch_size=32, lr=5e-5)

# Where each corpus comes from and on what terms (from ../shared/data/SOURCES.md).
CORPUS_TERMS = {
    "bc5cdr-cid": "BioCreative V CDR corpus (BC5CDR), public domain (NCBI notice)",
    "chemprot": "BioCreative VI ChemProt, the allenai/scibert copy (repository Apache-2.0; "
    "the corpus keeps its own terms)",
    "ddi-2013": "DDI-2013 corpus, CC BY-NC 4.0: **non-commercial use only**",
    "gad": "GAD, BioBERT's preprocessed copy via BioMedBERT/biomedbert (repository MIT; the "
    "corpus keeps its own terms)",
    "eu-adr": "EU-ADR, BioBERT's preprocessed copy via BioMedBERT/biomedbert (repository MIT; "
    "the corpus keeps its own terms)",
}


def limit_negatives(
    examples: Sequence[RelationExample], ratio: float, rng: random.Random
) -> list[RelationExample]:
    """At most ``ratio`` negatives per positive in each corpus (DDI has 6 per positive); a
    corpus of negatives only (BioRED's unrelated pairs) is kept whole."""
    by_corpus: dict[str, list[int]] = defaultdict(list)
    positives: Counter[str] = Counter()
    for i, e in enumerate(examples):
        if e.label == NONE:
            by_corpus[e.corpus].append(i)
        else:
            positives[e.corpus] += 1
    keep = {i for i, e in enumerate(examples) if e.label != NONE}
    for corpus, negatives in by_corpus.items():
        cap = int(ratio * positives[corpus])
        whole = len(negatives) <= cap or not positives[corpus]
        keep.update(negatives if whole else rng.sample(negatives, cap))
    return [e for i, e in enumerate(examples) if i in keep]


def dev_metrics(model, tokenizer, dev: Sequence[RelationExample], **kwargs) -> dict:
    """Micro-F1 per corpus and their mean (the model-selection score).

    The mean, not the pooled F1, so that DDI's many pairs do not decide alone which epoch wins.
    """
    pairs = [example_input(e) for e in dev]
    found = predict_pairs(model, tokenizer, pairs, progress=True, **kwargs)
    predicted = [label for label, _ in found]
    f1 = {}
    for corpus in sorted({e.corpus for e in dev}):
        idx = [i for i, e in enumerate(dev) if e.corpus == corpus]
        scores = relation_scores([dev[i].label for i in idx], [predicted[i] for i in idx])
        f1[corpus] = scores["micro"]["f1"]
    return {"dev_f1": f1, "dev_score": round(float(np.mean(list(f1.values()))), 4)}


def train_relations(
    run: TrainingRun,
    *,
    max_seq_length: int = 128,
    negative_ratio: float | None = None,
    trainable_layers: int | None = None,
    weigh_rare_labels: bool = False,
) -> dict:
    """Train on the ``run.train`` files, keep the best epoch on the ``run.dev`` files, save an
    overlay with its model card.

    ``run.config`` None: :data:`DEFAULT_TRAINING_CONFIG`.
    ``trainable_layers`` trains only the top N transformer layers (and the head); the rest stay
    as the base has them and are left out of the overlay, which then weighs far less.
    ``weigh_rare_labels``: see :func:`rare_label_weights`.
    """
    training = run.settings(DEFAULT_TRAINING_CONFIG)
    seed_everything(training.seed)
    rng = random.Random(training.seed)
    # BioRED's related pairs have no label of ours (its unrelated pairs train as none).
    examples = [e for e in read_relations(run.train) if e.label in LABELS]
    if not examples:
        raise CorpusFormatError("No relation examples found in the training files.")
    if negative_ratio is not None:
        examples = limit_negatives(examples, negative_ratio, rng)
    dev = read_relations(run.dev) if run.dev else []
    tokenizer, model = load_model(run.base, "sequence-classification", labels=LABELS)
    setattr(model.config, TRAINED_LENGTH, max_seq_length)  # read as it was trained
    features = encode_pairs(tokenizer, [example_input(e) for e in examples], max_seq_length)
    labels = torch.tensor([LABELS.index(e.label) for e in examples])
    masks = family_masks(dict(enumerate(LABELS)), [e.family for e in examples])
    frozen = word_embeddings(model)
    if trainable_layers is not None:
        frozen = tuple(sorted({*frozen, *lower_layer_names(model, trainable_layers)}))
    config = replace(training, frozen=frozen, job="relations")
    make_batch = partial(
        pad_rows, features, tokenizer.pad_token_id or 0, labels=labels, allowed=masks
    )
    predict = {
        "device": resolve_device(config.device),
        "batch_size": 64,
        "max_length": max_seq_length,
    }
    counts = Counter(e.label for e in examples)
    weights = rare_label_weights(counts) if weigh_rare_labels else None
    fitted = fit(
        model,
        BatchesByLength(features, config.batch_size, rng, make_batch),
        partial(pair_loss, weights),
        config,
        evaluate=(lambda m: dev_metrics(m, tokenizer, dev, **predict)) if dev else None,
        select="dev_score",
    )
    result = {
        "base": run.base,
        "train_files": [str(p) for p in run.train],
        "dev_files": [str(p) for p in run.dev],
        "examples": len(examples),
        "examples_per_corpus": dict(sorted(Counter(e.corpus for e in examples).items())),
        "labels_seen": dict(sorted(counts.items())),
        "dev_examples": len(dev),
        **config.summary(),
        "max_seq_length": max_seq_length,
        "negative_ratio": negative_ratio,
        "trainable_layers": trainable_layers,
        "label_weights": (
            None
            if weights is None
            else {label: round(float(w), 3) for label, w in zip(LABELS, weights) if w != 1}
        ),
        **fitted.summary(),
        "best_dev_score": fitted.best_score,
    }
    card = model_card(result, run.command)
    save_trained(run, model, "relations", config.frozen, card, {"metrics": result})
    return result


def rare_label_weights(counts: Counter[str]) -> torch.Tensor:
    """A loss weight per label of :data:`LABELS`: a relation label rarer than the median one
    weighs sqrt(median / its count), the others (``none`` too) 1.

    DDI's ``int`` has 188 training pairs against 800 to 1,700 for its other labels, and its
    recall is the lowest of all types; the square root raises rare labels without letting a
    handful of pairs dominate a batch."""
    relations = [counts[label] for label in LABELS if label != NONE and counts[label]]
    median = float(np.median(relations)) if relations else 1.0
    weights = [
        max(1.0, (median / counts[label]) ** 0.5) if label != NONE and counts[label] else 1.0
        for label in LABELS
    ]
    return torch.tensor(weights)


def pair_loss(
    label_weights: torch.Tensor | None, model: torch.nn.Module, batch: dict[str, torch.Tensor]
) -> torch.Tensor:
    """Cross-entropy over each pair's own family's labels and ``none`` (the others masked),
    each label weighed by ``label_weights`` when given."""
    target, allowed = batch.pop("labels"), batch.pop("allowed")
    logits = model(**batch).logits.float().masked_fill(~allowed, -1e4)
    weight = None if label_weights is None else label_weights.to(logits.device)
    return torch.nn.functional.cross_entropy(logits, target, weight=weight)


def weights_line(result: dict) -> str:
    """The card's words for the label weights of a run that weighed rare labels up."""
    weights = result.get("label_weights")
    if not weights:
        return ""
    return "rare labels weighed " + ", ".join(f"`{k}` {v}" for k, v in weights.items()) + ", "


def model_card(result: dict, command: str) -> str:
    """The model card: base, data with its terms, the exact command, and dev figures."""
    corpora = sorted(result["examples_per_corpus"])
    data = "\n".join(
        f"  - {c}: {result['examples_per_corpus'][c]} pairs; {CORPUS_TERMS.get(c, 'see SOURCES.md')}"
        for c in corpora
    )
    dev_corpora = sorted({c for h in result["history"] for c in h.get("dev_f1", {})})
    table = [
        "| " + " | ".join(["epoch", "steps", "loss", *dev_corpora, "mean"]) + " |",
        "|" + "---|" * (len(dev_corpora) + 4),
    ]
    for h in result["history"]:
        cells = [str(h["epoch"]), str(h["steps"]), f"{h['loss']:.3f}"]
        cells += [str(h.get("dev_f1", {}).get(c, "-")) for c in dev_corpora]
        table.append("| " + " | ".join([*cells, str(h.get("dev_score", "-"))]) + " |")
    dev_files = ", ".join(Path(f).name for f in result["dev_files"]) or "none"
    non_commercial = (
        "\n**Licence of the weights**: trained on DDI-2013 (CC BY-NC 4.0), so this model is for "
        "non-commercial use only.\n"
        if "ddi-2013" in corpora
        else ""
    )
    return f"""# Relation classifier on {result["base"]} (overlay)

Labels an entity pair in one sentence: the pair's family (from its entity types) limits the
choice to that family's labels and `none`. Input: the family in words, then the sentence with
the pair's first mention marked `<< … >>` and the second `[[ … ]]` (see
`qa/annotate/relations.py`). Labels: {", ".join(f"`{label}`" for label in LABELS)}.

{base_model_line(result["base"])}
- **Training data** ({result["examples"]} pairs, from ../shared/data; see SOURCES.md there):
{data}
- **Dev data** (model selection by the mean of per-corpus micro-F1): {dev_files}
  ({result["dev_examples"]} pairs).
- **Training**: {result["steps"]} steps, batch {result["batch_size"]}, lr {result["lr"]},
  max length {result["max_seq_length"]}, negatives per positive capped at
  {result["negative_ratio"] or "no cap"}, {weights_line(result)}{result["train_seconds"]} s. Loss
  {result["first_loss"]:.3f} -> {result["last_loss"]:.3f}.{stop_note(result)}
  Epoch {result["best_epoch"]} kept.
- **Command**: `{command or "qa train relations"}`
{non_commercial}
## Dev micro-F1 (relation types only, `none` excluded)

{chr(10).join(table)}

Test figures come from `qa eval relations --model THIS_FOLDER --data TEST FILES`. ChemProt here
has positive pairs only (plus a few derived negatives), so its F1 is not comparable with
published ChemProt figures; BC5CDR CID is scored on sentence-level pairs (cross-sentence
relations are not in it) and per document (where they count as misses).
"""
