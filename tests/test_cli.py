"""The command line, driven the way a user drives it."""

from __future__ import annotations

import json

import pytest

from qa.cli import main

from .test_embedder_training import golden_file


@pytest.fixture()
def tiny_profile_file(tmp_path, tiny_model):
    path = tmp_path / "tiny.toml"
    path.write_text(
        f'name = "tiny"\n[embedder]\nmodel = "{tiny_model}"\nmax_seq_length = 128\n'
        "[chunking]\nmax_tokens = 200\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture()
def passages_file(tmp_path, sample_passages):
    path = tmp_path / "passages.jsonl"
    path.write_text(
        "".join(json.dumps(p.to_dict()) + "\n" for p in sample_passages), encoding="utf-8"
    )
    return path


@pytest.fixture()
def index_dir(tmp_path, passages_file, tiny_profile_file):
    out = tmp_path / "indexes" / "sample"
    assert (
        main(
            [
                "index",
                "build",
                str(passages_file),
                "-o",
                str(out),
                "--profile",
                str(tiny_profile_file),
            ]
        )
        == 0
    )
    return out


def test_search_prints_ranked_passages_as_json(index_dir, capsys) -> None:
    capsys.readouterr()
    assert (
        main(
            [
                "search",
                "Which gene is mutated in Rett syndrome?",
                "--index",
                str(index_dir),
                "--mode",
                "bm25",
                "-k",
                "3",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "bm25"
    assert len(out["hits"]) == 3
    assert out["hits"][0]["passage"]["id"] == "p1"
    assert out["hits"][0]["passage"]["pmid"] == "1001"


def test_hybrid_search_shows_which_retrievers_found_each_passage(index_dir, capsys) -> None:
    capsys.readouterr()
    assert main(["search", "Rett syndrome MECP2", "--index", str(index_dir), "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert len(hits) == 10
    assert hits[0]["passage"]["id"] == "p1"
    assert hits[0]["sources"] == {"bm25": 1, "dense": 1}


def test_index_info_verifies_checksums(index_dir, capsys) -> None:
    capsys.readouterr()
    assert main(["index", "info", str(index_dir), "--verify"]) == 0
    out = capsys.readouterr().out
    assert "passages    12" in out
    assert "all files match" in out


def test_index_add_delete_and_compact_keep_the_index_searchable(
    index_dir, tmp_path, capsys
) -> None:
    new = tmp_path / "new.jsonl"
    added = {"id": "n1", "text": "Fragile X syndrome is caused by FMR1 repeats.", "pmid": "2001"}
    new.write_text(json.dumps(added) + "\n", encoding="utf-8")
    assert main(["index", "add", str(index_dir), str(new)]) == 0
    assert "Added 1 passages" in capsys.readouterr().err
    deleted = tmp_path / "deleted.txt"
    deleted.write_text("# withdrawn\n1001\n\n2001\n", encoding="utf-8")
    assert main(["index", "delete", str(index_dir), "--pmids", str(deleted)]) == 0
    assert "Hid 2 passages of 2 PMIDs" in capsys.readouterr().err
    assert main(["index", "compact", str(index_dir)]) == 0
    assert main(["index", "info", str(index_dir), "--verify"]) == 0
    assert "passages    11 searchable of 11 stored" in capsys.readouterr().out
    assert main(["search", "MECP2 FMR1", "--index", str(index_dir), "--json", "-k", "20"]) == 0
    found = {h["passage"]["pmid"] for h in json.loads(capsys.readouterr().out)["hits"]}
    assert found and not found & {"1001", "2001"}


def test_a_pmid_list_with_a_word_in_it_is_refused_in_one_line(index_dir, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("1001\nMECP2\n", encoding="utf-8")
    assert main(["index", "delete", str(index_dir), "--pmids", str(bad)]) == 2
    assert "'MECP2' is not a PMID; give one PMID (digits) per line." in capsys.readouterr().err


def test_corpus_command_writes_passages_from_bioasq_golden_files(tmp_path) -> None:
    gold = golden_file(tmp_path / "gold.json")
    out = tmp_path / "passages.jsonl"
    assert main(["corpus", "bioasq", str(gold), "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    # One passage per snippet, each with its document's PMID and an id made from its text.
    assert [r["pmid"] for r in rows] == ["100", "100", "101", "102", "103", "104"]
    assert len({r["id"] for r in rows}) == 6 and all(r["id"].startswith("bioasq:") for r in rows)


def test_malformed_corpus_is_a_one_line_error_naming_file_and_line(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "fine"}\n{"id": "b"}\n', encoding="utf-8")
    assert main(["corpus", "jsonl", str(bad), "-o", str(tmp_path / "out.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "bad.jsonl, line 2" in err
    assert not (tmp_path / "out.jsonl").exists()


def test_searching_a_missing_index_says_how_to_build_it(tmp_path, capsys) -> None:
    assert main(["search", "anything", "--index", str(tmp_path / "none")]) == 2
    assert "qa index build" in capsys.readouterr().err


def test_empty_query_is_refused(index_dir, capsys) -> None:
    assert main(["search", "   ", "--index", str(index_dir)]) == 2
    assert "question is empty" in capsys.readouterr().err


def test_eval_retrieval_reports_every_retriever(tmp_path, tiny_profile_file, capsys) -> None:
    gold = golden_file(tmp_path / "gold.json")
    passages = tmp_path / "passages.jsonl"
    assert main(["corpus", "bioasq", str(gold), "-o", str(passages)]) == 0
    index = tmp_path / "idx"
    assert (
        main(
            ["index", "build", str(passages), "-o", str(index), "--profile", str(tiny_profile_file)]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["eval", "retrieval", "--gold", str(gold), "--index", str(index), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"bm25", "dense", "hybrid"}
    for metrics in result.values():
        assert metrics["questions"] == 5
        assert set(metrics) == {"hit@10", "mrr@10", "recall@100", "map@10", "questions"}
        # Six passages in all: every gold passage is within the top 100.
        assert metrics["recall@100"] == 1.0
    assert result["bm25"] == {
        "hit@10": 1.0,
        "mrr@10": 1.0,
        "recall@100": 1.0,
        "map@10": 1.0,
        "questions": 5,
    }


def test_demo_builds_its_index_once_then_reuses_it(tmp_path, tiny_profile_file, capsys) -> None:
    index = tmp_path / "demo"
    argv = [
        "demo",
        "Which gene is mutated in Rett syndrome?",
        "--index",
        str(index),
        "--profile",
        str(tiny_profile_file),
        "-k",
        "2",
    ]
    assert main(argv) == 0
    first = capsys.readouterr()
    assert "Building the demo index" in first.err
    assert "Rett syndrome" in first.out and "demo-" in first.out
    assert main(argv) == 0
    second = capsys.readouterr()
    assert "Building" not in second.err
    assert first.out == second.out


def bioasq_file(path, *questions: dict) -> str:
    path.write_text(json.dumps({"questions": list(questions)}), encoding="utf-8")
    return str(path)


def bioasq_question(qid: str, qtype: str, exact_answer, documents: list[str]) -> dict:
    """A question in the BioASQ format (gold and submission alike), without snippets."""
    return {
        "id": qid,
        "body": {"f1": "Which gene?", "y1": "Is it?"}[qid],
        "type": qtype,
        "exact_answer": exact_answer,
        "documents": [f"http://www.ncbi.nlm.nih.gov/pubmed/{pmid}" for pmid in documents],
        "snippets": [],
    }


def test_eval_score_scores_a_submission_without_running_models(tmp_path, capsys) -> None:
    gold = bioasq_file(
        tmp_path / "gold.json",
        bioasq_question("f1", "factoid", [["MECP2", "MeCP2 gene"]], ["1"]),
        bioasq_question("y1", "yesno", "yes", ["2"]),
    )
    submission = bioasq_file(
        tmp_path / "sub.json",
        bioasq_question("f1", "factoid", [["FOXG1"], ["mecp2"]], ["1"]),
        bioasq_question("y1", "yesno", "yes", []),
    )
    assert main(["eval", "score", "--gold", gold, "--submission", submission, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    factoid = result["phase_b"]["factoid"]
    # "mecp2" is the second candidate: strict 0, lenient 1, MRR 1/2.
    assert (factoid["strict_accuracy"], factoid["lenient_accuracy"], factoid["mrr"]) == (
        0.0,
        1.0,
        0.5,
    )
    assert result["phase_b"]["yesno"]["accuracy"] == 1.0


def test_train_qtype_leaves_dev_questions_out_of_training(tmp_path, capsys) -> None:
    """BioASQ repeats questions across batches; a dev question (any case) is not trained on."""
    train = golden_file(tmp_path / "train.json")
    dev = golden_file(
        tmp_path / "dev.json",
        [("d1", "WHAT CAUSES MALARIA?", ["Malaria is caused by Plasmodium."])],
    )
    argv = ["train", "qtype", "--train", str(train), "--dev", str(dev)]
    assert main([*argv, "-o", str(tmp_path / "qtype")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["train_questions"], result["dev_questions"]) == (4, 1)


def test_eval_bioasq_needs_an_index_or_gold_snippets(tmp_path, capsys) -> None:
    gold = golden_file(tmp_path / "gold.json")
    assert main(["eval", "bioasq", "--gold", str(gold), "--json"]) == 2
    assert capsys.readouterr().err == (
        "error: qa eval bioasq: one of the arguments --index --snippets is required "
        "(see qa eval bioasq --help)\n"
    )


def test_demo_without_questions_serves_the_ui_and_reuses_its_index(
    tmp_path, tiny_profile_file
) -> None:
    import urllib.request

    from .conftest import free_port, start_served, stop_served

    index = tmp_path / "demo"
    for start in ("first", "second"):
        port = free_port()
        argv = ["demo", "--index", str(index), "--profile", str(tiny_profile_file)]
        proc, url, output = start_served([*argv, "--port", str(port), "--device", "cpu"])
        try:
            assert url.startswith(f"http://127.0.0.1:{port}")
            assert ("Building the demo index" in output) == (start == "first")
            with urllib.request.urlopen(url, timeout=30) as page:
                assert page.status == 200
                assert "Biomedical question answering" in page.read().decode("utf-8")
        finally:
            stop_served(proc)


@pytest.mark.parametrize("trainer", ["embedder", "reader", "yesno", "ner", "relations"])
def test_train_flags_default_to_the_trainers_own_settings(trainer) -> None:
    """``qa train X`` without flags runs what ``train_X(run)`` runs when ``run.config`` is None."""
    import importlib

    from qa.cli import build_parser
    from qa.cli.common import training_run
    from qa.train.settings import DEFAULT_BASE

    data = ["--corpora", "x"] if trainer in ("ner", "relations") else ["--train", "x", "--dev", "y"]
    args = build_parser().parse_args(["train", trainer, *data, "-o", "out"])
    defaults = importlib.import_module(f"qa.train.{trainer}").DEFAULT_TRAINING_CONFIG
    run = training_run(args, ["x"], [])
    assert (run.config, run.base, run.out) == (defaults, DEFAULT_BASE, "out")


def test_stop_after_epochs_reaches_the_trainer_and_is_refused_past_the_schedule(
    tmp_path, capsys
) -> None:
    from qa.cli import UsageError, build_parser
    from qa.cli.common import training_run

    argv = ["train", "yesno", "--train", "x", "-o", str(tmp_path / "out"), "--epochs", "2"]
    args = build_parser().parse_args([*argv, "--stop-after-epochs", "1"])
    assert training_run(args, ["x"], []).config.stop_after_epochs == 1
    assert main([*argv, "--stop-after-epochs", "3"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --stop-after-epochs must be between 1 and --epochs (2), not 3: it stops a "
        "schedule of --epochs epochs early."
    )
    embedder = ["train", "embedder", "--train", "x", "--dev", "y", "-o", "o"]
    with pytest.raises(UsageError, match="unrecognized arguments: --stop-after-epochs"):
        build_parser().parse_args([*embedder, "--stop-after-epochs", "1"])  # its own loop


def test_debug_shows_the_traceback_before_the_one_line(tmp_path, capsys, monkeypatch) -> None:
    missing = str(tmp_path / "none")
    assert main(["search", "anything", "--index", missing]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert main(["--debug", "search", "anything", "--index", missing]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.splitlines()[-1] == (
        f"error: No index at {missing}: build one with: qa index build PASSAGES.jsonl -o {missing}"
    )
    monkeypatch.setenv("QA_DEBUG", "1")
    assert main(["search", "anything", "--index", missing]) == 2
    assert capsys.readouterr().err.startswith("Traceback (most recent call last):")


def test_a_bug_is_one_short_line_that_says_how_to_see_the_traceback() -> None:
    from qa.cli import internal_error

    try:
        int("x\n" * 200)
    except ValueError as exc:
        line = internal_error(exc)
    assert line.startswith("qa: internal error (ValueError: invalid literal for int() with base 10")
    assert line.endswith("…); rerun with --debug (or QA_DEBUG=1) for the traceback")
    assert "\n" not in line and len(line) < 260


def test_a_file_the_user_cannot_write_is_a_user_error(tmp_path, passages_file, capsys) -> None:
    out = tmp_path / "passages.jsonl" / "out.jsonl"  # a folder that is a file
    assert main(["corpus", "jsonl", str(passages_file), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"error: {passages_file}: File exists. Check the path and its permissions.\n"
    )


def test_eval_bioasq_writes_its_submission_and_report_whole(tmp_path, capsys) -> None:
    """Written under a temporary name and moved into place: no other file appears beside them."""
    gold = golden_file(tmp_path / "gold.json")
    out = tmp_path / "out"
    argv = ["eval", "bioasq", "--gold", str(gold), "--snippets", "gold", "--device", "cpu"]
    argv += ["--submission", str(out / "sub.json"), "--out", str(out / "report.md"), "--json"]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "sub.json"]
    submitted = json.loads((out / "sub.json").read_text(encoding="utf-8"))
    assert len(submitted["questions"]) == 5
    assert (out / "report.md").read_text(encoding="utf-8").startswith("#")
