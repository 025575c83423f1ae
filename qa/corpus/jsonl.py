"""Passages as JSON Lines: the package's own corpus format, one passage per line.

Each line is ``{"id": ..., "text": ..., "title": ..., "pmid": ..., "meta": {...}}``; only
``id`` and ``text`` are required, and any key the reader does not know is kept in ``meta`` so
that a user's own fields (journal, year, section) survive a round trip. Input is checked line
by line because a corpus is usually produced by someone else's script: a bad line is reported
with its file and line number rather than surfacing later as a confusing index or answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from qa.atomic import atomic_file
from qa.corpus.files import loads, read_lines
from qa.errors import CorpusFormatError
from qa.types import Passage

_HINT = '(each line needs {"id": ..., "text": ...})'
_KNOWN_KEYS = frozenset({"id", "text", "title", "pmid", "meta"})
_JSON_TYPE = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


def _json_type(value: Any) -> str:
    """The JSON name of a decoded value, for messages a non-Python user understands."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return _JSON_TYPE.get(type(value), type(value).__name__)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers, decoded one by one so errors know the line."""
    for number, line in read_lines(path):
        if line.strip():
            yield number, line


def _optional_str(obj: dict[str, Any], key: str, where: str, allow_int: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, str) or (
        allow_int and isinstance(value, int) and not isinstance(value, bool)
    ):
        return str(value)
    kinds = "a string or an integer" if allow_int else "a string"
    raise CorpusFormatError(f"{where}: '{key}' must be {kinds}, not {_json_type(value)}.")


def _passage_id(obj: dict[str, Any], where: str) -> str:
    value = obj.get("id")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CorpusFormatError(f"{where}: missing 'id' {_HINT}.")
    # bool is an int in Python, but `"id": true` is certainly a mistake.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CorpusFormatError(
            f"{where}: 'id' must be a string or an integer, not {_json_type(value)} {_HINT}."
        )
    return str(value)


def _passage_text(obj: dict[str, Any], where: str) -> str:
    value = obj.get("text")
    if value is None:
        raise CorpusFormatError(f"{where}: missing 'text' {_HINT}.")
    if not isinstance(value, str):
        raise CorpusFormatError(
            f"{where}: 'text' must be a string, not {_json_type(value)} {_HINT}."
        )
    if not value.strip():
        raise CorpusFormatError(f"{where}: empty 'text'; remove the line or give it some text.")
    return value


def _meta(obj: dict[str, Any], where: str) -> dict[str, Any]:
    """``meta`` as written by :func:`write_jsonl`, plus every unknown top-level key."""
    meta = obj.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise CorpusFormatError(f"{where}: 'meta' must be an object, not {_json_type(meta)}.")
    extra = {key: value for key, value in obj.items() if key not in _KNOWN_KEYS}
    return {**(meta or {}), **extra}


def parse_line(line: str, where: str) -> Passage:
    """One JSONL line as a passage; ``where`` ("file, line N") prefixes every error."""
    try:
        obj = loads(line, where)
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(
            f"{where}: not valid JSON ({exc.msg} at column {exc.colno}) {_HINT}."
        ) from exc
    if not isinstance(obj, dict):
        raise CorpusFormatError(f"{where}: expected a JSON object, got {_json_type(obj)} {_HINT}.")
    return Passage(
        id=_passage_id(obj, where),
        text=_passage_text(obj, where),
        title=_optional_str(obj, "title", where),
        pmid=_optional_str(obj, "pmid", where, allow_int=True),
        meta=_meta(obj, where),
    )


def read_jsonl(paths: Iterable[str | Path]) -> Iterator[Passage]:
    """Every passage of the given JSONL files, in order; ids must be unique across all files.

    A duplicate id is an error rather than "last one wins" because retrieval results and
    gold labels refer to passages by id: two different texts under one id would silently
    corrupt evaluation.
    """
    first_seen: dict[str, str] = {}
    for path in map(Path, paths):
        for number, line in _lines(path):
            where = f"{path}, line {number}"
            passage = parse_line(line, where)
            if passage.id in first_seen:
                raise CorpusFormatError(
                    f"{where}: duplicate id {passage.id!r} (first used at {first_seen[passage.id]}); "
                    "every passage needs its own id."
                )
            first_seen[passage.id] = where
            yield passage


def write_jsonl(passages: Iterable[Passage], path: str | Path) -> int:
    """Write passages one per line and return how many; the file appears whole or not at all.

    The lines go to a hidden temporary file in the same folder, which then replaces ``path``
    in one ``os.replace``: a crash or an error in the ``passages`` generator leaves any
    previous file untouched instead of a truncated corpus that would index without complaint.
    """
    count = 0
    with atomic_file(path) as fh:
        for passage in passages:
            fh.write(json.dumps(passage.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    return count
