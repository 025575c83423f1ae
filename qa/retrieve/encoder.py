"""A sentence encoder: a transformer, a pooling rule and L2 normalisation.

Written over ``transformers`` directly (not sentence-transformers) so that one module serves
encoding, fine-tuning and asymmetric models such as MedCPT with the same code. Pooling comes
from the model folder's sentence-transformers config (``1_Pooling/config.json``) unless the
profile names one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from qa.errors import ModelLoadError
from qa.modelhub import locate
from qa.modelhub.component import ModelComponent
from qa.modelhub.load import model_config


def _pooling_of(path: str, requested: str) -> str:
    if requested:
        if requested not in {"mean", "cls"}:
            raise ModelLoadError(f"Pooling {requested!r} is not supported: use mean or cls.")
        return requested
    config = Path(path) / "1_Pooling" / "config.json"
    if config.is_file():
        data = json.loads(config.read_text(encoding="utf-8"))
        if data.get("pooling_mode_cls_token"):
            return "cls"
    return "mean"


class SentenceEncoder(ModelComponent):
    """Encode texts into unit vectors whose inner product is their cosine similarity."""

    half_on_gpu = True

    def __init__(
        self,
        spec: str,
        *,
        device: str = "auto",
        max_seq_length: int = 256,
        pooling: str = "",
    ) -> None:
        self._settle(spec, device)
        base_path = (
            locate(self.location.overlay_base).path
            if self.location.overlay_base
            else self.location.path
        )
        self.pooling = _pooling_of(base_path, pooling)
        self.max_seq_length = max_seq_length

    @property
    def dim(self) -> int:
        """The vector size, read from the config when the weights are not loaded yet."""
        config = self._model.config if self._model is not None else model_config(self.location)
        return int(config.hidden_size)

    def embed(self, texts: Sequence[str], max_length: int | None = None) -> torch.Tensor:
        """Pooled, normalised embeddings of one batch, with gradients (used by training)."""
        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=max_length or self.max_seq_length,
            return_tensors="pt",
        ).to(self.device)
        out = self.model(**batch).last_hidden_state
        if self.pooling == "cls":
            pooled = out[:, 0]
        else:
            mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
            pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled.float(), dim=-1)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        max_length: int | None = None,
        show_progress: bool = False,
        desc: str = "Encoding",
    ) -> np.ndarray:
        """Encode many texts, batched by similar length so little is spent on padding."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        self.model.eval()
        with (
            torch.inference_mode(),
            tqdm(total=len(texts), desc=desc, unit="text", disable=not show_progress) as bar,
        ):
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                vectors = self.embed([texts[i] for i in idx], max_length=max_length)
                result[idx] = vectors.cpu().numpy()
                bar.update(len(idx))
        return result
