"""Reading a whole JSON file, with the errors a user can act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qa.errors import CorpusFormatError


def load_json(path: str | Path, expected: str) -> Any:
    """The parsed file; ``expected`` names the format for the error (e.g. "a BioASQ golden file")."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CorpusFormatError(f"{path}: no such file.") from exc
    except IsADirectoryError as exc:
        raise CorpusFormatError(f"{path}: is a folder; pass a JSON file.") from exc
    except UnicodeDecodeError as exc:
        raise CorpusFormatError(f"{path}: not UTF-8 text ({exc.reason}).") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(
            f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}). Is this {expected}?"
        ) from exc
