"""Building a model from a spec for a task, and saving a trained one as an overlay.

Every component and trainer gets its tokenizer and model from :func:`load_model`: an overlay is
applied over its base bit for bit (an overlay of the same kind of head, with the head's labels
from ``qa_overlay.json``), a checkpoint trained for another job is refused before any weights
load, and a trainer's starting point gets a fresh head (or one relabelled) for its labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from qa.atomic import refuse_foreign, save_tensors, staged_folder
from qa.errors import ModelLoadError
from qa.modelhub import (
    OVERLAY_FILE,
    OVERLAY_WEIGHTS,
    ModelLocation,
    locate,
    overlay_info,
    root_base,
)
from qa.modelhub.checksum import check_base, weights_sha256


@dataclass(frozen=True)
class Task:
    """A kind of head: the ``transformers`` auto class that builds it and how configs name it."""

    auto_class: str
    head: str  # what a config's ``architectures`` entry holds when the model has this head
    labelled: bool  # whether the head's outputs are named labels (``id2label``)


TASKS = {
    "encoder": Task("AutoModel", "", False),
    "question-answering": Task("AutoModelForQuestionAnswering", "ForQuestionAnswering", False),
    "token-classification": Task("AutoModelForTokenClassification", "ForTokenClassification", True),
    "sequence-classification": Task(
        "AutoModelForSequenceClassification", "ForSequenceClassification", True
    ),
}


@dataclass(frozen=True)
class Kind:
    """What a trainer saves (``kind`` in ``qa_overlay.json``) and how a user gets one."""

    task: str
    what: str
    hint: str  # may name ``{spec}``


KINDS = {
    "sentence-encoder": Kind("encoder", "a sentence encoder", "train one with qa train embedder"),
    "reader": Kind(
        "question-answering",
        "a question-answering model",
        "use a checkpoint with a span head, e.g. dmis-lab/biobert-base-cased-v1.1-squad@main, or "
        "train one with qa train reader",
    ),
    "yesno": Kind(
        "sequence-classification",
        "a yes/no classifier",
        "point the profile's [reader] yesno_model at one trained by qa train yesno",
    ),
    "ner": Kind(
        "token-classification",
        "a token-classification (NER) model",
        "fine-tune it first with qa train ner --base {spec} ..., or point at a checkpoint saved "
        "as ...ForTokenClassification with BIO labels in id2label",
    ),
    "relations": Kind(
        "sequence-classification",
        "a relation classifier",
        "train one with `qa train relations --base {spec} --corpora ... -o DIR` and point at DIR",
    ),
}


# Config keys with this prefix are the project's settings of how a model was trained: they live
# in the model's config, so an overlay records them and an export keeps them in config.json, and
# whoever reads the model finds them there.
PROJECT_CONFIG_PREFIX = "qa_"
YESNO_JOINED = "qa_yesno_joined"  # a yes/no model trained on joined passages (qa.read.yesno)
TRAINED_LENGTH = "qa_max_seq_length"  # a relation model's input length (qa.annotate.relations)
# Where overlays of a kind, saved before their config held its setting, kept it.
_OLDER_SETTINGS = {
    YESNO_JOINED: ("yesno", lambda info: info.get("metrics", {}).get("joined")),
    TRAINED_LENGTH: ("relations", lambda info: info.get("max_seq_length")),
}


def overlay_config(location: ModelLocation) -> dict:
    """Config settings an overlay changes on its base (labels of a classification head, the
    project's settings, also from where an older overlay kept them)."""
    info = overlay_info(location)
    older = {
        k: read(info) for k, (kind, read) in _OLDER_SETTINGS.items() if info.get("kind") == kind
    }
    config = {**{k: v for k, v in older.items() if v is not None}, **(info.get("config") or {})}
    if "id2label" in config:  # JSON keys are strings; transformers wants ints
        config = {**config, "id2label": {int(k): v for k, v in config["id2label"].items()}}
    return config


def pinned(location: ModelLocation) -> dict[str, str]:
    """``from_pretrained``'s ``revision`` for a hub model (a local folder has none)."""
    return {"revision": location.revision} if location.revision else {}


def model_config(location: ModelLocation):
    """The ``transformers`` config of a model (an overlay's base with the overlay's labels),
    read without loading any weights."""
    from transformers import AutoConfig

    root = locate(location.overlay_base) if location.overlay_base else location
    try:
        return _with_settings(
            AutoConfig.from_pretrained(root.path, **pinned(root)), overlay_config(location)
        )
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"Could not read a model config from {root.path}: {exc}") from exc


