"""An index's ``manifest.json``: how an index is recognised, and the schema it is checked against.

A folder is an index this project wrote when its manifest carries the format marker
(``"format": "qa-index"``), or, for indexes built before the marker existed, the keys every
manifest has had (``format_version``, ``files`` and ``profile``). A file merely named
``manifest.json`` (a web app's) does not make a folder an index, so it is never replaced.

Loading checks the manifest against its schema before using any of it: a damaged but valid
JSON manifest (a key missing, a value of the wrong type, a file name pointing outside the
folder) is reported by key, with the command that rebuilds the index, never as a Python error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from qa.config import profile_from_dict
from qa.errors import ConfigError, IndexStoreError

FORMAT = "qa-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
BM25_DIR = "bm25"
FAISS_FILE = "dense.faiss"
LEGACY_KEYS = ("format_version", "files", "profile")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def parsed_manifest(folder: Path) -> Any:
    """The parsed manifest of ``folder``, or None when there is none or it is not JSON."""
    path = folder / MANIFEST
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def is_index_manifest(manifest: Any) -> bool:
    """Whether a parsed manifest is one this project writes (or wrote before the marker)."""
    if not isinstance(manifest, dict):
        return False
    if "format" in manifest:
        return manifest["format"] == FORMAT
    return all(key in manifest for key in LEGACY_KEYS)


def is_index(folder: Path) -> bool:
    """Whether ``folder`` holds an index this project wrote (damaged or not): the only kind of
    folder ``qa index build -o`` replaces, besides an empty one."""
    return is_index_manifest(parsed_manifest(Path(folder)))


def rebuild_hint(folder: Path, manifest: Any = None) -> str:
    """The command that rebuilds the index of ``folder`` (with its profile's name, when known);
    for a folder that cannot be told to be an index, how to make room for one first."""
    profile = manifest.get("profile") if isinstance(manifest, dict) else None
    name = profile.get("name") if isinstance(profile, dict) else None
    name = name if isinstance(name, str) and name else "PROFILE"
    command = f"qa index build PASSAGES.jsonl -o {folder} --profile {name}"
    if is_index(folder):
        return f"rebuild it with: {command}"
    return f"if it is an index, move it away and rebuild it with: {command}"


def _fail(folder: Path, key: str, problem: str, manifest: Any) -> IndexStoreError:
    return IndexStoreError(
        f"{folder}/{MANIFEST} is damaged: {key} {problem}; " + rebuild_hint(folder, manifest)
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# key -> (does a value fit, what the message says it must be)
_TOP: dict[str, tuple[Any, str]] = {
    "format_version": (_is_int, "must be a whole number"),
    "profile": (lambda v: isinstance(v, dict), "must be an object (the profile's settings)"),
    "embedder": (lambda v: isinstance(v, dict), "must be an object (the embedder's identity)"),
    "passages": (lambda v: _is_int(v) and v > 0, "must be the number of passages (above 0)"),
    "corpus_sha256": (lambda v: isinstance(v, str), "must be a text (a sha256)"),
    "built_at": (lambda v: isinstance(v, str), "must be a text (a date)"),
    "build_seconds": (
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "must be a number",
    ),
    "files": (lambda v: isinstance(v, dict) and bool(v), "must be an object of file checksums"),
}
_EMBEDDER: dict[str, tuple[Any, str]] = {
    "model": (lambda v: isinstance(v, str) and bool(v), "must be the model's name"),
    "revision": (lambda v: isinstance(v, str), "must be a text"),
    "dim": (lambda v: _is_int(v) and v > 0, "must be the vector size (above 0)"),
}
_EMBEDDER_OPTIONAL = ("passage_model", "passage_revision", "pooling")


def validate_manifest(folder: Path, manifest: Any) -> dict[str, Any]:
    """``manifest`` checked against the schema, its profile filled in with the defaults of
    settings added since it was built; raises an :class:`IndexStoreError` naming the first key
    that is missing or wrong."""
    if not isinstance(manifest, dict):
        raise _fail(folder, "its top level", "must be an object", manifest)
    if manifest.get("format", FORMAT) != FORMAT:
        raise _fail(folder, "format", f"must be {FORMAT!r}, not {manifest['format']!r}", manifest)
    for key, (fits, must) in _TOP.items():
        if key not in manifest:
            raise _fail(folder, key, "is missing", manifest)
        if not fits(manifest[key]):
            raise _fail(folder, key, f"{must}, not {manifest[key]!r:.60}", manifest)
    if manifest["format_version"] != FORMAT_VERSION:
        raise IndexStoreError(
            f"{folder} has index format {manifest['format_version']!r}, this version reads "
            f"{FORMAT_VERSION}; " + rebuild_hint(folder, manifest)
        )
    embedder = manifest["embedder"]
    for key, (fits, must) in _EMBEDDER.items():
        if not fits(embedder.get(key)):
            raise _fail(
                folder, f"embedder.{key}", f"{must}, not {embedder.get(key)!r:.60}", manifest
            )
    for key in _EMBEDDER_OPTIONAL:
        if not isinstance(embedder.get(key, ""), str):
            raise _fail(folder, f"embedder.{key}", "must be a text", manifest)
    _check_files(folder, manifest)
    raw = manifest["profile"]
    source = raw.get("source", "")
    try:
        profile = profile_from_dict(raw, source=source if isinstance(source, str) else "")
    except ConfigError as exc:
        raise _fail(folder, "profile", f"is not a valid profile ({exc})", manifest) from exc
    return {**manifest, "profile": profile.to_dict()}


def _check_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest names is a checksum of a path inside ``folder`` (no ``..``, no
    absolute path, no link out of it), and the passages and the FAISS file are among them."""
    root = folder.resolve()
    for name, digest in manifest["files"].items():
        where = f"files[{name!r}]"
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise _fail(folder, where, f"must be a sha256 checksum, not {digest!r:.60}", manifest)
        relative = Path(name)
        inside = (root / relative).resolve()
        if (
            not name
            or relative.is_absolute()
            or ".." in relative.parts
            or inside == root
            or not inside.is_relative_to(root)
        ):
            raise _fail(folder, where, "names a path outside the index folder", manifest)
    for name in (PASSAGES, FAISS_FILE):
        if name not in manifest["files"]:
            raise _fail(folder, f"files[{name!r}]", "is missing", manifest)
