"""BioASQ task B measures against hand-computed values (rules of the official Java evaluator)."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import pytest

from qa.corpus.bioasq import Snippet, read_questions
from qa.errors import CorpusFormatError, QAError
from qa.evaluate.bioasq import (
    JAVA_DEFAULT_VERSION,
    evaluate_bioasq,
    evaluate_phase_a,
    evaluate_phase_b,
)
from qa.evaluate.bioasq.phase_a import merge_overlapping
from qa.evaluate.bioasq.squad import squad_em_f1

BIOASQ_10B1 = (
    "bioasq/Teddy-XiongGZ__MIRAGE/rawdata__bioasq__Task10BGoldenEnriched__10B1_golden.json"
)
EPS = 0.00001  # the Java's GMAP epsilon
PUBMED = "http://www.ncbi.nlm.nih.gov/pubmed/"


def q(qid: str, qtype: str, exact=None, **fields) -> dict:
    question = {"id": qid, "type": qtype, **fields}
    if exact is not None:
        question["exact_answer"] = exact
    return question


def snip(doc: str, begin: int, end: int, section: str = "abstract") -> dict:
    return {
        "document": doc,
        "beginSection": section,
        "endSection": section,
        "offsetInBeginSection": begin,
        "offsetInEndSection": end,
        "text": "...",
    }


# ---------------------------------------------------------------------------------------------
# Phase B: factoid
# ---------------------------------------------------------------------------------------------


def test_factoid_synonyms_case_and_rank_three() -> None:
    gold = [
        q("f1", "factoid", [["Imatinib", "Gleevec"]]),
        q("f2", "factoid", [["BRCA1"]]),
        q("f3", "factoid", [["insulin"]]),
    ]
    sub = [
        q("f1", "factoid", [["GLEEVEC"]]),  # second synonym, other case: strict 1, RR 1
        q("f2", "factoid", [["tp53"], ["brca2"], ["Brca1"]]),  # right at rank 3: 0, 1, 1/3
        q("f3", "factoid", [["glucagon"]]),  # wrong: 0, 0, 0
    ]
    r = evaluate_phase_b(gold, sub, version=9)["factoid"]
    assert r["questions"] == 3
    assert r["strict_accuracy"] == pytest.approx(1 / 3)  # (1 + 0 + 0) / 3
    assert r["lenient_accuracy"] == pytest.approx(2 / 3)  # (1 + 1 + 0) / 3
    assert r["mrr"] == pytest.approx(4 / 9)  # (1 + 1/3 + 0) / 3 = (4/3) / 3


def test_factoid_answers_past_the_fifth_count_in_the_java_but_not_with_the_guideline_cap() -> None:
    gold = [q("f", "factoid", [["x"]])]
    sub = [q("f", "factoid", [["a"], ["b"], ["c"], ["d"], ["e"], ["X"]])]
    java = evaluate_phase_b(gold, sub, version=9)["factoid"]
    assert java["lenient_accuracy"] == 1.0  # the Java reads every candidate
    assert java["mrr"] == pytest.approx(1 / 6)  # match at rank 6
    capped = evaluate_phase_b(gold, sub, version=9, max_factoid_answers=5)["factoid"]
    assert (capped["lenient_accuracy"], capped["mrr"]) == (0.0, 0.0)  # rank 6 is cut


def test_submitted_synonyms_count_before_version_5_only() -> None:
    gold = [q("f", "factoid", [["a"]])]
    sub = [q("f", "factoid", [["b", "a"]])]
    # version 3 keeps the submitted synonym "a": strict 1; since version 5 only "b" is read: 0
    assert evaluate_phase_b(gold, sub, version=3)["factoid"]["strict_accuracy"] == 1.0
    assert evaluate_phase_b(gold, sub, version=5)["factoid"]["strict_accuracy"] == 0.0


def test_answers_are_lower_cased_but_not_trimmed() -> None:
    gold = [q("f", "factoid", [["BRCA1"]])]
    assert evaluate_phase_b(gold, [q("f", "factoid", [["brca1"]])], 9)["factoid"]["mrr"] == 1.0
    # " brca1" keeps its space in the Java reader, so it does not match
    assert evaluate_phase_b(gold, [q("f", "factoid", [[" brca1"]])], 9)["factoid"]["mrr"] == 0.0


def test_version_2_default_reads_flat_factoid_lists_and_strict_looks_at_first_gold_synonym() -> (
    None
):
    assert JAVA_DEFAULT_VERSION == 2
    gold = [q("f", "factoid", ["Imatinib", "Gleevec"])]
    sub = [q("f", "factoid", ["gleevec", "other"])]
    r = evaluate_phase_b(gold, sub)["factoid"]  # default version: 2
    # strict compares first submitted with FIRST gold synonym only: "gleevec" != "imatinib" -> 0
    assert r["strict_accuracy"] == 0.0
    assert r["lenient_accuracy"] == 1.0  # "gleevec" is among the gold strings
    assert r["mrr"] == 1.0  # at rank 1
    # nested (current) format under version 2: flat lists are empty, everything scores 0
    nested = evaluate_phase_b([q("f", "factoid", [["x"]])], [q("f", "factoid", [["x"]])])
    assert nested["factoid"]["strict_accuracy"] == 0.0


# ---------------------------------------------------------------------------------------------
# Phase B: list
# ---------------------------------------------------------------------------------------------


def test_list_with_duplicated_submitted_items() -> None:
    gold = [q("l", "list", [["casirivimab"], ["imdevimab"]])]
    sub = [q("l", "list", [["Casirivimab"], ["casirivimab"], ["etesevimab"]])]
    r = evaluate_phase_b(gold, sub, version=9)["list"]
    # first "casirivimab" matches and removes the gold item -> TP 1; the duplicate finds nothing
    # left -> FP; "etesevimab" -> FP. Gold "imdevimab" left unmatched -> FN 1.
    assert r["mean_precision"] == pytest.approx(1 / 3)  # 1 / (1 + 2)
    assert r["mean_recall"] == pytest.approx(1 / 2)  # 1 / (1 + 1)
    assert r["mean_f1"] == pytest.approx(0.4)  # 2 * 1/3 * 1/2 / (1/3 + 1/2) = (1/3)/(5/6)


def test_list_item_matching_two_synonyms_of_one_gold_item_counts_once() -> None:
    gold = [q("l", "list", [["tnf", "tnf-alpha"], ["il6"]])]
    both = [q("l", "list", [["TNF", "TNF-alpha"]])]
    r = evaluate_phase_b(gold, both, version=3)["list"]
    # one submitted item, one gold item matched (TP 1, FP 0); "il6" missed (FN 1)
    assert (r["mean_precision"], r["mean_recall"]) == (1.0, 0.5)  # 1/1, 1/(1+1)
    assert r["mean_f1"] == pytest.approx(2 / 3)  # 2 * 1 * 1/2 / (3/2)
    split = [q("l", "list", [["tnf"], ["tnf-alpha"]])]
    r = evaluate_phase_b(gold, split, version=9)["list"]
    # the second synonym finds its gold item already taken: TP 1, FP 1; "il6" -> FN 1
    assert (r["mean_precision"], r["mean_recall"], r["mean_f1"]) == (0.5, 0.5, 0.5)


def test_list_gold_item_left_over_is_saved_by_an_item_holding_its_synonym() -> None:
    gold = [q("l", "list", [["a"], ["b"]])]
    sub = [q("l", "list", [["a", "b"]])]
    # version 3: the item takes gold "a" (TP 1); gold "b" is then found in that same item, so
    # it is not a false negative: P = 1/1, R = 1/(1+0)
    r3 = evaluate_phase_b(gold, sub, version=3)["list"]
    assert (r3["mean_precision"], r3["mean_recall"], r3["mean_f1"]) == (1.0, 1.0, 1.0)
    # version 5 keeps only "a" of the item: "b" is a false negative, R = 1/2, F = 2/3
    r5 = evaluate_phase_b(gold, sub, version=5)["list"]
    assert (r5["mean_precision"], r5["mean_recall"]) == (1.0, 0.5)
    assert r5["mean_f1"] == pytest.approx(2 / 3)


def test_list_means_over_questions_with_an_empty_answer() -> None:
    gold = [q("l1", "list", [["a"], ["b"]]), q("l2", "list", [["c"]])]
    sub = [q("l1", "list", [["a"], ["b"]]), q("l2", "list", [])]
    r = evaluate_phase_b(gold, sub, version=9)["list"]
    # l1: P = R = F = 1; l2: empty answer scores 0, 0, 0 -> means (1 + 0) / 2
    assert (r["mean_precision"], r["mean_recall"], r["mean_f1"], r["questions"]) == (
        0.5,
        0.5,
        0.5,
        2,
    )


# ---------------------------------------------------------------------------------------------
# Phase B: yes/no
# ---------------------------------------------------------------------------------------------


def test_yesno_accuracy_and_macro_f1_on_a_small_confusion_matrix() -> None:
    golds = ["yes", "yes", "yes", "no", "no"]
    answers = ["Yes.", "YES", "no", "No", "yes"]  # right, right, wrong, right, wrong
    gold = [q(f"y{i}", "yesno", g) for i, g in enumerate(golds)]
    sub = [q(f"y{i}", "yesno", a) for i, a in enumerate(answers)]
    r = evaluate_phase_b(gold, sub, version=9)["yesno"]
    assert r["questions"] == 5
    assert r["accuracy"] == pytest.approx(3 / 5)
    # yes: TP 2, missed yes 1, wrong on a "no" question 1 -> 2*2 / (2*2 + 1 + 1) = 4/6
    assert r["f1_yes"] == pytest.approx(2 / 3)
    # no: TP 1, missed no 1, wrong on a "yes" question 1 -> 2*1 / (2*1 + 1 + 1) = 2/4
    assert r["f1_no"] == pytest.approx(1 / 2)
    assert r["macro_f1"] == pytest.approx(7 / 12)  # (2/3 + 1/2) / 2


def test_yesno_label_without_examples_gets_f1_zero() -> None:
    gold = [q("y1", "yesno", "yes"), q("y2", "yesno", "yes")]
    sub = [q("y1", "yesno", "yes"), q("y2", "yesno", "yes")]
    r = evaluate_phase_b(gold, sub, version=9)["yesno"]
    # "no": TP 0, no misses, no false "no" -> denominator 0 -> the Java returns 0
    assert (r["accuracy"], r["f1_yes"], r["f1_no"]) == (1.0, 1.0, 0.0)
    assert r["macro_f1"] == 0.5  # (1 + 0) / 2 even for a perfect run


def test_yesno_text_is_read_by_substring() -> None:
    gold = [q("y", "yesno", "no")]
    # "Not known" contains "no": the Java reads it as "no", which is right here
    assert evaluate_phase_b(gold, [q("y", "yesno", "Not known")], 9)["yesno"]["accuracy"] == 1.0


# ---------------------------------------------------------------------------------------------
# Questions missing from the submission, version by version
# ---------------------------------------------------------------------------------------------


def _gold_with_missing() -> list[dict]:
    return [
        q("f1", "factoid", [["a"]]),
        q("f2", "factoid", [["b"]]),  # not submitted
        q("s1", "summary"),  # not submitted, no exact answer
    ]


def test_missing_question_is_left_out_under_version_9() -> None:
    r = evaluate_phase_b(_gold_with_missing(), [q("f1", "factoid", [["a"]])], version=9)
    # only f1 is scored: 1/1, not 1/2
    assert (r["factoid"]["questions"], r["factoid"]["strict_accuracy"]) == (1, 1.0)


@pytest.mark.parametrize("version", [2, 3, 5, 8])
def test_missing_question_fails_like_the_java_before_version_9(version: int) -> None:
    with pytest.raises(CorpusFormatError, match=r"submission, question f2: .*missing"):
        evaluate_phase_b(_gold_with_missing(), [q("f1", "factoid", [["a"]])], version=version)


@pytest.mark.parametrize("version", [2, 3, 5, 8, 9])
def test_missing_summary_question_is_harmless(version: int) -> None:
    gold = [q("y", "yesno", "yes"), q("s", "summary")]
    r = evaluate_phase_b(gold, [q("y", "yesno", "yes")], version=version)
    assert (r["yesno"]["questions"], r["yesno"]["accuracy"]) == (1, 1.0)


def test_gold_without_exact_answer_is_skipped_only_under_version_9() -> None:
    gold = [q("f1", "factoid", [["a"]]), q("f2", "factoid", [])]
    sub = [q("f1", "factoid", [["a"]]), q("f2", "factoid", [["b"]])]
    assert evaluate_phase_b(gold, sub, version=9)["factoid"]["strict_accuracy"] == 1.0  # 1/1
    assert evaluate_phase_b(gold, sub, version=8)["factoid"]["strict_accuracy"] == 0.5  # 1/2


def test_submitted_question_without_exact_answer_scores_zero() -> None:
    gold = [q("f1", "factoid", [["a"]]), q("f2", "factoid", [["b"]])]
    sub = [q("f1", "factoid", [["a"]]), {"id": "f2", "type": "factoid"}]
    r = evaluate_phase_b(gold, sub, version=8)["factoid"]
    assert (r["questions"], r["strict_accuracy"]) == (2, 0.5)  # (1 + 0) / 2


# ---------------------------------------------------------------------------------------------
# Phase A: documents
# ---------------------------------------------------------------------------------------------


def _doc_run() -> tuple[list[dict], list[dict]]:
    g = [f"{PUBMED}{i}" for i in range(1, 13)]
    gold = [
        q("a", "summary", documents=[g[0], g[1], g[2]]),
        q("b", "summary", documents=g),  # 12 gold documents
    ]
    sub = [
        # relevant at ranks 1, 3, 5; the duplicate of g[0] is dropped on reading
        q("a", "summary", documents=[g[0], g[0], "x", g[2], "y", g[1]]),
        q("b", "summary", documents=[g[0], g[1]]),
    ]
    return gold, sub


def test_document_precision_recall_f1() -> None:
    r = evaluate_phase_a(*_doc_run(), version=8)["documents"]
    # a: P = 3/5, R = 3/3, F = 2*0.6*1/1.6 = 0.75;  b: P = 2/2, R = 2/12, F = 2*(1/6)/(7/6) = 2/7
    assert r["mean_precision"] == pytest.approx(0.8)  # (0.6 + 1) / 2
    assert r["mean_recall"] == pytest.approx(7 / 12)  # (1 + 1/6) / 2
    assert r["f_measure"] == pytest.approx(29 / 56)  # (3/4 + 2/7) / 2 = (21/28 + 8/28) / 2


@pytest.mark.parametrize(
    ("version", "ap_a", "ap_b"),
    [
        # a: precisions at the relevant ranks 1/1 + 2/3 + 3/5 = 34/15;  b: 1/1 + 2/2 = 2
        (2, 34 / 45, 2 / 12),  # divisor |gold|: 3 and 12
        (3, 34 / 150, 2 / 10),  # divisor 10
        (5, 34 / 150, 2 / 10),  # divisor 10
        (8, 34 / 45, 2 / 10),  # divisor min(10, |gold|): 3 and 10
        (9, 34 / 45, 2 / 10),
    ],
)
def test_document_map_official_divisor(version: int, ap_a: float, ap_b: float) -> None:
    r = evaluate_phase_a(*_doc_run(), version=version)["documents"]
    assert r["map"] == pytest.approx((ap_a + ap_b) / 2)  # v8: (34/45 + 9/45) / 2 = 43/90
    assert r["gmap"] == pytest.approx(math.sqrt((ap_a + EPS) * (ap_b + EPS)))
    assert r["questions"] == 2


def test_document_ap_can_exceed_one_and_zero_uses_epsilon_in_gmap() -> None:
    g = [f"{PUBMED}{i}" for i in range(12)]
    gold = [q("a", "summary", documents=g), q("b", "summary", documents=["d"])]
    sub = [q("a", "summary", documents=g), q("b", "summary", documents=["other"])]
    r = evaluate_phase_a(gold, sub, version=9)["documents"]
    # a: 12 relevant at ranks 1..12, each precision 1 -> 12 / min(10, 12) = 1.2;  b: AP 0
    assert r["map"] == pytest.approx(0.6)  # (1.2 + 0) / 2
    assert r["gmap"] == pytest.approx(math.sqrt((1.2 + EPS) * EPS))


def test_documents_are_compared_as_exact_strings() -> None:
    gold = [q("a", "summary", documents=[f"{PUBMED}123"])]
    r = evaluate_phase_a(gold, [q("a", "summary", documents=["123"])], 9)["documents"]
    assert (r["mean_precision"], r["map"]) == (0.0, 0.0)  # a bare PMID is not the URL


# ---------------------------------------------------------------------------------------------
# Phase A: snippets
# ---------------------------------------------------------------------------------------------


def test_snippet_overlap_on_toy_offsets() -> None:
    d1, d2, d3 = f"{PUBMED}1", f"{PUBMED}2", f"{PUBMED}3"
    gold = [
        q(
            "a",
            "summary",
            documents=[d1, d2],
            snippets=[
                snip(d1, 0, 99),
                snip(d1, 50, 149),  # overlaps the first: merged into [0, 149], 150 characters
                snip(d2, 0, 19, "title"),  # 20 characters
            ],
        )
    ]
    sub = [
        q(
            "a",
            "summary",
            snippets=[
                snip(d1, 100, 199),  # 100 chars; shares [100, 149] = 50 with the merged gold
                snip(d2, 0, 19),  # 20 chars; abstract vs gold title: shares 0
                snip(d3, 0, 9),  # 10 chars; no gold in d3
            ],
        )
    ]
    r = evaluate_phase_a(gold, sub, version=8)["snippets"]
    assert r["mean_precision"] == pytest.approx(5 / 13)  # 50 / (100 + 20 + 10)
    assert r["mean_recall"] == pytest.approx(5 / 17)  # 50 / (150 + 20)
    # 2 * 5/13 * 5/17 / (5/13 + 5/17) = (50/221) / (150/221)
    assert r["f_measure"] == pytest.approx(1 / 3)
    # AP: rank 1: 50/100, relevant; rank 2: 50/120, "relevant" because d2 has a gold snippet
    # (the Java never checks the overlap); rank 3: d3 has none -> 0.
    # (1/2 + 5/12) = 11/12, divided by min(10, 2 merged gold snippets) = 2
    assert r["map"] == pytest.approx(11 / 24)
    assert r["gmap"] == pytest.approx(11 / 24 + EPS)  # one question
    r3 = evaluate_phase_a(gold, sub, version=3)["snippets"]
    assert r3["map"] == pytest.approx(11 / 120)  # divisor 10


def test_snippets_match_on_pmid_for_overlap_but_on_full_url_for_ap() -> None:
    gold = [q("a", "summary", snippets=[snip(f"{PUBMED}7", 0, 9)])]
    sub = [q("a", "summary", snippets=[snip("7", 0, 9)])]
    r = evaluate_phase_a(gold, sub, version=9)["snippets"]
    # last path segments agree ("7"): 10/10 characters; full strings differ: AP 0
    assert (r["mean_precision"], r["mean_recall"], r["f_measure"], r["map"]) == (1, 1, 1, 0)


def section_snippet(section: str, begin: int, end: int) -> Snippet:
    """A snippet of document "d" that begins and ends in ``section``."""
    return Snippet(document="d", section=section, end_section=section, begin=begin, end=end)


def test_section_zero_meets_abstract_in_one_direction_only() -> None:
    zero = section_snippet("0", 0, 9)
    abstract = section_snippet("abstract", 5, 14)
    assert zero.overlap(abstract) == 5  # [5, 9], inclusive ends
    assert abstract.overlap(zero) == 0
    gold = [q("a", "summary", snippets=[snip("d", 5, 14)])]
    sub = [q("a", "summary", snippets=[snip("d", 0, 9, "sections.0")])]  # read as section "0"
    r = evaluate_phase_a(gold, sub, version=9)["snippets"]
    assert r["mean_precision"] == pytest.approx(0.5)  # 5 / 10


def test_merge_overlapping_snippets() -> None:
    s = [
        section_snippet("abstract", 0, 9),
        section_snippet("title", 0, 30),  # other section: kept apart
        section_snippet("abstract", 20, 29),
        section_snippet("abstract", 5, 25),  # joins the first and the third
    ]
    merge_overlapping(s)
    assert [(x.begin_section, x.begin, x.end) for x in s] == [
        ("abstract", 0, 29),
        ("title", 0, 30),
    ]


# ---------------------------------------------------------------------------------------------
# Phase A: which questions count
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [2, 3, 5, 8, 9])
def test_phase_a_leaves_missing_questions_out(version: int) -> None:
    gold = [
        q("a", "summary", documents=["d1"], snippets=[snip("d1", 0, 9)]),
        q("b", "summary", documents=["d2"], snippets=[snip("d2", 0, 9)]),
    ]
    sub = [q("a", "summary", documents=["d1"], snippets=[snip("d1", 0, 9)])]
    r = evaluate_phase_a(gold, sub, version=version)
    assert (r["documents"]["questions"], r["documents"]["mean_precision"]) == (1, 1.0)
    assert (r["snippets"]["questions"], r["snippets"]["mean_precision"]) == (1, 1.0)


def test_version_9_skips_gold_without_documents_or_snippets() -> None:
    gold = [q("a", "summary", documents=["d1"]), q("b", "summary", snippets=[snip("d", 0, 9)])]
    sub = [q("a", "summary", documents=["d1"]), q("b", "summary", snippets=[snip("d", 0, 9)])]
    r9 = evaluate_phase_a(gold, sub, version=9)
    assert (r9["documents"]["questions"], r9["snippets"]["questions"]) == (1, 1)
    assert r9["documents"]["map"] == 1.0  # a: 1/min(10, 1)
    r8 = evaluate_phase_a(gold, sub, version=8)
    assert (r8["documents"]["questions"], r8["snippets"]["questions"]) == (2, 2)
    assert r8["documents"]["map"] == 0.5  # (1 + 0) / 2


def test_no_scored_question_gives_the_java_nans() -> None:
    gold = [q("a", "summary", documents=["d"], snippets=[snip("d", 0, 9)])]
    r = evaluate_phase_a(gold, [q("zzz", "summary")], version=9)
    docs, snips = r["documents"], r["snippets"]
    assert (docs["mean_precision"], docs["mean_recall"]) == (0.0, 0.0)  # guarded: 0
    assert all(math.isnan(docs[k]) for k in ("f_measure", "map", "gmap"))  # 0 / 0
    assert all(math.isnan(snips[k]) for k in ("mean_precision", "mean_recall", "f_measure", "map"))
    assert snips["gmap"] == 0.0  # log-sum 0 -> 0


def test_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        evaluate_phase_a([], [], version=4)


# ---------------------------------------------------------------------------------------------
# Malformed input
# ---------------------------------------------------------------------------------------------


def _write(path: Path, questions: list[dict]) -> Path:
    path.write_text(json.dumps({"questions": questions}), encoding="utf-8")
    return path


def test_malformed_submission_names_file_and_question(tmp_path: Path) -> None:
    gold = _write(tmp_path / "gold.json", [q("5e2f0001", "list", [["a"], ["b"]])])
    sub = _write(tmp_path / "sub.json", [q("5e2f0001", "list", ["a", "b"])])
    with pytest.raises(CorpusFormatError) as err:
        evaluate_bioasq(gold, sub, version=9)
    assert "sub.json, question 5e2f0001: 'exact_answer' must be a list of lists for a list" in str(
        err.value
    )
    assert isinstance(err.value, QAError)


def test_malformed_yesno_submission(tmp_path: Path) -> None:
    gold = _write(tmp_path / "gold.json", [q("y1", "yesno", "yes")])
    sub = _write(tmp_path / "sub.json", [q("y1", "yesno", ["yes"])])
    with pytest.raises(CorpusFormatError, match=r"sub\.json, question y1: 'exact_answer' must be"):
        evaluate_bioasq(gold, sub, version=9)


def test_malformed_gold_names_file_and_question(tmp_path: Path) -> None:
    gold = _write(tmp_path / "gold.json", [q("f1", "factoid", "Imatinib")])
    sub = _write(tmp_path / "sub.json", [q("f1", "factoid", [["imatinib"]])])
    with pytest.raises(CorpusFormatError, match=r"gold\.json, question f1: 'exact_answer'"):
        evaluate_bioasq(gold, sub, version=9)
    bad_snippet = [q("f1", "factoid", [["x"]], snippets=[{"offsetInBeginSection": "zero"}])]
    _write(tmp_path / "gold.json", bad_snippet)
    with pytest.raises(CorpusFormatError, match=r"gold\.json, question f1: 'offsetInBeginSection'"):
        evaluate_bioasq(gold, sub, version=9)


def test_gold_without_exact_answer_fails_before_version_9(tmp_path: Path) -> None:
    gold = _write(tmp_path / "gold.json", [q("l1", "list")])
    sub = _write(tmp_path / "sub.json", [q("l1", "list", [["a"]])])
    with pytest.raises(CorpusFormatError, match=r"gold\.json, question l1: .*no 'exact_answer'"):
        evaluate_bioasq(gold, sub, version=8)
    assert evaluate_bioasq(gold, sub, version=9)["phase_b"]["list"]["questions"] == 0


def test_a_submission_file_is_checked_for_structure(tmp_path: Path) -> None:
    path = tmp_path / "sub.json"
    _write(path, [q("a", "factoid", [["x"]]), {"type": "factoid"}])
    with pytest.raises(CorpusFormatError, match=r"sub\.json, question #2: no 'id'"):
        read_questions(path)
    path.write_text('{"questions": [', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"sub\.json, line 1: not valid JSON"):
        read_questions(path)
    with pytest.raises(CorpusFormatError, match="no such file"):
        read_questions(tmp_path / "absent.json")


# ---------------------------------------------------------------------------------------------
# SQuAD-style scores
# ---------------------------------------------------------------------------------------------


def test_squad_em_f1() -> None:
    assert squad_em_f1("The BRCA1 gene.", ["brca1 gene"]) == (1.0, 1.0)  # article, dot, case
    # tokens {brca1, protein} vs {brca1, gene}: 1 shared -> P = R = 1/2 -> F1 = 1/2
    assert squad_em_f1("BRCA1 protein", ["brca1 gene"]) == (0.0, 0.5)
    assert squad_em_f1("insulin", ["glucagon", "Insulin"]) == (1.0, 1.0)  # best gold
    assert squad_em_f1("x", []) == (0.0, 0.0)


# ---------------------------------------------------------------------------------------------
# Integration: a perfect run built from the 10B1 gold
# ---------------------------------------------------------------------------------------------


def _merged_count(snippets: list[dict]) -> int:
    """Gold snippets left after joining overlapping ones (inclusive offsets) per section."""
    spans = defaultdict(list)
    for s in snippets:
        key = (s["document"], s["beginSection"], s["endSection"])
        spans[key].append((s["offsetInBeginSection"], s["offsetInEndSection"]))
    count = 0
    for intervals in spans.values():
        end = None
        for b, e in sorted(intervals):
            if end is None or b > end:
                count += 1
                end = e
            else:
                end = max(end, e)
    return count


@pytest.mark.integration
def test_perfect_run_on_the_10b1_gold(shared_file, tmp_path: Path) -> None:
    gold_path = shared_file(BIOASQ_10B1)
    gold = json.loads(gold_path.read_text(encoding="utf-8"))["questions"]
    submission = []
    for g in gold:
        s = {"id": g["id"], "type": g["type"], "documents": g["documents"]}
        s["snippets"] = g["snippets"]
        if g["type"] in ("factoid", "list"):
            s["exact_answer"] = [[item[0]] for item in g["exact_answer"]]  # first synonym
        elif g["type"] == "yesno":
            s["exact_answer"] = g["exact_answer"]
        submission.append(s)
    sub_path = _write(tmp_path / "perfect.json", submission)

    r = evaluate_bioasq(gold_path, sub_path, version=9)
    b = r["phase_b"]
    assert (b["factoid"]["strict_accuracy"], b["factoid"]["mrr"]) == (1.0, 1.0)
    assert b["list"]["mean_f1"] == 1.0
    assert b["yesno"]["accuracy"] == 1.0
    counts = {t: sum(g["type"] == t for g in gold) for t in ("factoid", "list", "yesno")}
    assert {t: b[t]["questions"] for t in counts} == counts

    # Perfect AP is n / min(10, n): more than 1 for questions with over 10 gold items, since
    # nothing is cut to 10. Snippets count after merging overlapping gold snippets.
    doc_ap = [len(g["documents"]) / min(10, len(g["documents"])) for g in gold]
    snip_n = [_merged_count(g["snippets"]) for g in gold]
    snip_ap = [n / min(10, n) for n in snip_n]
    a = r["phase_a"]
    assert (a["documents"]["mean_precision"], a["documents"]["mean_recall"]) == (1.0, 1.0)
    assert a["documents"]["map"] == pytest.approx(sum(doc_ap) / len(doc_ap))
    assert a["documents"]["map"] > 1.0
    assert a["documents"]["gmap"] == pytest.approx(
        math.exp(sum(math.log(x + EPS) for x in doc_ap) / len(doc_ap))
    )
    assert a["snippets"]["mean_precision"] == pytest.approx(1.0)
    assert a["snippets"]["mean_recall"] == pytest.approx(1.0)
    assert a["snippets"]["map"] == pytest.approx(sum(snip_ap) / len(snip_ap))

    # Under the Java's default version (2) the nested factoid answers all score 0.
    default = evaluate_bioasq(gold_path, sub_path)
    assert default["phase_b"]["factoid"]["strict_accuracy"] == 0.0
