"""Fine-tune the yes/no classifier on BioASQ yes/no questions (and, optionally, PubMedQA).

A BioASQ yes/no question comes with several gold snippets; each (question, snippet) pair is
one training example labelled with the question's answer, so the model learns what a passage
that supports "yes" or "no" looks like, and inference pools the pairs (``qa/read/yesno.py``).
PubMedQA ``ori_pqal.json`` entries labelled yes or no ("maybe" is left out) add pairs made of
the question and each abstract section plus its conclusion.

BioASQ answers are about 70% "yes"; the loss weighs each class by the inverse of its share of
the pairs so the head does not learn to say "yes" always (which scores a macro-F1 near 0.4).
With ``joined`` the pairs of one question are joined into windows the way the classifier reads
them with ``joined=True`` (:func:`joined_pairs`), so each example carries the evidence its label
was given for; the model's config records it, and the classifier reads it from there. With
``swapped_share`` some "yes" questions are asked again about the wrong entity, labelled "no"
(:func:`swapped_pairs`), so that a "yes" needs the question's own entity in the evidence, not
only its topic.

The best epoch by dev macro-F1 (held-out questions over their gold snippets, 9B for the
shipped model) is kept.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import torch
from tqdm.auto import tqdm

from qa.batching import TOKEN_KEYS
from qa.corpus.bioasq import GoldQuestion, load_golden
from qa.corpus.files import load_json
from qa.errors import CorpusFormatError
from qa.modelhub.load import YESNO_JOINED, load_model
from qa.read.yesno import YesNoClassifier, join_texts
from qa.train.common import (
    base_model_line,
    epoch_kept,
    fit_rows,
    metrics_as_shipped,
    pad_rows,
    run_files,
    save_trained,
    stop_note,
    word_embeddings,
)
from qa.train.fit import seed_everything
from qa.train.reader import is_golden, question_key
from qa.train.settings import TrainingConfig, TrainingRun
from qa.types import Entity, Passage

LABEL2ID = {"no": 0, "yes": 1}
# The run settings when none are given (and the defaults of `qa train yesno`).
DEFAULT_TRAINING_CONFIG = TrainingConfig(epochs=3, batch_size=16, lr=5e-5)
MAX_SNIPPETS = 10  # per question, so questions with 40 snippets do not dominate
# Replacements tried for a swapped question before it is left out (see swapped_pairs).
SWAP_TRIES = 20
# Joined training reads each question's snippets in these many orders (the given one, then
# shuffles), so the same evidence is seen split into windows in more than one way.
JOINED_ORDERS = 3


@dataclass(frozen=True)
class YesNoPair:
    question: str
    text: str
    label: int  # 1 = yes


def pairs_from_golden(questions: Sequence[GoldQuestion]) -> list[YesNoPair]:
    pairs = []
    for q in questions:
        if q.type != "yesno" or not isinstance(q.exact_answer, str):
            continue
        answer = q.exact_answer.strip().lower()
        if answer not in LABEL2ID:
            continue
        for snippet in q.snippets[:MAX_SNIPPETS]:
            if snippet.text.strip():
                pairs.append(YesNoPair(q.body, snippet.text, LABEL2ID[answer]))
    return pairs


def pairs_from_pubmedqa(path: str | Path, held_out: Collection[str] = ()) -> list[YesNoPair]:
    """Pairs of each yes/no entry whose PMID is not in ``held_out``."""
    data = load_json(Path(path), "PubMedQA ori_pqal.json")
    if not isinstance(data, dict):
        raise CorpusFormatError(f"{path}: expected PubMedQA's object of PMID -> entry.")
    pairs = []
    for pmid, entry in data.items():
        if not isinstance(entry, dict) or "final_decision" not in entry:
            raise CorpusFormatError(
                f"{path}, PMID {pmid}: no 'final_decision'; pass the labelled ori_pqal.json."
            )
        label = str(entry["final_decision"]).lower()
        if label not in LABEL2ID or str(pmid) in held_out:
            continue  # "maybe", or an evaluation question
        texts = [*entry.get("CONTEXTS", []), entry.get("LONG_ANSWER", "")]
        pairs.extend(
            YesNoPair(entry["QUESTION"], t, LABEL2ID[label])
            for t in texts[:MAX_SNIPPETS]
            if isinstance(t, str) and t.strip()
        )
    return pairs


def load_pairs(paths: Sequence[str | Path], held_out: Collection[str] = ()) -> list[YesNoPair]:
    """The pairs of BioASQ golden files and PubMedQA files (PMIDs in ``held_out`` left out)."""
    golden = [p for p in paths if is_golden(p)]
    pairs = pairs_from_golden(load_golden(golden)) if golden else []
    for path in paths:
        if path not in golden:
            pairs.extend(pairs_from_pubmedqa(path, held_out))
    return list(dict.fromkeys(pairs))


def joined_pairs(
    tokenizer, pairs: Sequence[YesNoPair], max_length: int, seed: int
) -> list[YesNoPair]:
    """One pair per window of each question's texts (:data:`JOINED_ORDERS` orders), joined as
    :class:`YesNoClassifier` joins passages."""
    rng = random.Random(seed)
    texts_of: dict[tuple[str, int], list[str]] = {}
    for pair in pairs:
        texts_of.setdefault((pair.question, pair.label), []).append(pair.text)
    out = []
    for (question, label), texts in texts_of.items():
        for k in range(JOINED_ORDERS):
            order = texts if k == 0 else rng.sample(texts, len(texts))
            for group in join_texts(tokenizer, question, order, max_length):
                out.append(YesNoPair(question, " ".join(order[i] for i in group), label))
    return list(dict.fromkeys(out))


def swapped_pairs(
    pairs: Sequence[YesNoPair],
    entities: Mapping[str, Sequence[Entity]],
    share: float,
    seed: int,
) -> list[YesNoPair]:
    """Wrong-entity questions, labelled "no", over their original passages.

    For ``share`` of the "yes" questions, one entity of the question (``entities``: each
    question's tagged entities) that its passages name is replaced by an entity of the same
    type from another question that they do not name: "Is cystic fibrosis caused by mutations
    in CFTR?" becomes "... in DMD?". The passages still speak of the question's topic, so only
    the entity tells the answer, which ``benchmarks/yesno_probe.py`` found both trained models
    ignoring. A question with no such entity or replacement is left out. (Share 0.5 lost on
    9B: the yes/no model's card.)"""
    rng = random.Random(seed)
    texts_of: dict[str, list[str]] = defaultdict(list)
    for pair in pairs:
        if pair.label == LABEL2ID["yes"]:
            texts_of[pair.question].append(pair.text)
    names: dict[str, set[str]] = defaultdict(set)
    for found in entities.values():
        for entity in found:
            names[entity.label].add(entity.text)
    pools = {label: sorted(n) for label, n in names.items()}
    out = []
    for question, texts in sorted(texts_of.items()):
        if rng.random() >= share:
            continue
        evidence = " ".join(texts).lower()
        shared = [e for e in entities.get(question, ()) if e.text.lower() in evidence]
        if not shared:
            continue
        entity = rng.choice(shared)
        other = _replacement(entity, pools[entity.label], evidence, rng)
        if other:
            wrong = question[: entity.start] + other + question[entity.end :]
            out.extend(YesNoPair(wrong, text, LABEL2ID["no"]) for text in texts)
    return out


def _replacement(entity: Entity, pool: Sequence[str], evidence: str, rng: random.Random) -> str:
    """A name from ``pool`` that the evidence does not contain and that neither contains nor is
    contained in ``entity``'s text ("CFTR gene" does not replace "CFTR"); "" if none is found."""
    own = entity.text.lower()
    for _ in range(SWAP_TRIES):
        name = rng.choice(pool)
        lower = name.lower()
        if lower not in evidence and lower not in own and own not in lower:
            return name
    return ""


def yesno_dev_metrics(classifier, questions: Sequence[GoldQuestion]) -> dict[str, float]:
    """Accuracy and macro-F1 (mean of the F1 of yes and of no) over gold snippets."""
    asked = [
        q
        for q in questions
        if q.type == "yesno" and q.snippets and str(q.exact_answer).strip().lower() in LABEL2ID
    ]
    gold, pred = [], []
    for q in tqdm(asked, desc="Dev yes/no", unit="q", leave=False):
        passages = [Passage(f"s{i}", s.text) for i, s in enumerate(q.snippets) if s.text.strip()]
        gold.append(str(q.exact_answer).strip().lower())
        pred.append(classifier.predict(q.body, passages).label)
    return {**binary_scores(gold, pred), "questions": len(asked)}


def binary_scores(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    def f1(label: str) -> float:
        tp = sum(g == p == label for g, p in zip(gold, pred))
        fp = sum(p == label != g for g, p in zip(gold, pred))
        fn = sum(g == label != p for g, p in zip(gold, pred))
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    accuracy = sum(g == p for g, p in zip(gold, pred)) / max(1, len(gold))
    return {
        "accuracy": round(accuracy, 4),
        "macro_f1": round((f1("yes") + f1("no")) / 2, 4),
        "f1_yes": round(f1("yes"), 4),
        "f1_no": round(f1("no"), 4),
    }


def train_yesno(
    run: TrainingRun,
    *,
    max_seq_length: int = 256,
    held_out_pmids: Collection[str] = (),
    joined: bool = False,
    class_weights: bool = True,
    swapped_share: float = 0.0,
    ner_model: str = "qa-models:ner-minilm-biomed",
) -> dict:
    """Train on the (question, passage) pairs of ``run.train`` with class-weighted loss, keep the
    epoch with the best dev macro-F1 on the ``run.dev`` golden files (each epoch's overlay is
    read back, as it will ship), save overlay and card. PubMedQA entries whose PMID is in
    ``held_out_pmids`` (the open-domain evaluation's questions) are not trained on; ``joined``:
    see the module; ``class_weights`` False: every pair weighs the same (the threshold is then
    left to balance the classes); ``swapped_share``: see :func:`swapped_pairs` (the questions
    tagged by ``ner_model``).

    ``run.config`` None: :data:`DEFAULT_TRAINING_CONFIG`."""
    training = run.settings(DEFAULT_TRAINING_CONFIG)
    seed_everything(training.seed)
    tokenizer, model = load_model(run.base, "sequence-classification", labels=list(LABEL2ID))
    setattr(model.config, YESNO_JOINED, joined)  # the classifier reads as it was trained
    dev_q = load_golden(run.dev) if run.dev else []
    dev_keys = {question_key(q.body) for q in dev_q}
    pairs = [
        p
        for p in load_pairs(run.train, frozenset(held_out_pmids))
        if question_key(p.question) not in dev_keys
    ]
    if not pairs:
        raise CorpusFormatError("No yes/no examples found in the training files.")
    swapped = []
    if swapped_share > 0:
        swapped = swapped_pairs(
            pairs,
            question_entities(pairs, ner_model, training.device),
            swapped_share,
            training.seed,
        )
        pairs = pairs + swapped
    if joined:
        pairs = joined_pairs(tokenizer, pairs, max_seq_length, training.seed)
    rows = tokenize_pairs(tokenizer, pairs, max_seq_length)
    labels = torch.tensor([p.label for p in pairs])
    counts = torch.bincount(labels, minlength=2).float()
    weights = counts.sum() / (2 * counts.clamp(min=1)) if class_weights else torch.ones(2)
    loss = partial(weighted_loss, weights)
    config = replace(training, frozen=word_embeddings(model), job="yes/no")
    make_batch = partial(pad_rows, rows, tokenizer.pad_token_id or 0, labels=labels)
    reading = {"device": config.device, "max_seq_length": max_seq_length}

    def measure(folder: str) -> dict:
        return yesno_dev_metrics(YesNoClassifier(folder, **reading), dev_q)

    evaluate = partial(metrics_as_shipped, run, "yesno", config.frozen, measure)
    fitted = fit_rows(
        model, rows, make_batch, loss, config, evaluate if dev_q else None, "macro_f1"
    )
    result = {
        **run_files(run),
        "pairs": len(pairs),
        "held_out_pmids": len(held_out_pmids),
        "yes_share": round(float(counts[1] / counts.sum()), 4),
        "joined": joined,
        "class_weights": class_weights,
        "swapped_share": swapped_share,
        "swapped_questions": len({p.question for p in swapped}),
        **config.summary(),
        "max_seq_length": max_seq_length,
        **fitted.summary(),
        "best_dev_macro_f1": fitted.best_score,
    }
    card = model_card(result, run.command)
    save_trained(run, model, "yesno", config.frozen, card, {"metrics": result})
    return result


def question_entities(
    pairs: Sequence[YesNoPair], ner_model: str, device: str
) -> dict[str, list[Entity]]:
    """The entities ``ner_model`` finds in each "yes" question (as the annotator keeps them)."""
    from qa.annotate.annotator import Annotator

    questions = sorted({p.question for p in pairs if p.label == LABEL2ID["yes"]})
    found = Annotator(ner_model, device=device).entities(questions)
    return dict(zip(questions, found))


def tokenize_pairs(tokenizer, pairs: Sequence[YesNoPair], max_length: int) -> list[dict]:
    """Token ids of each (question, passage) pair, unpadded, the passage cut to fit."""
    enc = tokenizer(
        [p.question for p in pairs],
        [p.text for p in pairs],
        truncation="only_second",
        max_length=max_length,
    )
    return [{k: enc[k][i] for k in TOKEN_KEYS if k in enc} for i in range(len(pairs))]


def weighted_loss(
    class_weight: torch.Tensor, model: torch.nn.Module, batch: dict[str, torch.Tensor]
) -> torch.Tensor:
    """Cross-entropy with each class weighed by ``class_weight`` (see :func:`train_yesno`)."""
    target = batch.pop("labels")
    logits = model(**batch).logits.float()
    return torch.nn.functional.cross_entropy(logits, target, weight=class_weight.to(target.device))


def model_card(result: dict, command: str) -> str:
    """The model card: base, data, the exact command, and the dev figures per epoch (or, for a
    run without dev files, that its last epoch is kept)."""
    return f"""# Yes/no classifier on {result["base"]} (overlay)

Reads a question with {_reads(result)}
and gives the log-odds that the answer is "yes"; the answer to a question pools the windows'
log-odds (`qa/read/yesno.py`).

{base_model_line(result["base"])}
- **Training data**: {", ".join(result["train_files"])}: {result["pairs"]} (question, window)
  pairs, {result["yes_share"]:.0%} "yes", from ../shared/data ({result.get("held_out_pmids", 0)} PubMedQA
  PMIDs held out for evaluation). {_weighting(result)}. BioASQ data is subject to the BioASQ terms of use; see ../shared/data/SOURCES.md.
- **Training**: {result["steps"]} steps, batch {result["batch_size"]}, lr {result["lr"]},
  max length {result["max_seq_length"]}, {result["train_seconds"]} s. Loss
  {result["first_loss"]:.3f} -> {result["last_loss"]:.3f}.{stop_note(result)}
  {epoch_kept(result, "macro-F1")}
- **Command**: `{command or "qa train yesno"}`
{_dev_table(result)}
The official BioASQ figures come from `qa eval bioasq`.
"""


def _weighting(result: dict) -> str:
    weighting = "Classes weighted by inverse\n  frequency"
    if not result.get("class_weights", True):
        weighting = "Classes unweighted"
    if result.get("swapped_questions"):
        weighting += (
            f'; {result["swapped_questions"]} wrong-entity "no" questions added (share '
            f'{result["swapped_share"]} of the "yes" questions, `--swapped-entities`)'
        )
    return weighting


def _reads(result: dict) -> str:
    if result.get("joined"):
        return f"its passages joined in windows (the config's `{YESNO_JOINED} = true`)"
    return "one passage"


def _dev_table(result: dict) -> str:
    if not result["dev_files"]:
        return ""
    rows = "\n".join(
        f"| {h['epoch']} | {h.get('accuracy', '-')} | {h.get('macro_f1', '-')} | "
        f"{h.get('f1_yes', '-')} | {h.get('f1_no', '-')} |"
        for h in result["history"]
    )
    return f"""
## Dev (yes/no questions of {", ".join(result["dev_files"])}, their gold snippets)

| epoch | accuracy | macro-F1 | F1 yes | F1 no |
|---|---|---|---|---|
{rows}
"""
