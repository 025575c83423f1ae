"""How the reader's belief splits between the answers it shows.

Span scores are logits that compare across passages but mean little alone; a softmax over
the shown answers turns them into shares a reader of the UI can take in at a glance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qa.types import Answer


def confidences(answers: Sequence[Answer]) -> list[float]:
    """Softmax over the shown answers' scores: how the reader's belief splits between them."""
    if not answers:
        return []
    top = max(a.score for a in answers)
    weights = [math.exp(a.score - top) for a in answers]
    total = sum(weights)
    return [w / total for w in weights]
