"""A sentence encoder as sentence-transformers builds one, around a transformer loaded here.

A sentence-transformers model is a folder of modules listed in ``modules.json``: the transformer,
then a pooling rule, often L2 normalisation, sometimes a dense projection. The transformer of a
component comes from :func:`qa.modelhub.load.load_model` (an overlay applied over its base) and
may later be swapped for another backend's runner, so it cannot be sentence-transformers' own
``Transformer`` module, which loads its weights itself: :class:`LoadedTransformer` is the input
module that runs the component's transformer instead. The modules after it are read from the
base model's folder (local, packaged, or a hub id through the hub cache) by sentence-transformers'
own loaders, so pooling is data, as the folder says, not code.

Importing this module imports sentence-transformers (seconds); callers import it when they load.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import InputModule, Normalize
from sentence_transformers.sentence_transformer.model_card import SentenceTransformerModelCardData
from sentence_transformers.sentence_transformer.modules import Pooling
from sentence_transformers.util import import_module_class, load_file_path

from qa.errors import ModelLoadError

# What a batch of inputs holds: texts, or (title, text) pairs for an article encoder.
TextInput = str | tuple[str, str]


class LoadedTransformer(InputModule):
    """sentence-transformers' input module over a transformer loaded elsewhere.

    It tokenises texts or (first, second) pairs and runs ``model``: a torch module (registered
    as a child, so a trainer sees its weights), or any callable that returns a ``transformers``
    ModelOutput, such as an ONNX Runtime session's wrapper.
    """

    def __init__(self, model: Any, tokenizer: Any, max_seq_length: int) -> None:
        super().__init__()
        self.auto_model = model
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length

    def preprocess(
        self,
        inputs: Sequence[TextInput],
        prompt: str | None = None,
        max_length: int | None = None,
        processing_kwargs: dict | None = None,
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """Token ids of a batch. The length is the caller's ``max_length`` (the trainer's data
        collator), else ``processing_kwargs["text"]["max_length"]`` (what ``encode`` forwards),
        else the encoder's ``max_seq_length``."""
        length = (
            max_length
            or ((processing_kwargs or {}).get("text") or {}).get("max_length")
            or self.max_seq_length
        )
        if prompt:
            inputs = [(prompt + x[0], x[1]) if _is_pair(x) else prompt + x for x in inputs]
        return _tokenize(self.tokenizer, inputs, length)

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        inputs = {
            k: features[k]
            for k in ("input_ids", "attention_mask", "token_type_ids")
            if k in features
        }
        # Index 0 is the last hidden state for a torch ModelOutput, a tuple and a backend's
        # wrapper alike.
        features["token_embeddings"] = self.auto_model(**inputs)[0]
        return features

    def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "A loaded transformer is saved as an overlay (qa.modelhub.load.save_overlay), not by "
            "sentence-transformers."
        )


def _is_pair(x: TextInput) -> bool:
    return isinstance(x, (tuple, list))


def _tokenize(tokenizer: Any, inputs: Sequence[TextInput], length: int) -> dict[str, torch.Tensor]:
    settings = {"truncation": "longest_first", "max_length": length}
    pairs = [_is_pair(x) for x in inputs]
    if all(pairs):
        first, second = zip(*inputs)
        batch = tokenizer(list(first), list(second), padding=True, return_tensors="pt", **settings)
    elif not any(pairs):
        batch = tokenizer(list(inputs), padding=True, return_tensors="pt", **settings)
    else:  # articles with and without a title: each row as it is, padded together
        rows = [
            tokenizer(*x, **settings) if p else tokenizer(x, **settings)
            for x, p in zip(inputs, pairs)
        ]
        batch = tokenizer.pad(rows, return_tensors="pt")
    return dict(batch)


def _modules_json(path: str, revision: str | None) -> list[dict] | None:
    """The folder's (or hub id's) ``modules.json``, None when it has none (a plain transformer)."""
    try:
        found = load_file_path(path, "modules.json", revision=revision)
    except Exception as exc:  # the hub's own errors: offline, gated, rate-limited
        raise ModelLoadError(
            f"Could not read modules.json of {path}: {exc}. Check the hub id, or download the "
            "model once where the hub is reachable."
        ) from exc
    return None if found is None else json.loads(Path(found).read_text(encoding="utf-8"))


def sentence_modules(
    path: str, hidden_size: int, pooling: str = "", revision: str | None = None
) -> list[torch.nn.Module]:
    """The modules after the transformer, as the model at ``path`` (at a hub ``revision``)
    lists them (mean pooling when it lists none, as sentence-transformers does for a plain
    transformer), with the ``pooling`` a profile names (any of sentence-transformers' modes) in
    place of the folder's, and L2 normalisation last."""
    entries = _modules_json(path, revision)
    if entries is None:
        modules: list[torch.nn.Module] = [Pooling(hidden_size, "mean")]
    else:
        if not entries or not entries[0]["type"].endswith(".Transformer"):
            first = entries[0]["type"] if entries else "nothing"
            raise ModelLoadError(
                f"{path}/modules.json starts with {first}, not a transformer: only transformer "
                "sentence encoders are supported."
            )
        modules = [_load_module(path, entry, revision) for entry in entries[1:]]
    if pooling:
        modules = [
            Pooling(m.embedding_dimension, pooling) if isinstance(m, Pooling) else m
            for m in modules
        ]
    # Indexes search by inner product and the summariser compares cosines: every vector must be
    # a unit vector, whether or not the model was published with a Normalize module.
    if not modules or not isinstance(modules[-1], Normalize):
        modules.append(Normalize())
    return modules


def _load_module(path: str, entry: dict, revision: str | None) -> torch.nn.Module:
    try:
        module_class = import_module_class(entry["type"], path)
        return module_class.load(path, subfolder=entry["path"], revision=revision)
    except (ImportError, OSError, ValueError) as exc:
        raise ModelLoadError(
            f"Could not load the {entry['type']} module of {path}: {exc}. Only "
            "sentence-transformers' own modules are loaded (no remote code)."
        ) from exc


def pooling_of(modules: Sequence[torch.nn.Module]) -> str:
    """The pooling rule of the modules (``mean``, ``cls``, ...), empty when there is none."""
    found = [m.pooling_mode for m in modules if isinstance(m, Pooling)]
    return str(found[0]) if found else ""


def output_dimension(modules: Sequence[torch.nn.Module], hidden_size: int) -> int:
    """The vector size after the modules (a pooling or a dense layer may change it)."""
    for module in reversed(modules):
        size = getattr(module, "get_embedding_dimension", None)
        if callable(size):
            return int(size())
    return hidden_size


def sentence_transformer(
    model: Any,
    tokenizer: Any,
    modules: Sequence[torch.nn.Module],
    *,
    device: str,
    max_seq_length: int,
) -> SentenceTransformer:
    """A SentenceTransformer whose transformer is ``model`` and whose other modules are
    ``modules`` (from :func:`sentence_modules`)."""
    return SentenceTransformer(
        modules=[LoadedTransformer(model, tokenizer, max_seq_length), *modules],
        device=device,
        # Model-card data would otherwise look the base model up on the hub.
        model_card_data=SentenceTransformerModelCardData(local_files_only=True),
    )
