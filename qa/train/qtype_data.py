"""The question-type classifier's training data: (question, type) pairs from BioASQ files.

BioASQ repeats questions across batches, so a dev question (10B) can also stand in a training
batch (4B–9B); such copies are dropped from training, or the dev accuracy would be measured
partly on questions the classifier has seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

TypedQuestion = tuple[str, str]  # (body, type)


def qtype_pairs(
    train_paths: Sequence[str | Path], dev_paths: Sequence[str | Path] = ()
) -> tuple[list[TypedQuestion], list[TypedQuestion]]:
    """(train, dev) pairs of the golden files; a training question whose body, case aside, is
    also a dev question is left out of train."""
    from qa.corpus.bioasq import load_golden

    train = [(q.body, q.type) for q in load_golden(train_paths)]
    dev = [(q.body, q.type) for q in load_golden(dev_paths)] if dev_paths else []
    dev_bodies = {body.lower() for body, _ in dev}
    return [(b, t) for b, t in train if b.lower() not in dev_bodies], dev
