"""An index's ``manifest.json``: how an index is recognised, and the schema it is checked against.

A folder is an index this project wrote when its manifest carries the format marker
(``"format": "qa-index"``), or, for indexes built before the marker existed, the keys every
manifest has had (``format_version``, ``files`` and ``profile``). A file merely named
``manifest.json`` (a web app's) does not make a folder an index, so it is never replaced.

Loading checks the manifest against its schema before using any of it: a damaged but valid
JSON manifest (a key missing, a value of the wrong type, a file name pointing outside the
folder) is reported by key, with the command that rebuilds the index, never as a Python error.
A manifest carries the sha256 of its own content, so an edit the schema cannot see (a count or
a checksum changed into another valid value) is caught too, in microseconds.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from qa.atomic import write_text
from qa.config import Profile, profile_from_dict
from qa.errors import ConfigError, IndexStoreError

FORMAT = "qa-index"
# 2: shards with an Arrow passage store, BM25 postings with corpus-wide statistics, tombstones.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
SHARDS_DIR = "shards"
PASSAGES = "passages.arrow"  # in every shard folder
BM25_DIR = "bm25"
FAISS_FILE = "dense.faiss"
VECTORS_FILE = "vectors.f16"
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


def _count(minimum: int) -> Any:
    return lambda v: _is_int(v) and v >= minimum


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """The sha256 of a manifest's content, its own ``checksum`` left out: loading compares it in
    microseconds, so a manifest damaged on disk is caught without hashing gigabytes of files."""
    body = {key: value for key, value in manifest.items() if key != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# key -> (does a value fit, what the message says it must be)
_TOP: dict[str, tuple[Any, str]] = {
    "format_version": (_is_int, "must be a whole number"),
    "checksum": (lambda v: isinstance(v, str), "must be a text (a sha256)"),
    "profile": (lambda v: isinstance(v, dict), "must be an object (the profile's settings)"),
    "embedder": (lambda v: isinstance(v, dict), "must be an object (the embedder's identity)"),
    "passages": (_count(0), "must be the number of passages searched (0 or more)"),
    "rows": (_count(1), "must be the number of stored rows (above 0)"),
    "generation": (_count(0), "must be a whole number (0 or more)"),
    "corpus_sha256": (lambda v: isinstance(v, str), "must be a text (a sha256)"),
    "built_at": (lambda v: isinstance(v, str), "must be a text (a date)"),
    "build_seconds": (
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "must be a number",
    ),
    "shards": (lambda v: isinstance(v, list) and bool(v), "must be a list of shards"),
    "bm25": (lambda v: isinstance(v, dict), "must be an object (corpus-wide BM25 statistics)"),
    "tombstones": (lambda v: isinstance(v, str), "must be a file name, or empty"),
    "files": (lambda v: isinstance(v, dict) and bool(v), "must be an object of file checksums"),
}
_EMBEDDER: dict[str, tuple[Any, str]] = {
    "model": (lambda v: isinstance(v, str) and bool(v), "must be the model's name"),
    "revision": (lambda v: isinstance(v, str), "must be a text"),
    "dim": (lambda v: _is_int(v) and v > 0, "must be the vector size (above 0)"),
}
_EMBEDDER_OPTIONAL = ("passage_model", "passage_revision", "pooling")
_BM25: dict[str, tuple[Any, str]] = {
    "docs": (_count(1), "must be the number of documents counted (above 0)"),
    "tokens": (_count(0), "must be the number of tokens counted"),
    "stats": (lambda v: isinstance(v, str) and bool(v), "must be the statistics folder"),
}
_SHARD: dict[str, tuple[Any, str]] = {
    "name": (lambda v: isinstance(v, str) and bool(v), "must be the shard's folder"),
    "rows": (_count(1), "must be the shard's number of rows (above 0)"),
}


def _check_keys(
    folder: Path, manifest: Any, values: Any, schema: dict[str, Any], prefix: str
) -> None:
    for key, (fits, must) in schema.items():
        if key not in values:
            raise _fail(folder, prefix + key, "is missing", manifest)
        if not fits(values[key]):
            raise _fail(folder, prefix + key, f"{must}, not {values[key]!r:.60}", manifest)


def validate_manifest(folder: Path, manifest: Any) -> dict[str, Any]:
    """``manifest`` checked against the schema and its own checksum, its profile filled in with
    the defaults of settings added since it was built; raises an :class:`IndexStoreError`
    naming the first key that is missing or wrong."""
    if not isinstance(manifest, dict):
        raise _fail(folder, "its top level", "must be an object", manifest)
    if manifest.get("format", FORMAT) != FORMAT:
        raise _fail(folder, "format", f"must be {FORMAT!r}, not {manifest['format']!r}", manifest)
    version = manifest.get("format_version")
    if _is_int(version) and version != FORMAT_VERSION:
        raise IndexStoreError(
            f"{folder} has index format {version!r}, this version reads "
            f"{FORMAT_VERSION}; " + rebuild_hint(folder, manifest)
        )
    _check_keys(folder, manifest, manifest, _TOP, "")
    _check_keys(folder, manifest, manifest["embedder"], _EMBEDDER, "embedder.")
    for key in _EMBEDDER_OPTIONAL:
        if not isinstance(manifest["embedder"].get(key, ""), str):
            raise _fail(folder, f"embedder.{key}", "must be a text", manifest)
    _check_keys(folder, manifest, manifest["bm25"], _BM25, "bm25.")
    for n, shard in enumerate(manifest["shards"]):
        if not isinstance(shard, dict):
            raise _fail(folder, f"shards[{n}]", "must be an object", manifest)
        _check_keys(folder, manifest, shard, _SHARD, f"shards[{n}].")
    if sum(shard["rows"] for shard in manifest["shards"]) != manifest["rows"]:
        raise _fail(folder, "rows", "is not the sum of the shards' rows", manifest)
    _check_files(folder, manifest)
    raw = manifest["profile"]
    source = raw.get("source", "")
    try:
        profile = profile_from_dict(raw, source=source if isinstance(source, str) else "")
    except ConfigError as exc:
        raise _fail(folder, "profile", f"is not a valid profile ({exc})", manifest) from exc
    # Last: what the schema cannot see (a count or a checksum edited into another valid value).
    if manifest_checksum(manifest) != manifest["checksum"]:
        raise IndexStoreError(
            f"{folder}/{MANIFEST} is damaged (its checksum does not match its content); "
            + rebuild_hint(folder, manifest)
        )
    return {**manifest, "profile": profile.to_dict()}


def recorded_profile(manifest: dict[str, Any]) -> Profile:
    """The profile an index was built with, from its (validated) manifest."""
    raw = manifest["profile"]
    return profile_from_dict(raw, source=raw.get("source") or "")


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Seal ``manifest`` with its checksum and write it atomically: the rename of this one file
    is the moment a build or an update takes effect."""
    manifest["checksum"] = manifest_checksum(manifest)
    write_text(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def required_files(manifest: dict[str, Any]) -> list[str]:
    """The files an index cannot be searched without, by their manifest names."""
    names = [f"{manifest['bm25']['stats']}/{n}" for n in ("terms.npy", "df.npy")]
    for shard in manifest["shards"]:
        names += [f"{shard['name']}/{n}" for n in (PASSAGES, FAISS_FILE, VECTORS_FILE)]
    if manifest["tombstones"]:
        names.append(manifest["tombstones"])
    return names


def _check_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest names is a (sha256, size) of a path inside ``folder`` (no
    ``..``, no absolute path, no link out of it), and the files a search needs are among them."""
    root = folder.resolve()
    for name, entry in manifest["files"].items():
        where = f"files[{name!r}]"
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
        if not isinstance(entry, dict) or not _SHA256.match(str(entry.get("sha256"))):
            raise _fail(folder, where, f"must hold a sha256 checksum, not {entry!r:.60}", manifest)
        if not _count(0)(entry.get("bytes")):
            raise _fail(folder, f"{where}.bytes", "must be the file's size", manifest)
    for name in required_files(manifest):
        if name not in manifest["files"]:
            raise _fail(folder, f"files[{name!r}]", "is missing", manifest)
