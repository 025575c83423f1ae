"""The open-domain PubMedQA benchmark's scoring, on inputs worked out by hand."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from qa.config import load_profile
from qa.types import Passage

ROOT = Path(__file__).resolve().parent.parent


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "open_domain_pubmedqa", ROOT / "benchmarks/open_domain_pubmedqa.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _benchmark()


def test_a_hit_is_any_window_of_the_questions_own_pmid() -> None:
    # the windows' PMIDs in rank order: q1's own abstract (1) first, q2's (2) 4th, q3's never
    ranked = [["1", "9", "1"], ["7", "8", "9", "2", "2"], ["5"] * 10 + ["3"]]
    rates = bench.hit_rates(ranked, ["1", "2", "3"])
    assert rates == {"hit@1": 0.3333, "hit@5": 0.6667, "hit@10": 0.6667, "mrr@10": 0.4167}


def test_first_rank_is_one_based_and_none_when_missing() -> None:
    assert bench.first_rank(["4", "2", "2"], "2") == 2
    assert bench.first_rank([], "2") is None


def test_hit_rates_refuse_mismatched_inputs() -> None:
    with pytest.raises(ValueError):
        bench.hit_rates([["1"]], ["1", "2"])
    with pytest.raises(ValueError):
        bench.hit_rates([], [])


def test_yesno_scores_on_a_hand_made_confusion() -> None:
    gold = ["yes", "yes", "yes", "no", "no"]
    pred = ["yes", "yes", "no", "no", "yes"]
    # yes: tp 2, fp 1, fn 1 -> F1 4/6; no: tp 1, fp 1, fn 1 -> F1 2/4
    assert bench.yesno_scores(gold, pred) == {
        "accuracy": 0.6,
        "macro_f1": round((4 / 6 + 0.5) / 2, 4),
        "f1_yes": 0.6667,
        "f1_no": 0.5,
        "predicted_yes": 3,
        "questions": 5,
    }


def test_a_class_never_predicted_scores_zero_f1() -> None:
    scores = bench.yesno_scores(["yes", "no"], ["yes", "yes"])
    assert (scores["accuracy"], scores["f1_no"]) == (0.5, 0.0)


def test_a_pmid_is_kept_from_its_first_source_only(monkeypatch: pytest.MonkeyPatch) -> None:
    corpora = {
        "pubmedqa": [Passage("pubmedqa:1", "Context one.", pmid="1")],
        "hoc": [
            Passage("hoc:1", "The same abstract again.", pmid="1"),
            Passage("hoc:2", "Another abstract.", pmid="2"),
        ],
    }
    monkeypatch.setattr(bench, "read_corpus", lambda kind, files, **_: iter(corpora[kind]))
    counts: dict = {}
    kept = bench.unique_passages([("pubmedqa", []), ("hoc", [])], load_profile(None), counts)
    assert [p.id for p in kept] == ["pubmedqa:1", "hoc:2"]
    assert counts["hoc"] == {"abstracts": 1, "windows": 1, "duplicate_pmids": 1}
