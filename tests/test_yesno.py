"""The yes/no classifier's pooling of passages, and the PubMedQA questions kept out of training."""

from __future__ import annotations

import json
import math

import pytest

from qa.corpus.pubmedqa import read_pubmedqa_labels
from qa.errors import CorpusFormatError
from qa.read.yesno import pool
from qa.train.yesno import pairs_from_pubmedqa


def test_one_clear_no_decides_under_max_pooling_but_not_under_the_mean() -> None:
    odds = [1.0, 1.0, -4.0]  # two passages that lean yes, one that clearly says no
    assert pool(odds, "mean") == pytest.approx(-2 / 3)
    assert pool(odds, "max") == -4.0
    weights = [math.exp(-3), math.exp(-3), 1.0]
    expected = (weights[0] + weights[1] - 4 * weights[2]) / sum(weights)
    assert pool(odds, "attention") == pytest.approx(expected)
    assert pool([0.5, 2.0], "max") == 2.0


def test_held_out_pubmedqa_questions_are_not_trained_on(tmp_path) -> None:
    entry = {"QUESTION": "Does X help?", "CONTEXTS": ["X helped."], "LONG_ANSWER": "Yes."}
    data = {
        "1": {**entry, "final_decision": "yes"},
        "2": {**entry, "QUESTION": "Does Y help?", "final_decision": "no"},
        "3": {**entry, "final_decision": "maybe"},
    }
    pqal = tmp_path / "ori_pqal.json"
    pqal.write_text(json.dumps(data), encoding="utf-8")
    truth = tmp_path / "test_ground_truth.json"
    truth.write_text(json.dumps({"2": "no"}), encoding="utf-8")
    held_out = set(read_pubmedqa_labels(truth))
    assert held_out == {"2"}
    assert {p.question for p in pairs_from_pubmedqa(pqal)} == {"Does X help?", "Does Y help?"}
    assert {p.question for p in pairs_from_pubmedqa(pqal, held_out)} == {"Does X help?"}
    assert read_pubmedqa_labels(pqal) == {"1": "yes", "2": "no", "3": "maybe"}


def test_a_file_without_labels_is_refused_with_what_to_pass(tmp_path) -> None:
    bad = tmp_path / "labels.json"
    bad.write_text(json.dumps({"7": "perhaps"}), encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="test_ground_truth.json"):
        read_pubmedqa_labels(bad)
