"""A component's transformer run by ONNX Runtime instead of torch: the CPU backend.

The loaded torch model (the overlay already applied) is exported once with ``torch.export``
into a cache keyed by its weight fingerprint, task, opset and onnxruntime version, and every
later load reuses that file. :class:`OnnxModel` is called like the torch model, with the same
keyword tensors, and answers with the same ``transformers`` output class holding torch tensors,
so the components' call sites do not know which backend runs.

Why ``torch.export`` (``dynamo=True``) and not the older TorchScript tracer: ``transformers``
builds the attention mask with Python branches on tensor values, which tracing freezes at the
example input's shapes; its graphs then disagree with torch by whole logits on other lengths.

No int8 variant: dynamic int8 quantisation (``onnxruntime.quantization.quantize_dynamic``)
ran the shipped models about twice as fast again, but on 40 BioASQ 10B questions only 48% of
the exact answers stayed torch's (60% with per-channel scales), dense mrr@10 fell from 0.975
to 0.95 (0.9625) and BC5CDR entity F1 from 0.816 to 0.805 (0.807): not the same system.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qa.atomic import sha256_file, staged_folder, write_text
from qa.errors import QAError

CACHE_ENV = "QA_CACHE_DIR"
OPSET = 18
GRAPH_FILE = "model.onnx"
RECORD_FILE = "qa_onnx.json"
# Outputs each task's components read, in the order its ``transformers`` output class holds
# them; the encoder's pooler is left out, as nothing here reads it.
OUTPUTS = {
    "encoder": ("BaseModelOutput", ("last_hidden_state",)),
    "question-answering": ("QuestionAnsweringModelOutput", ("start_logits", "end_logits")),
    "token-classification": ("TokenClassifierOutput", ("logits",)),
    "sequence-classification": ("SequenceClassifierOutput", ("logits",)),
}
# Inputs the exported graph may take, in the order its ``forward`` is written.
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_dir() -> Path:
    """Where exported graphs are kept: ``$QA_CACHE_DIR/onnx``, else ``~/.cache/qa/onnx``.

    Not beside the shipped model: the package folder may be read-only (site-packages in a
    container, a system install), and one export serves every checkout of the same weights.
    """
    root = os.environ.get(CACHE_ENV)
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "qa") / "onnx"


def cache_key(weights: str, task: str) -> str:
    """The cache folder's name: any change of weights, task, opset or onnxruntime (whose
    optimiser and kernels define what a graph computes) makes a new one."""
    import onnxruntime

    parts = [weights, task, f"opset{OPSET}", f"ort{onnxruntime.__version__}"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def verified(folder: Path) -> dict[str, Any] | None:
    """The record of a cache folder whose files all match their sha256, else None: a damaged
    or half-copied graph is exported again, never run."""
    try:
        record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
        files = record["files"]
        if GRAPH_FILE not in files:
            return None
        for name, digest in files.items():
            if Path(name).name != name or sha256_file(folder / name) != digest:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record


class _Outputs(torch.nn.Module):
    """The model with keyword tensor inputs and a tuple of its task's outputs, which is what
    an exported graph can hold (no ``ModelOutput``, no ``return_dict``)."""

    def __init__(self, model: torch.nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model, self.names = model, names

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        out = self.model(
            input_ids=input_ids, attention_mask=attention_mask, return_dict=True, **extra
        )
        return tuple(out[name] for name in self.names)


def _example(model: torch.nn.Module, tokenizer) -> dict[str, torch.Tensor]:
    """Inputs to export with: two rows of unequal length, so that neither the batch nor the
    sequence axis is 1 (``torch.export`` fixes axes of size 1 as constants)."""
    taken = set(inspect.signature(model.forward).parameters)
    batch = tokenizer(
        ["Which gene is mutated in Rett syndrome?", "MECP2"],
        ["Rett syndrome is caused by mutations in MECP2.", "A gene."],
        padding=True,
        return_tensors="pt",
    )
    return {name: batch[name] for name in INPUTS if name in batch and name in taken}


def export(model: torch.nn.Module, tokenizer, task: str, folder: Path) -> None:
    """Write ``model``'s graph for ``task`` into ``folder``."""
    inputs = _example(model, tokenizer)
    names = OUTPUTS[task][1]
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    log = logging.getLogger("torch.onnx")
    level = log.level
    with warnings.catch_warnings(), torch.no_grad():
        # The exporter reports every axis it renamed, every op it decomposed and every
        # torchvision op it could not register: none of it concerns a text model.
        warnings.simplefilter("ignore")
        log.setLevel(logging.ERROR)
        try:
            program = torch.onnx.export(
                _Outputs(model.float().eval(), names),
                (),
                kwargs=inputs,
                input_names=list(inputs),
                output_names=list(names),
                dynamic_shapes={name: {0: batch, 1: sequence} for name in inputs},
                opset_version=OPSET,
                dynamo=True,
                verbose=False,
            )
        finally:
            log.setLevel(level)
    program.save(str(folder / GRAPH_FILE))


