"""NER scores with the tagger's constrained (valid BIO) decoding and with each word's argmax.

The tagger decodes a text's tags together (:func:`qa.annotate.ner.constrained_tags`); before,
each word took its own most probable tag and conlleval-style chunking mended what it could.
This scores one model on the same data both ways, so the decoding can be chosen on held-out
splits and its gain reported. Prints JSON: per source, entity-level F1 per type, micro and macro
over sources, both ways.

    python benchmarks/ner_decoding.py --model /work/runs/ner-emb/frozen --data bc5cdr:dev
    python benchmarks/ner_decoding.py --model qa-models:ner-minilm-biomed \\
        --data bc5cdr ncbi-disease bc2gm s800 linnaeus
"""

from __future__ import annotations

import argparse
import json
from unittest import mock

import numpy as np

from qa.annotate.ner import EntityTagger
from qa.evaluate.ner import evaluate_tagger


def argmax_tags(probs: np.ndarray, labels) -> list[int]:
    """Each word's own most probable tag: the decoding the tagger used before."""
    return [int(i) for i in probs.argmax(axis=1)] if len(probs) else []


def summary(result: dict) -> dict:
    return {
        "sources": {
            name: {"micro_f1": s["micro"]["f1"]} | {kind: t["f1"] for kind, t in s["types"].items()}
            for name, s in result["sources"].items()
        },
        "macro_f1": result["macro_f1"],
        "seconds": result["seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", nargs="+", required=True, help="as qa eval ner --data")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    tagger = EntityTagger(args.model, device=args.device)
    out = {"model": args.model, "constrained": summary(evaluate_tagger(tagger, args.data))}
    with mock.patch("qa.annotate.ner.constrained_tags", argmax_tags):
        out["argmax"] = summary(evaluate_tagger(tagger, args.data))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
