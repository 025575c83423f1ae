"""The base of every component that runs a transformer: settings in ``__init__``, weights in
``warm_up()`` (Haystack's split).

A constructor only stores settings and checks the spec (that it exists and holds the right kind
of model: a config read, no weights), so a pipeline can be assembled, checked and printed
without loading anything; ``warm_up()`` loads the weights once, and ``tokenizer`` / ``model``
call it on first use, so callers that never heard of it keep working.

``with_backend("onnx")`` runs the loaded model on ONNX Runtime (:mod:`qa.modelhub.onnx`) when
the device is a CPU; the components' call sites stay the same.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import torch

from qa.config import BACKENDS, resolve_device
from qa.errors import check_choice
from qa.modelhub import ModelLocation, locate
from qa.modelhub import revision as weights_revision
from qa.modelhub.load import load_model, require_fast_tokenizer, require_kind


class ModelComponent:
    """Subclasses set ``task`` and ``kind`` (see :data:`qa.modelhub.load.KINDS`) and call
    :meth:`_settle` in their constructor."""

    task = "encoder"
    kind = ""
    half_on_gpu = False  # fp16 weights on a GPU (inference only; readers use fp16 autocast)
    needs_offsets = False  # character offsets need a fast tokenizer
    spec: str
    location: ModelLocation | None
    device: str
    # torch unless a factory says otherwise: trainers build components and train through them.
    backend = "torch"
    _tokenizer: Any = None
    _model: torch.nn.Module | None = None

    def _settle(self, spec: str, device: str) -> None:
        """Store the spec, checked (it exists and holds a model of this kind: a config read,
        no weights), and the device."""
        self.spec = spec
        self.location = locate(spec)
        if self.kind:
            require_kind(self.location, self.kind)
        self.device = resolve_device(device)

    @cached_property
    def revision(self) -> str:
        """The fingerprint of the weights that index manifests record; it reads part of each
        weight file, so it is worked out when first asked for, not at construction."""
        return weights_revision(self.location) if self.location is not None else ""

    def with_backend(self, backend: str) -> ModelComponent:
        """Run on ``backend`` (torch, onnx) from the next load on; returns self."""
        check_choice("backend", backend, BACKENDS)
        if backend != self.backend:
            self.backend, self._model = backend, None  # loaded again, on the new backend
        return self

    def warm_up(self) -> None:
        """Load the weights (once); every public method calls it first."""
        if self._model is None:
            tokenizer, model = load_model(self.spec, self.task, kind=self.kind)
            self._attach(tokenizer, model, half=self.half_on_gpu)

    def _attach(self, tokenizer, model: torch.nn.Module, *, half: bool) -> None:
        if self.needs_offsets:
            require_fast_tokenizer(tokenizer, self.spec)
        model.to(self.device)
        if half and self.device.startswith("cuda"):
            model.half()
        self._tokenizer, self._model = tokenizer, model.eval()
        if self.backend != "torch":
            self._model = self._on_onnx(tokenizer, model)

    def _on_onnx(self, tokenizer, model: torch.nn.Module):
        """``model`` on ONNX Runtime, or left on torch where ONNX is not the better choice."""
        # On a GPU torch fp16 stays: ONNX Runtime's CUDA provider has not measured faster yet.
        # A model with no weights fingerprint (a trainer's, in memory) has no cache key, and
        # training goes on after its dev evaluation.
        if not self.device.startswith("cpu") or self.location is None:
            return model
        from qa.modelhub.onnx import onnx_model

        weights = self.revision
        if not self.location.local:  # a hub id's revision names no weights; its id does
            weights = f"{self.spec}@{getattr(model.config, '_commit_hash', None)}"
        return onnx_model(model, tokenizer, weights=weights, task=self.task)

    @property
    def tokenizer(self):
        self.warm_up()
        return self._tokenizer

    @property
    def model(self) -> torch.nn.Module:
        self.warm_up()
        return self._model

    @model.setter
    def model(self, model: torch.nn.Module) -> None:
        """Swap in another model (tests put an oracle in the trained head's place)."""
        self.warm_up()
        self._model = model
