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
from pathlib import Path

from qa.annotate.relations import RelationClassifier, entity_type, pair_family
from qa.corpus.relations import read_relations
from qa.corpus.relations.examples import NONE, RelationExample, sentence_groups, shifted
from qa.corpus.split import sentence_spans
from qa.evaluate.relations import relation_scores
from qa.types import Entity

UNRELATED_SHARE = 0.10
GRID = [0.0] + [round(0.30 + 0.01 * i, 2) for i in range(70)]  # none, then 0.30 ... 0.99


RELATED = "related"
_BIORED_TYPES = {"ChemicalEntity": "CHEMICAL", "GeneOrGeneProduct": "GENE"}
_BIORED_TYPES["DiseaseOrPhenotypicFeature"] = "DISEASE"


def _biored_examples(text: str, mentions: list, related: set, pmid: str) -> list:
    spans = sentence_spans(text[: text.index("\n")])
    offset = text.index("\n") + 1
    spans += [(a + offset, b + offset) for a, b in sentence_spans(text[offset:])]
    ids = {e: i for e, i in mentions}
    out = []
    for start, end, members in sentence_groups(text, [e for e, _ in mentions], spans):
        for n, a in enumerate(members):
            for b in members[n + 1 :]:
                found = pair_family(a, b)
                if found is None or (a.start < b.end and b.start < a.end):
                    continue
                family, head, tail = found
                if ids[a] & ids[b]:
                    continue  # two mentions of one concept
                hit = any(frozenset((x, y)) in related for x in ids[a] for y in ids[b])
                sentence = text[start:end]
                out.append(
                    RelationExample(
                        sentence, shifted(head, start), shifted(tail, start),
                        RELATED if hit else NONE, family, f"biored-{family}", pmid,
                    )
                )  # fmt: skip
    return out


def read_biored(path: str) -> list[RelationExample]:
    """BioRED (not a training corpus here) as sentence-level pairs of every family, labelled
    ``related`` when the abstract relates the two concepts in any way (BioRED's relation types
    are not ours, so only "is there a relation" is scored), ``none`` otherwise."""
    examples: list[RelationExample] = []
    for block in Path(path).read_text(encoding="utf-8").strip().split("\n\n"):
        lines = block.splitlines()
        pmid, title = lines[0].split("|t|", 1)
        text = title + "\n" + lines[1].split("|a|", 1)[1]
        mentions, related = [], set()
        for parts in (line.split("\t") for line in lines[2:]):
            if len(parts) >= 6 and parts[1].isdigit() and parts[4] in _BIORED_TYPES:
                start, end = int(parts[1]), int(parts[2])
                entity = Entity(start, end, _BIORED_TYPES[parts[4]], text[start:end])
                mentions.append((entity, frozenset(parts[5].replace(";", ",").split(","))))
            elif len(parts) in (4, 5) and not parts[1].isdigit():
                related.add(frozenset(parts[2:4]))
        mentions = [(e, i) for e, i in mentions if entity_type(e.label)]
        examples.extend(_biored_examples(text, mentions, related, pmid))
    return examples


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
    examples = read_relations([p for p in args.dev if "BioRED" not in p])
    for path in [p for p in args.dev if "BioRED" in p]:
        examples.extend(read_biored(path))
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