def _with_settings(config, settings: dict):
    """``config`` with ``settings`` set on it: ``from_pretrained``'s keyword arguments would
    drop the keys its config class does not know, such as the project's own."""
    config.update(settings)
    return config


def require_kind(location: ModelLocation, kind: str) -> None:
    """Refuse, before loading weights, a model trained for another job: an overlay of another
    kind (a reader where a yes/no model belongs), or a checkpoint without the kind's head."""
    expected = KINDS[kind]
    hint = expected.hint.format(spec=location.spec)
    if location.overlay_base:
        found = overlay_info(location).get("kind")
        if found != kind:
            raise ModelLoadError(
                f"{location.path} is a {found} overlay, not {expected.what}: {hint}."
            )
        return
    if not _has_head(location, expected.task):
        architectures = getattr(model_config(location), "architectures", None) or []
        raise ModelLoadError(
            f"{location.spec} is not {expected.what}: it has no {expected.task} head (its config "
            f"names {', '.join(architectures) or 'no architecture'}); {hint}."
        )


def _has_head(location: ModelLocation, task: str) -> bool:
    """Whether the model already has a head for ``task``: an overlay saved with one, or a
    checkpoint whose config names it (a plain encoder needs none)."""
    if location.overlay_base:
        found = KINDS.get(overlay_info(location).get("kind", ""))
        return found is not None and found.task == task
    if not TASKS[task].head:
        return True
    architectures = getattr(model_config(location), "architectures", None) or []
    return any(TASKS[task].head in a for a in architectures)


def require_fast_tokenizer(tokenizer, spec: str) -> None:
    """Character offsets come from a fast tokenizer's offset mapping; a slow one has none."""
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(
            f"{spec} has no fast tokenizer (tokenizer.json): character offsets need one."
        )


def load_model(
    spec: str, task: str, *, kind: str = "", labels: Sequence[str] | None = None
) -> tuple[Any, torch.nn.Module]:
    """Tokenizer and model of ``spec`` with a ``task`` head, an overlay applied over its base.

    With ``kind`` (inference) the model must already be one: an overlay saved by that trainer,
    or a checkpoint with the task's head. Without it (a trainer's starting point) any model
    will do: a missing head starts fresh, with ``labels`` for a classification head; a head
    with other labels keeps the rows of the labels both share.
    """
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}: use one of {', '.join(TASKS)}.")
    location = locate(spec)
    if location.overlay_base:
        check_base(location)
    if kind:
        if KINDS[kind].task != task:
            raise ValueError(f"A {kind} model has a {KINDS[kind].task} head, not {task}.")
        require_kind(location, kind)
    has_head = _has_head(location, task)
    if labels is not None and not has_head:
        settings = {"id2label": dict(enumerate(labels)), "label2id": _label_ids(labels)}
    else:
        settings = overlay_config(location) if has_head else {}
    tokenizer, model = _from_pretrained(location, task, settings)
    if location.overlay_base:
        apply_overlay(model, Path(location.path) / OVERLAY_WEIGHTS, strict=has_head)
    if labels is not None and has_head:
        relabel_head(model, list(labels), spec)
    return tokenizer, model


def _label_ids(labels: Sequence[str]) -> dict[str, int]:
    return {label: i for i, label in enumerate(labels)}


def _from_pretrained(location: ModelLocation, task: str, settings: dict):
    import transformers

    model_class = getattr(transformers, TASKS[task].auto_class)
    base = locate(location.overlay_base) if location.overlay_base else location
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(base.path, **pinned(base))
        config = transformers.AutoConfig.from_pretrained(base.path, **pinned(base))
        settings = {**pinned(base), "config": _with_settings(config, settings)}
        if not location.overlay_base:
            return tokenizer, model_class.from_pretrained(base.path, **settings)
        # The base lacks the overlay's head; transformers would report it as missing although
        # the overlay fills it in the next step.
        level = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()
        try:
            return tokenizer, model_class.from_pretrained(base.path, **settings)
        finally:
            transformers.logging.set_verbosity(level)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"Could not load a transformer from {base.spec}: {exc}. Check that the folder (or "
            "hub id) holds a complete model, and that the hub was reachable the first time."
        ) from exc


