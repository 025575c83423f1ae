"""Biomedical question answering: hybrid retrieval, extractive reading, BioASQ evaluation."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["QA", "__version__"]


def __getattr__(name: str):
    # `import qa` stays light (the CLI parses arguments before torch loads); QA loads on use.
    if name == "QA":
        from qa.pipeline import QA

        return QA
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
