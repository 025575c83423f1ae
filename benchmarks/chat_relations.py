"""What the chat shows under each evidence passage for six questions over the 4B-10B index.

Prints, per question, the annotation time, the relations under each passage and their labels
as rendered by qa.ui.render, and how many raw corpus codes the HTML holds. Run against this
branch and against an older checkout (PYTHONPATH) to compare:

    OMP_NUM_THREADS=1 python benchmarks/chat_relations.py
"""

import re
import sys

from qa.pipeline import QA
from qa.ui.render import render_reply

qa = QA.load(
    sys.argv[1] if len(sys.argv) > 1 else "indexes/bioasq", profile="embedded", device="cpu"
)
print("profile", qa.profile.source, qa.profile.annotate)
questions = [
    "Is cystic fibrosis caused by mutations in CFTR?",
    "Which CAR T-cell therapies target BCMA?",
    "Which gene is mutated in Rett syndrome?",
    "Does metformin cause lactic acidosis?",
    "What is the mechanism of action of ravulizumab?",
    "Is Piezo1 a mechanosensitive ion channel?",
]
for q in questions:
    result = qa.ask(q, k=10)
    html = render_reply(result)
    lists = re.findall(r'<ul class="qa-relations">(.*?)</ul>', html)
    counts = [item.count("<li>") for item in lists]
    labels = re.findall(r"<b>([^<]*)</b> ", "".join(lists))
    raw = re.findall(
        r"CPR:|chemical-gene:|gene-disease:|chemical-disease:|chemical-chemical:", html
    )
    print(
        f"{q!r}: annotate {result.timings.get('annotate_ms')} ms, relations per passage {counts}, labels {sorted(set(labels))}, raw codes {len(raw)}"
    )
    for a in result.annotations.values():
        for r in a.relations:
            print(
                "   ",
                r.head.text,
                "|",
                getattr(r, "phrase", r.label),
                "|",
                r.tail.text,
                round(r.score, 2),
            )
