"""Yes/no on textbook facts over the demo corpus: a probe a biologist can read at a glance.

Each pair below is a monogenic disease of ``qa/data/demo_passages.jsonl`` and the gene its
passage names. "Is <disease> caused by mutations in <gene>?" is asked with the right gene
(gold "yes") and with the next pair's gene (gold "no"), each over the demo index's top ``k``
hybrid passages of the demo index (``--index``, built there first if missing, as ``qa demo``
does), read by the profile's yes/no classifier as ``qa demo`` reads them. Prints JSON: accuracy on each gold class and the
questions answered wrongly. The set is hand-made and small (a probe, never a tuning set): it
shows what BioASQ's figures cannot, whether the classifier reads a plain statement of the fact.

    python benchmarks/yesno_probe.py [--model DIR --joined/--single --threshold T]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from tqdm.auto import tqdm

from qa.config import load_profile
from qa.demo import load_demo

PAIRS = [
    ("cystic fibrosis", "CFTR"),
    ("Huntington disease", "HTT"),
    ("sickle cell disease", "HBB"),
    ("Duchenne muscular dystrophy", "DMD"),
    ("Marfan syndrome", "FBN1"),
    ("phenylketonuria", "PAH"),
    ("fragile X syndrome", "FMR1"),
    ("hereditary hemochromatosis", "HFE"),
    ("Tay-Sachs disease", "HEXA"),
    ("spinal muscular atrophy", "SMN1"),
    ("neurofibromatosis type 1", "NF1"),
    ("Rett syndrome", "MECP2"),
    ("Gaucher disease", "GBA1"),
    ("Fabry disease", "GLA"),
    ("hemophilia A", "F8"),
    ("Wilson disease", "ATP7B"),
    ("achondroplasia", "FGFR3"),
    ("Friedreich ataxia", "FXN"),
    ("Lesch-Nyhan syndrome", "HPRT1"),
    ("Werner syndrome", "WRN"),
]


def questions() -> list[tuple[str, str]]:
    """(question, gold) for every pair: its own gene, then the next pair's."""
    out = []
    for i, (disease, gene) in enumerate(PAIRS):
        other = PAIRS[(i + 1) % len(PAIRS)][1]
        out.append((f"Is {disease} caused by mutations in {gene}?", "yes"))
        out.append((f"Is {disease} caused by mutations in {other}?", "no"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="yes/no model (default: the profile's)")
    parser.add_argument("--joined", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--profile", default="embedded")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--index", default="indexes/demo", help="the demo index (as qa demo)")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    given = {
        "yesno_model": args.model,
        "yesno_joined": args.joined,
        "yesno_threshold": args.threshold,
    }
    reader = replace(profile.reader, **{k: v for k, v in given.items() if v is not None})
    qa = load_demo(args.index, replace(profile, reader=reader))
    classifier = qa.components.yesno
    asked = questions()
    answers = [classifier.predict(q, qa.search(q, k=args.k)) for q, _ in tqdm(asked, unit="q")]
    wrong = [
        {"question": q, "gold": gold, "p_yes": round(a.probability, 3)}
        for (q, gold), a in zip(asked, answers)
        if a.label != gold
    ]
    right = {
        f"accuracy_{label}": round(
            sum(a.label == g for (_, g), a in zip(asked, answers) if g == label)
            / sum(g == label for _, g in asked),
            3,
        )
        for label in ("yes", "no")
    }
    setting = {"joined": classifier.joined, "threshold": classifier.threshold}
    report = {"model": reader.yesno_model, **setting, **right, "wrong": wrong}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
