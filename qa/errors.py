"""Errors a user can act on.

Each message says what went wrong, where (file, line, question id) and what to do next; the
CLI prints the message without a traceback.
"""

from __future__ import annotations

import numbers


class QAError(Exception):
    """Base class: something the user can fix; the message says how."""


class CorpusFormatError(QAError):
    """An input corpus file is malformed; the message names the file and line."""


class IndexStoreError(QAError):
    """An index on disk is missing, damaged, or does not fit the requested profile."""


class ModelLoadError(QAError):
    """A model folder or hub id does not hold the kind of model that was asked for."""


class ConfigError(QAError):
    """A profile is missing or malformed; the message names the file, the ``[section] key``,
    the type it expects and the allowed values."""


class InvalidInput(QAError, ValueError):
    """An argument of the Python API (or a command-line option) has a value it cannot take;
    the message names the argument and the values it accepts."""


def check_count(name: str, value: object) -> int:
    """``value`` as a count of things to return (``k``): an integer (a numpy one too) of at
    least 1, never a bool or a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInput(f"{name} must be a whole number of at least 1, not {value!r}.")
    if value < 1:
        raise InvalidInput(f"{name} must be at least 1, not {value}.")
    return int(value)


def check_choice(name: str, value: object, allowed: tuple[str, ...], none_ok: str = "") -> None:
    """Refuse a ``value`` outside ``allowed`` (``none_ok`` says what ``None`` means, if it may be
    given)."""
    if value is None and none_ok:
        return
    if not isinstance(value, str) or value not in allowed:
        also = f" (or None {none_ok})" if none_ok else ""
        raise InvalidInput(f"Unknown {name} {value!r}: use one of {', '.join(allowed)}{also}.")