def apply_overlay(model: torch.nn.Module, weights: Path, *, strict: bool = True) -> None:
    """Copy an overlay's weights into a model built from its base.

    Names may differ by the model's prefix (an encoder overlay saved from ``AutoModel`` onto a
    classifier's ``bert.``). Not ``strict`` (a trainer starting from an overlay of another
    task), weights of the other task's head are left out.
    """
    from safetensors.torch import load_file

    if not weights.is_file():
        raise ModelLoadError(f"{weights} is missing: the shipped overlay is incomplete.")
    own = model.state_dict()
    prefix = f"{getattr(model, 'base_model_prefix', '')}."
    copied = 0
    with torch.no_grad():
        for name, tensor in load_file(str(weights)).items():
            target = name if name in own else prefix + name
            if target not in own and name.startswith(prefix):
                target = name[len(prefix) :]
            fits = target in own and own[target].shape == tensor.shape
            if not fits and strict:
                raise ModelLoadError(
                    f"{weights} does not fit its base model ({name} is missing there or of "
                    "another shape): retrain it or restore the matching base."
                )
            if fits:
                own[target].copy_(tensor.to(own[target].dtype))
                copied += 1
    if not copied:
        raise ModelLoadError(f"None of the weights of {weights} fit its base model.")


def relabel_head(model: torch.nn.Module, labels: list[str], spec: str) -> None:
    """Give a classification head ``labels``: rows of labels it already has are kept (continued
    training), new labels start fresh."""
    old = [str(model.config.id2label.get(i, "")) for i in range(len(model.config.id2label))]
    if old == labels:
        return
    head = getattr(model, "classifier", None)
    if not isinstance(head, torch.nn.Linear):
        raise ModelLoadError(
            f"{spec}: its classification head is not a linear 'classifier' layer, so its labels "
            "cannot be replaced; start from the plain encoder instead."
        )
    new = torch.nn.Linear(head.in_features, len(labels))
    std = float(getattr(model.config, "initializer_range", 0.02))
    with torch.no_grad():
        new.weight.normal_(0.0, std)
        new.bias.zero_()
        for i, label in enumerate(labels):
            if label in old:
                new.weight[i] = head.weight[old.index(label)]
                new.bias[i] = head.bias[old.index(label)]
    model.classifier = new
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = _label_ids(labels)
    model.num_labels = len(labels)


# What a folder this project trained holds: an overlay's, or the question-type classifier's
# (``qa.read.qtype.META_FILE``). Only such a folder (or an empty one) is replaced by a trainer.
MODEL_MARKERS = (OVERLAY_FILE, "qtype.json")


def is_model_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a model a ``qa train`` command wrote."""
    return any((Path(folder) / name).is_file() for name in MODEL_MARKERS)


def check_model_output(out: str | Path) -> None:
    """Refuse, before any training, an output folder a trainer would not be allowed to replace
    (a user's non-empty folder, a file)."""
    refuse_foreign(out, is_model_folder, "a model folder")


def save_overlay(
    model: torch.nn.Module,
    out: str | Path,
    *,
    base: str,
    kind: str,
    frozen: Iterable[str] = (),
    card: str = "",
    meta: dict[str, Any] | None = None,
) -> None:
    """Store the trained weights (fp16, frozen ones left out) over the root of ``base``.

    A classification head's labels and the project's config settings
    (:data:`PROJECT_CONFIG_PREFIX`) go into ``qa_overlay.json``: :func:`load_model` applies them
    to the base's config before it builds the model, and so does the sha256 of the base's
    weights, which it checks (:mod:`qa.modelhub.checksum`). The folder is written beside ``out``
    and moved into place whole (:func:`qa.atomic.staged_folder`): an interrupted save leaves the
    previous model or nothing, and a folder the project did not write is refused.
    """
    frozen = tuple(frozen)
    root = root_base(base)
    digest = weights_sha256(locate(root))  # checked on load (empty for a hub base: not checked)
    info = {"base": root, **({"base_sha256": digest} if digest else {}), "trained_from": base}
    info = {**info, "kind": kind, **(meta or {})}
    config = {
        k: v for k, v in model.config.to_dict().items() if k.startswith(PROJECT_CONFIG_PREFIX)
    }
    if TASKS[KINDS[kind].task].labelled:
        labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]
        config["id2label"] = {str(i): label for i, label in enumerate(labels)}
        config["label2id"] = dict(model.config.label2id)
    if config:
        info["config"] = config
    with staged_folder(out, is_model_folder, "a model folder") as tmp:
        tensors = {
            name: t.detach().to("cpu", torch.float16).contiguous()
            for name, t in model.state_dict().items()
            if not (frozen and name.startswith(frozen))
        }
        save_tensors(tensors, tmp / OVERLAY_WEIGHTS)
        (tmp / OVERLAY_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        if card:
            (tmp / "README.md").write_text(card, encoding="utf-8")
