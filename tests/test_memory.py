"""Freed memory goes back to the system every few questions (glibc's malloc_trim)."""

from __future__ import annotations

import pytest

from qa.memory import MemoryTrimmer


def test_the_heap_is_trimmed_on_every_nth_call_only() -> None:
    trimmer = MemoryTrimmer(every=3)
    if trimmer._trim is None:
        pytest.skip("this C library has no malloc_trim (not glibc)")
    assert [trimmer() for _ in range(7)] == [False, False, True, False, False, True, False]
    assert trimmer.calls == 7
