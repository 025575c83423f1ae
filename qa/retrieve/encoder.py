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

from qa.config import resolve_device
from qa.errors import ModelLoadError
from qa.modelhub import OVERLAY_FILE, ModelLocation, locate, revision

OVERLAY_WEIGHTS = "overlay.safetensors"


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


def overlay_config(location: ModelLocation) -> dict:
    """Config settings an overlay changes on its base (labels of a classification head)."""
    if not location.overlay_base:
        return {}
    info = json.loads((Path(location.path) / OVERLAY_FILE).read_text(encoding="utf-8"))
    config = info.get("config") or {}
    if "id2label" in config:  # JSON keys are strings; transformers wants ints
        config = {**config, "id2label": {int(k): v for k, v in config["id2label"].items()}}
    return config


def load_transformer(location: ModelLocation, model_class=None):
    """Tokenizer and model (``AutoModel`` unless told) with an overlay applied over its base.

    An overlay's ``config`` entry (e.g. ``id2label`` of a token- or sequence-classification
    head) is applied to the base's config before the model is built.
    """
    from transformers import AutoModel, AutoTokenizer

    model_class = model_class or AutoModel
    base = locate(location.overlay_base) if location.overlay_base else location
    try:
        tokenizer = AutoTokenizer.from_pretrained(base.path)
        if location.overlay_base:
            # The base lacks the overlay's head; transformers would report it as missing
            # although the overlay fills it in the next step.
            from transformers.utils import logging as hf_logging

            level = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            try:
                model = model_class.from_pretrained(base.path, **overlay_config(location))
            finally:
                hf_logging.set_verbosity(level)
        else:
            model = model_class.from_pretrained(base.path)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"Could not load a transformer from {base.path}: {exc}. Check that the folder (or "
            "hub id) holds a complete model, and that the hub was reachable the first time."
        ) from exc
    if location.overlay_base:
        apply_overlay(model, Path(location.path) / OVERLAY_WEIGHTS)
    return tokenizer, model


def apply_overlay(model: torch.nn.Module, weights: Path) -> None:
    from safetensors.torch import load_file

    if not weights.is_file():
        raise ModelLoadError(f"{weights} is missing: the shipped overlay is incomplete.")
    tensors = load_file(str(weights))
    own = model.state_dict()
    unknown = sorted(set(tensors) - set(own))
    if unknown:
        raise ModelLoadError(
            f"{weights} does not fit its base model (unknown weights such as {unknown[0]}): "
            "retrain it or restore the matching base."
        )
    with torch.no_grad():
        for name, tensor in tensors.items():
            own[name].copy_(tensor.to(own[name].dtype))


class SentenceEncoder:
    """Encode texts into unit vectors whose inner product is their cosine similarity."""

    def __init__(
        self,
        spec: str,
        *,
        device: str = "auto",
        max_seq_length: int = 256,
        pooling: str = "",
    ) -> None:
        self.location = locate(spec)
        self.spec = spec
        self.revision = revision(self.location)
        self.tokenizer, self.model = load_transformer(self.location)
        base_path = (
            locate(self.location.overlay_base).path
            if self.location.overlay_base
            else self.location.path
        )
        self.pooling = _pooling_of(base_path, pooling)
        self.max_seq_length = max_seq_length
        self.device = resolve_device(device)
        self.model.to(self.device)
        if self.device.startswith("cuda"):
            self.model.half()
        self.model.eval()

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

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
