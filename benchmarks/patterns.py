"""File arguments of the benchmarks: glob patterns, quoted so the shell leaves them alone."""

from __future__ import annotations

import glob
from collections.abc import Iterable


def matching_files(patterns: Iterable[str]) -> list[str]:
    """The files any pattern matches (a plain path matches itself), each once, sorted."""
    return sorted({f for pattern in patterns for f in glob.glob(pattern)})
