"""SQuAD v1.1 exact match and token F1: softer scores beside the official BioASQ ones.

The BioASQ measures compare whole lower-cased strings; these are the reading-comprehension
scores, useful to see how close wrong exact answers are.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def _squad_normalize(text: str) -> str:
    """SQuAD v1.1 normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _token_f1(prediction: str, gold: str) -> float:
    pred, ref = _squad_normalize(prediction).split(), _squad_normalize(gold).split()
    if not pred or not ref:
        return float(pred == ref)  # both empty: a match; one empty: nothing shared
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_em_f1(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """Exact match and token F1 of ``prediction``, best over ``golds`` (0, 0 with no gold).

    The BioASQ measures above compare whole lower-cased strings; these are the softer
    reading-comprehension scores, useful to see how close wrong exact answers are.
    """
    if not golds:
        return 0.0, 0.0
    norm = _squad_normalize(prediction)
    em = max(float(norm == _squad_normalize(g)) for g in golds)
    return em, max(_token_f1(prediction, g) for g in golds)
