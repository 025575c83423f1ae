"""Reading corpus files with bounds, and with the errors a user can act on.

Every reader goes through these helpers, so hostile or damaged input gets one answer
everywhere: a line longer than :data:`MAX_LINE_BYTES`, a JSON file over
:data:`MAX_JSON_BYTES`, JSON nested too deeply for the parser, text that is not UTF-8, a
damaged gzip stream and an XML file that declares entities (a "billion laughs" or an external
entity such as ``file:///etc/passwd``) each raise :class:`~qa.errors.CorpusFormatError`
naming the file (and line), never a Python traceback, and nothing is read without bound.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.parsers import expat

from qa.errors import CorpusFormatError

#: The longest line a line-based corpus file (JSONL, PubTator, ChemProt, TSV, CoNLL) may hold.
MAX_LINE_BYTES = 16 * 2**20
#: The largest whole-JSON file read at once (BioASQ, PubMedQA): far above any real one.
MAX_JSON_BYTES = 2 * 2**30
GZIP_MAGIC = b"\x1f\x8b"
#: What reading a gzip stream raises when the data is cut short or damaged.
GZIP_ERRORS = (EOFError, zlib.error, OSError)


def _checked_file(path: Path) -> None:
    if path.is_dir():
        raise CorpusFormatError(f"{path}: is a folder; pass a file.")
    if not path.is_file():
        raise CorpusFormatError(f"{path}: no such file.")


def gzip_error(path: Path, exc: BaseException) -> CorpusFormatError:
    """The message for a gzip stream (or its file) that could not be read to the end."""
    if isinstance(exc, EOFError):
        return CorpusFormatError(
            f"{path}: the gzip data ends early (the file was cut short); fetch it again."
        )
    if isinstance(exc, (zlib.error, gzip.BadGzipFile)):
        return CorpusFormatError(f"{path}: damaged gzip data ({exc}); fetch the file again.")
    reason = getattr(exc, "strerror", None) or str(exc)
    return CorpusFormatError(f"{path}: cannot be read ({reason}).")


def preview(value: Any, width: int = 60) -> str:
    """A short JSON rendering of a value for a message; never fails, even on odd values."""
    try:
        return json.dumps(value)[:width]
    except (RecursionError, ValueError, TypeError):
        return type(value).__name__


def loads(text: str | bytes, where: str) -> Any:
    """``json.loads`` bounded: nesting too deep and numbers too long for Python refused.

    A :class:`json.JSONDecodeError` is left to the caller, whose message knows the format.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise CorpusFormatError(
            f"{where}: JSON nested too deeply to read (hundreds of levels); "
            "this is not a corpus file."
        ) from None
    except ValueError:  # Python refuses integers of more than 4,300 digits
        raise CorpusFormatError(
            f"{where}: holds a number too long to read (over 4,300 digits)."
        ) from None


def load_json(path: str | Path, expected: str) -> Any:
    """The parsed file; ``expected`` names the format for the error (e.g. "a BioASQ golden file")."""
    path = Path(path)
    _checked_file(path)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise CorpusFormatError(
                f"{path}: over {MAX_JSON_BYTES >> 30} GiB, too large to be {expected}."
            )
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusFormatError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    if data.startswith(GZIP_MAGIC):
        raise CorpusFormatError(f"{path}: is gzip-compressed; unzip it first (gunzip {path}).")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusFormatError(f"{path}: not UTF-8 text ({exc.reason}).") from exc
    if not text.strip():
        raise CorpusFormatError(f"{path}: the file is empty; expected {expected}.")
    try:
        return loads(text, str(path))
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(
            f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}). Is this {expected}?"
        ) from exc


def _universal(line: str) -> list[str]:
    """A line split as text mode would split it: a lone ``\\r`` also ends a line."""
    if "\r" not in line:
        return [line]
    pieces = line.replace("\r\n", "\n").split("\r")
    return [p + "\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])


def read_lines(path: str | Path, *, universal_newlines: bool = False) -> Iterator[tuple[int, str]]:
    """The lines of a UTF-8 text file with their 1-based numbers, each read with a bound.

    A byte-order mark at the start is dropped. Lines keep their ends (``\\n``; ``\\r\\n`` too, unless ``universal_newlines`` turns every
    line end into ``\\n`` and splits on a lone ``\\r`` as ``open(path)`` does). A line over
    :data:`MAX_LINE_BYTES`, bytes that are not UTF-8, a gzip file, a folder or a missing file
    raise :class:`CorpusFormatError` naming the file (and the line).
    """
    path = Path(path)
    _checked_file(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise CorpusFormatError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    number = 0
    with handle:
        while raw := _bounded_line(handle, path, number + 1):
            if number == 0 and raw.startswith(GZIP_MAGIC):
                raise CorpusFormatError(
                    f"{path}: is gzip-compressed; unzip it first (gunzip {path})."
                )
            try:
                # "utf-8-sig" on the first line: a byte-order mark (Windows editors write one)
                # is not text, for any reader
                line = raw.decode("utf-8-sig" if number == 0 else "utf-8")
            except UnicodeDecodeError as exc:
                raise CorpusFormatError(
                    f"{path}, line {number + 1}: not UTF-8 text ({exc.reason}); "
                    "save the file as UTF-8."
                ) from exc
            for piece in _universal(line) if universal_newlines else [line]:
                number += 1
                yield number, piece


def _bounded_line(handle: Any, path: Path, number: int) -> bytes:
    try:
        raw = handle.readline(MAX_LINE_BYTES + 1)
    except OSError as exc:
        raise CorpusFormatError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    if len(raw) > MAX_LINE_BYTES:
        raise CorpusFormatError(
            f"{path}, line {number}: longer than {MAX_LINE_BYTES >> 20} MiB; "
            "a corpus line is one passage, sentence or record."
        )
    return raw


def encoding_error(path: Path, exc: Exception) -> CorpusFormatError:
    """The message for an XML file whose declared encoding the parser cannot use."""
    return CorpusFormatError(
        f"{path}: declares an encoding the XML parser cannot read ({exc}); save it as UTF-8."
    )


def refuse_entities(parser: Any, path: Path) -> None:
    """Make an expat parser refuse entity declarations, before any is expanded or fetched.

    Neither PubMed nor DDI-2013 files declare entities; a file that does is either hostile
    (a "billion laughs", an external entity naming a local file or a URL) or not one of them.
    """

    def refuse(name: str, *_: Any) -> None:
        raise CorpusFormatError(
            f"{path}, line {parser.CurrentLineNumber}: declares the XML entity {name!r}; "
            "entity declarations are refused (they can expand without bound or read other "
            "files), and corpus files have none."
        )

    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
