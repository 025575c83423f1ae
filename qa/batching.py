"""Padding a batch of tokenised rows to its own longest row, for training and inference alike.

Rows are dicts of lists (``input_ids``, ``attention_mask``, ...) plus, optionally, values that
are not per token (a label, a start position). Padding each batch to its longest row instead of
to the model's maximum length saves most of the compute on short BioASQ snippets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch

TOKEN_KEYS = ("input_ids", "token_type_ids", "attention_mask")


def pad_batch(
    rows: Sequence[Mapping], pad_id: int = 0, *, fills: Mapping[str, int] | None = None
) -> dict[str, torch.Tensor]:
    """Tensors of every key of the rows: per-token lists padded, anything else stacked.

    The per-token keys are the tokenizer's (``input_ids`` padded with ``pad_id``, the others
    with 0) and those named in ``fills`` with their pad value, e.g. ``{"labels": -100}`` for
    token labels the loss must ignore.
    """
    fill = {"input_ids": pad_id, **(fills or {})}
    per_token = set(TOKEN_KEYS) | set(fills or {})
    longest = max(len(r["input_ids"]) for r in rows)
    batch: dict[str, torch.Tensor] = {}
    for key in rows[0]:
        if key in per_token:
            value = fill.get(key, 0)
            batch[key] = torch.tensor([r[key] + [value] * (longest - len(r[key])) for r in rows])
        else:
            batch[key] = torch.tensor([r[key] for r in rows])
    return batch


def inference_batch_size(device: str, requested: int | None = None) -> int:
    """Windows per forward pass, unless the profile says: a GPU takes many more at once than
    two CPU cores want."""
    return requested or (128 if device.startswith("cuda") else 32)


def forward_batches(
    model: torch.nn.Module, encoding: Mapping[str, torch.Tensor], batch_size: int, device: str
) -> Iterator[tuple[int, Any]]:
    """``(first row, model output)`` over an already padded encoding, ``batch_size`` rows at a
    time, without gradients and in fp16 on a GPU (the readers' inference passes)."""
    rows = len(next(iter(encoding.values())))
    use_amp = device.startswith("cuda")
    with torch.inference_mode():
        for lo in range(0, rows, batch_size):
            batch = {k: v[lo : lo + batch_size].to(device) for k, v in encoding.items()}
            with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
                out = model(**batch)
            yield lo, out
