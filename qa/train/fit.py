"""One training loop for every trainer: the steps all five used to repeat, in one place.

A trainer prepares its data as batches and says how a batch turns into a loss; :func:`fit`
does the rest: seeding, AdamW over the weights that are not frozen (word embeddings stay as the
base has them, so an overlay stores only what training changed), the library's linear warm-up
schedule, bf16 autocast on CUDA, gradient clipping, the progress bar, an evaluation after each
epoch, and keeping the weights of the best epoch.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from qa.config import resolve_device
from qa.train.settings import TrainingConfig


@dataclass
class FitResult:
    """What the model card reports about a run."""

    steps: int = 0
    losses: list[float] = field(default_factory=list)
    learning_rates: list[float] = field(default_factory=list)  # of each step
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float | None = None  # None when there was no evaluation
    train_seconds: float = 0.0  # evaluation time left out

    def running_loss(self, window: int = 50) -> float:
        return float(np.mean(self.losses[-window:])) if self.losses else math.nan

    def loss_summary(self, window: int = 20) -> dict[str, float]:
        """Mean loss of the first and of the last ``window`` steps (the card's "loss a -> b")."""
        if not self.losses:
            return {"first_loss": math.nan, "last_loss": math.nan}
        k = max(1, min(window, len(self.losses) // 4 or 1))
        return {
            "first_loss": round(float(np.mean(self.losses[:k])), 4),
            "last_loss": round(float(np.mean(self.losses[-k:])), 4),
        }

    def summary(self) -> dict[str, Any]:
        """The keys every trainer's result shares."""
        return {
            "steps": self.steps,
            **self.loss_summary(),
            "train_seconds": round(self.train_seconds, 1),
            "seconds_per_step": round(self.train_seconds / max(1, self.steps), 3),
            "history": self.history,
            "best_epoch": self.best_epoch,
        }


def seed_everything(seed: int) -> None:
    """Python's and torch's generators, before a model's fresh head is drawn."""
    random.seed(seed)
    torch.manual_seed(seed)


def fit(
    model: torch.nn.Module,
    batches: Callable[[int], Iterable[Any]],
    loss: Callable[[torch.nn.Module, Any], torch.Tensor],
    config: TrainingConfig,
    *,
    steps: int | None = None,
    evaluate: Callable[[torch.nn.Module], dict] | None = None,
    select: str = "",
) -> FitResult:
    """Train ``model`` over ``batches(epoch)`` for ``steps`` steps (by default every batch of
    every epoch, ``len(batches)`` per epoch, cut at ``max_steps``); return what happened.
    With ``stop_after_epochs``, training ends after that many epochs, the learning rate having
    fallen as the whole schedule has it.

    A batch that is a dict of tensors is moved to the device before ``loss(model, batch)`` sees
    it. With ``evaluate``, its dict of metrics (``evaluate(model)``, after each epoch) joins the
    epoch's history entry and the weights of the epoch with the highest ``metrics[select]`` are
    kept; without it, the last epoch's.
    """
    seed_everything(config.seed)
    if steps is None:
        steps = config.capped(config.epochs * len(batches))  # type: ignore[arg-type]
    device = resolve_device(config.device)
    model.to(device)
    # The learning rate falls over all of config.epochs, even when the run stops earlier.
    step = _optimiser(model, config, steps)
    epochs = config.stop_after_epochs or config.epochs
    if epochs < config.epochs:
        steps = min(steps, epochs * len(batches))  # type: ignore[arg-type]
    result = FitResult()
    best_state: dict[str, torch.Tensor] | None = None
    with tqdm(total=steps, desc=f"Training {config.job}", unit="step") as bar:
        for epoch in range(epochs):
            model.train()
            started = time.time()
            for batch in batches(epoch):
                if result.steps >= steps:
                    break
                if isinstance(batch, dict):
                    batch = {k: v.to(device) for k, v in batch.items()}
                with torch.autocast("cuda", torch.bfloat16, enabled=device.startswith("cuda")):
                    value = loss(model, batch)
                result.learning_rates.append(step(value))
                result.losses.append(value.item())
                result.steps += 1
                bar.set_postfix(loss=f"{result.running_loss():.3f}", epoch=epoch + 1)
                bar.update(1)
            result.train_seconds += time.time() - started
            model.eval()
            metrics = evaluate(model) if evaluate else {}
            if metrics:  # an hour-long run says how each epoch did as it goes
                bar.write(f"Epoch {epoch + 1} on dev: {_figures(metrics)}", file=sys.stderr)
            loss_now = round(result.running_loss(), 4)
            result.history.append(
                {"epoch": epoch + 1, "steps": result.steps, "loss": loss_now, **metrics}
            )
            if not evaluate:
                result.best_epoch = epoch + 1
            elif result.best_score is None or metrics[select] > result.best_score:
                result.best_epoch, result.best_score = epoch + 1, metrics[select]
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if result.steps >= steps:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result


def _figures(metrics: dict) -> str:
    """The numbers of an evaluation's ``metrics``, as "name value" pairs."""
    numbers = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    return ", ".join(f"{k} {v:.4g}" for k, v in numbers.items())


def _optimiser(
    model: torch.nn.Module, config: TrainingConfig, steps: int
) -> Callable[[torch.Tensor], float]:
    """One optimisation step as a function of the loss (it returns the learning rate used):
    AdamW over the parameters that are not frozen, gradients clipped, and the library's linear
    schedule (``transformers.get_linear_schedule_with_warmup``)."""
    from transformers import get_linear_schedule_with_warmup

    for name, param in model.named_parameters():
        param.requires_grad = not (config.frozen and name.startswith(config.frozen))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_share * steps), steps)

    def step(loss: torch.Tensor) -> float:
        rate = scheduler.get_last_lr()[0]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return rate

    return step
