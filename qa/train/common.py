"""What every trainer shares: the learning-rate schedule and saving an overlay with its card."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

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
