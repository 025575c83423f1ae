"""Errors a user can act on.

Each message says what went wrong, where (file, line, question id) and what to do next; the
CLI prints the message without a traceback.
"""

from __future__ import annotations


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
