"""What every trainer shares: the learning-rate schedule and saving an overlay with its card."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qa.modelhub import OVERLAY_FILE, root_base
from qa.retrieve.encoder import OVERLAY_WEIGHTS


def linear_warmup(optimizer: torch.optim.Optimizer, total: int, warmup_share: float = 0.1):
    """Linear warm-up over the first 10% of steps, then linear decay to zero."""
    warmup = max(1, int(warmup_share * total))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )


def save_overlay(
    state: dict[str, torch.Tensor],
    out: Path,
    *,
    base: str,
    kind: str,
    frozen: Iterable[str],
    card: str = "",
    meta: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> None:
    """Store the trained weights (fp16, frozen ones left out) over the root of ``base``.

    ``config`` holds the config settings the loader must apply to the base before building the
    model, e.g. ``{"id2label": {...}, "label2id": {...}}`` for a classification head.
    """
    from safetensors.torch import save_file

    frozen = tuple(frozen)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {
        name: t.detach().to("cpu", torch.float16).contiguous()
        for name, t in state.items()
        if not name.startswith(frozen)
    }
    save_file(tensors, str(out / OVERLAY_WEIGHTS))
    info = {"base": root_base(base), "trained_from": base, "kind": kind, **(meta or {})}
    if config:
        info["config"] = config
    (out / OVERLAY_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if card:
        (out / "README.md").write_text(card, encoding="utf-8")


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


class Optimisation:
    """What every trainer does at each step, in one place.

    AdamW over the weights that are not frozen (word embeddings stay as the base has them, so
    an overlay stores only what training changed), the warm-up schedule, bf16 autocast on CUDA,
    gradient clipping, and the running loss that the progress bar and the model card show.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        lr: float,
        total_steps: int,
        device: str,
        frozen: Callable[[str], bool] | Iterable[str] = (),
        weight_decay: float = 0.01,
        max_grad_norm: float = 1.0,
    ) -> None:
        is_frozen = frozen if callable(frozen) else _prefix_test(tuple(frozen))
        for name, param in model.named_parameters():
            param.requires_grad = not is_frozen(name)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=lr, weight_decay=weight_decay)
        self.scheduler = linear_warmup(self.optimizer, total_steps)
        self.use_amp = device.startswith("cuda")
        self.max_grad_norm = max_grad_norm
        self.losses: list[float] = []

    def autocast(self):
        """Mixed precision on a GPU; a no-op on the CPU."""
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.use_amp)

    def step(self, loss: torch.Tensor) -> float:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, self.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.losses.append(loss.item())
        return self.losses[-1]

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


def _prefix_test(prefixes: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda name: bool(prefixes) and name.startswith(prefixes)


class BestEpoch:
    """Keeps a copy of the weights of the best epoch so far (by a dev score, higher is better)."""

    def __init__(self) -> None:
        self.score = -math.inf
        self.state: dict[str, torch.Tensor] | None = None

    def offer(self, model: torch.nn.Module, score: float) -> bool:
        if self.state is not None and score <= self.score:
            return False
        self.score = score
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return True

    def restore(self, model: torch.nn.Module) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)


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


def total_steps(examples: int, batch_size: int, epochs: int, max_steps: int | None) -> int:
    """Optimisation steps of a run: whole epochs of batches, cut at ``max_steps`` if given."""
    per_epoch = (examples + batch_size - 1) // batch_size
    return epochs * per_epoch if max_steps is None else min(max_steps, epochs * per_epoch)
