"""Models a profile expects this project to have trained, and the command that trains each.

A profile may name a reader that does not ship (``[reader] model``) beside the base it is
trained from (``[reader] model_base``). Without this check such a profile would build an index
and load its encoder, then fail at the first question; here it is refused before any of that,
with the one command that produces the missing model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from qa.config import Profile
from qa.errors import ModelLoadError
from qa.modelhub import MODELS_DIR, OVERLAY_FILE

# The data `qa train reader` learns from, as the README's ClinicalBERT section spells it out.
READER_DATA = "--train BIOASQ_4B-9B_GOLDEN.json... --dev BIOASQ_10B_GOLDEN.json..."


def trained_folder(spec: str) -> Path:
    """Where a model this project trains lives: ``qa-models:NAME`` under the shipped models,
    anything else the local folder it names (never a hub id: it is written here)."""
    if spec.startswith("qa-models:"):
        return MODELS_DIR / spec.split(":", 1)[1]
    return Path(spec).expanduser()


def _shown(folder: Path) -> str:
    """``folder`` relative to the working directory when it lies inside it: a shorter line."""
    absolute = folder.resolve()
    try:
        return str(absolute.relative_to(Path(os.getcwd()).resolve()))
    except ValueError:
        return str(absolute)


def require_trained(profile: Profile) -> None:
    """Refuse a profile whose reader is still to be trained from its ``model_base``; a cheap
    look at the file system, so every command runs it before reading an index or a model."""
    reader = profile.reader
    if not reader.model or not reader.model_base:
        return
    folder = trained_folder(reader.model)
    command = f"qa train reader --base {reader.model_base} {READER_DATA} -o {_shown(folder)}"
    if (folder / "config.json").is_file():
        return  # a full model put there by hand: its base is its own business
    if not (folder / OVERLAY_FILE).is_file():
        raise ModelLoadError(
            f"Profile {profile.name}: its reader is not trained yet; run {command}"
        )
    # An overlay is laid over the base it records; one on another base (or another revision of
    # it) is not the reader this profile describes. A damaged file is locate()'s to report.
    try:
        found = json.loads((folder / OVERLAY_FILE).read_text(encoding="utf-8")).get("base")
    except (OSError, ValueError, AttributeError):
        return
    if found and found != reader.model_base:
        shown = _shown(folder)
        raise ModelLoadError(
            f"Profile {profile.name}: its reader {shown} is an overlay on {found}, not on its "
            f'model_base {reader.model_base}: set model_base = "{found}", or retrain it with '
            f"qa train reader --base {reader.model_base} ... -o {shown}"
        )
