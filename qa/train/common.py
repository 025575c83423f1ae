"""What every trainer shares: the learning-rate schedule and saving an overlay with its card."""

from __future__ import annotations

import json
from collections.abc import Iterable
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
) -> None:
    """Store the trained weights (fp16, frozen ones left out) over the root of ``base``."""
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
    (out / OVERLAY_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if card:
        (out / "README.md").write_text(card, encoding="utf-8")