def cached_graph(model: torch.nn.Module, tokenizer, *, weights: str, task: str) -> Path:
    """The folder of the verified graph of ``model``; exported when missing or damaged,
    written whole or not at all."""
    import onnxruntime

    if task not in OUTPUTS:
        raise ValueError(f"No ONNX export for task {task!r}: use one of {', '.join(OUTPUTS)}.")
    out = cache_dir() / cache_key(weights, task)
    if verified(out) is not None:
        return out
    # A first export takes a while (10-30 s for a MiniLM on two cores): say why nothing moves.
    print(f"Exporting a {task} model to ONNX (once, into {out.parent})…", file=sys.stderr)
    # A folder named by a key inside the cache is this module's, damaged or not.
    with staged_folder(out, lambda _: True, "an ONNX cache folder") as tmp:
        export(model, tokenizer, task, tmp)
        files = {f.name: sha256_file(f) for f in sorted(tmp.iterdir()) if f.is_file()}
        record = {
            "format": "qa-onnx",
            "weights": weights,
            "task": task,
            "opset": OPSET,
            "onnxruntime": onnxruntime.__version__,
            "torch": torch.__version__,
            "files": files,
        }
        write_text(tmp / RECORD_FILE, json.dumps(record, indent=2) + "\n")
    return out


def session_options():
    """All graph optimisations; as many intra-op threads as torch uses (it follows
    ``OMP_NUM_THREADS``), so switching backends does not change how many cores a run takes;
    threads that sleep, not spin, between runs."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = max(1, torch.get_num_threads())
    options.inter_op_num_threads = 1
    # Each session has its own thread pool, and by default its threads spin for a while after a
    # run: with five models taking turns on two cores, the idle pools' spinning stole the cores
    # from the one running (annotation of three passages p50 92 ms spinning, 69 ms not; QA.ask
    # 185 ms against 130 ms), for 1 ms more on a lone question encoding.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class OnnxModel:
    """An exported graph, called like the torch model it came from.

    Takes the same keyword tensors (inputs the graph lacks are dropped; a missing
    ``token_type_ids`` is all zeros, as in ``transformers``), ignores ``return_dict`` and other
    options, and returns the task's ``ModelOutput`` (attribute and ``[0]`` access) of CPU
    tensors. ``config`` is the torch model's. It only infers: training needs the torch model.
    """

    def __init__(self, folder: Path, config, task: str) -> None:
        import onnxruntime
        import transformers.modeling_outputs as outputs

        self.folder, self.config, self.task = folder, config, task
        self.session = onnxruntime.InferenceSession(
            str(folder / GRAPH_FILE), session_options(), providers=["CPUExecutionProvider"]
        )
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._output_class = getattr(outputs, OUTPUTS[task][0])

    device = torch.device("cpu")
    dtype = torch.float32

    def __call__(self, input_ids: torch.Tensor | None = None, **inputs: Any):
        if input_ids is None:
            raise TypeError("OnnxModel needs input_ids (token ids, as the tokenizer gives).")
        given = {"input_ids": input_ids, **inputs}
        if "token_type_ids" in self.input_names and given.get("token_type_ids") is None:
            given["token_type_ids"] = torch.zeros_like(input_ids)
        if given.get("attention_mask") is None:
            given["attention_mask"] = torch.ones_like(input_ids)
        feed = {
            name: given[name].detach().cpu().numpy().astype(np.int64, copy=False)
            for name in self.input_names
        }
        values = self.session.run(self.output_names, feed)
        return self._output_class(
            **{name: torch.from_numpy(v) for name, v in zip(self.output_names, values)}
        )

    forward = __call__

    def eval(self) -> OnnxModel:
        return self

    def train(self, mode: bool = True) -> OnnxModel:
        if mode:
            raise QAError(
                "This model runs on ONNX Runtime, which only infers: build the component with "
                'backend "torch" to train it.'
            )
        return self


def onnx_model(model: torch.nn.Module, tokenizer, *, weights: str, task: str) -> OnnxModel:
    """``model`` (loaded, overlay applied) as an :class:`OnnxModel`, from the cache when the
    same weights were exported before."""
    folder = cached_graph(model, tokenizer, weights=weights, task=task)
    return OnnxModel(folder, model.config, task)
