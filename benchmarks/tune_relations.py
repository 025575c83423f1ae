"""Choose the relation score threshold: the lowest with precision >= 0.80 on each dev set.

Classifies every gold pair of the dev files once (raw labels and scores, as ``qa eval
relations`` does), then, for each threshold of a grid, turns the predictions scoring below it
into ``none`` and scores each corpus (each corpus is one relation family) with the shared-task
measures of :mod:`qa.evaluate.relations`. Prints JSON: per corpus, the precision/recall curve
and the lowest threshold whose precision reaches ``--precision``; per family, the threshold
that follows (see :func:`family_thresholds`). Put those in the profile's [annotate] section
(``relations_min_score_*``). Dev files only: the test splits stay unseen. BioRED's dev set
(no training corpus of the model) is read here as every family's pairs, related or not.

    python benchmarks/tune_relations.py --dev \\
      ../shared/data/ner/cryptoradon__biomedRelExt/CDR_Data__CDR.Corpus.v010516__CDR_DevelopmentSet.PubTator.txt \\
      ../shared/data/relations/allenai__scibert/data__text_classification__chemprot__dev.txt \\
      ../shared/data/relations/yookontian__RE_on_BioRED/data__BioRED__Dev.PubTator
"""

from __future__ import annotations

import argparse
import json
import time

from qa.annotate.relations import RelationClassifier
from qa.corpus.relations import read_relations
from qa.corpus.relations.biored import RELATED
from qa.corpus.relations.examples import NONE
from qa.evaluate.relations import relation_scores

UNRELATED_SHARE = 0.10
GRID = [0.0] + [round(0.30 + 0.01 * i, 2) for i in range(70)]  # none, then 0.30 ... 0.99


def binary(label: str) -> str:
    return NONE if label == NONE else RELATED


def curve(gold: list[str], predicted: list[tuple[str, float]]) -> list[dict]:
    """Micro precision/recall/F1 (``none`` excluded) at every threshold of the grid."""
    rows = []
    for threshold in GRID:
        labels = [label if score >= threshold else NONE for label, score in predicted]
        micro = relation_scores(gold, labels)["micro"]
        rows.append({"threshold": threshold, **micro, "kept": sum(x != NONE for x in labels)})
    return rows


def lowest_meeting(rows: list[dict], precision: float, min_kept: int) -> dict | None:
    """The first (lowest) threshold whose precision reaches ``precision`` over at least
    ``min_kept`` kept relations (fewer is no measurement), or None."""
    return next((r for r in rows if r["precision"] >= precision and r["kept"] >= min_kept), None)


def family_thresholds(corpora: dict) -> dict:
    """Each family's threshold, from the dev sets that can measure its precision.

    A dev set measures whether a pair is related only when it holds unrelated pairs (at least
    ``UNRELATED_SHARE`` of them): the scibert ChemProt copy (98.5% related) measures which label
    a related pair gets, not whether a pair is related. The model's own corpora come first
    (BioRED, scored as related or not, counts a chemical that treats a disease as related, so
    it cannot judge "induces"); BioRED decides where none of them can. A family whose precision
    stays below the target at every threshold is switched off (1.0).
    """
    out = {}
    for family in sorted({c["family"] for c in corpora.values()}):
        usable = {
            name: c for name, c in corpora.items()
            if c["family"] == family and c["unrelated_share"] >= UNRELATED_SHARE
        }  # fmt: skip
        own = {n: c for n, c in usable.items() if not n.startswith("biored")}
        judges = own or usable
        chosen = [c["chosen"] for c in judges.values()]
        threshold = 1.0 if None in chosen else max(r["threshold"] for r in chosen)
        out[family] = {"threshold": max(threshold, 0.5), "judged_on": sorted(judges)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", nargs="+", required=True, help="relation dev files or folders")
    parser.add_argument("--model", default="qa-models:relations-minilm-biomed")
    parser.add_argument("--precision", type=float, default=0.80)
    parser.add_argument("--min-kept", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    examples = read_relations(args.dev)
    classifier = RelationClassifier(args.model, device=args.device)
    started = time.perf_counter()
    predicted = classifier.predict_examples(examples)
    seconds = time.perf_counter() - started
    report: dict = {"model": args.model, "dev": args.dev, "target_precision": args.precision}
    report["pairs"], report["classify_s"] = len(examples), round(seconds, 1)
    report["corpora"] = {}
    for corpus in sorted({e.corpus for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.corpus == corpus]
        rows = curve([examples[i].label for i in idx], [predicted[i] for i in idx])
        if corpus.startswith("biored"):  # only whether a pair is related can be scored
            rows = curve([examples[i].label for i in idx], [
                (binary(predicted[i][0]), predicted[i][1]) for i in idx
            ])  # fmt: skip
        unrelated = sum(examples[i].label == NONE for i in idx) / len(idx)
        report["corpora"][corpus] = {
            "family": examples[idx[0]].family,
            "pairs": len(idx),
            "unrelated_share": round(unrelated, 4),
            "chosen": lowest_meeting(rows, args.precision, args.min_kept),
            "no_threshold": rows[0],
            "curve": [r for r in rows[1:] if round(r["threshold"] * 100) % 5 == 0],
        }
    report["families"] = family_thresholds(report["corpora"])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
