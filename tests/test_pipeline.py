"""The Python API's stories: load an index, ask, answer given passages, warm up, and the
profile errors a user meets on the way."""

from __future__ import annotations

import pytest

from qa.config import load_profile
from qa.errors import ConfigError, InvalidInput, QAError
from qa.evaluate.run import run_bioasq
from qa.index.store import build_index
from qa.pipeline import QA

from .conftest import save_tiny_bert

RETT = "Which gene is mutated in Rett syndrome?"


def write_profile(path, embedder, reader: str = "", extra: str = ""):
    """A profile file with the tiny embedder, an optional reader and the shipped type model."""
    reader_line = f'model = "{reader}"\n' if reader else ""
    path.write_text(
        f'name = "tiny"\n[embedder]\nmodel = "{embedder}"\nmax_seq_length = 128\n'
        f'[reader]\n{reader_line}qtype_model = "qa-models:qtype-bioasq"\n{extra}',
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def tiny_reader(tmp_path_factory):
    from transformers import BertForQuestionAnswering

    return save_tiny_bert(tmp_path_factory.mktemp("tiny-qa"), 0, BertForQuestionAnswering)


@pytest.fixture(scope="module")
def sample(tmp_path_factory, tiny_model, tiny_reader):
    """An index of the twelve sample passages, and the profile file it was built with."""
    from qa.types import Passage

    from .conftest import SAMPLE_PASSAGES

    folder = tmp_path_factory.mktemp("pipeline")
    profile = write_profile(folder / "tiny.toml", tiny_model, tiny_reader)
    passages = [Passage(id=i, text=t, pmid=m) for i, t, m in SAMPLE_PASSAGES]
    build_index(passages, folder / "index", load_profile(profile), show_progress=False)
    return folder / "index", profile


@pytest.fixture(scope="module")
def qa(sample) -> QA:
    return QA.load(sample[0], device="cpu")


def spans(result) -> list[tuple[str, str, int, int, float]]:
    return [(a.text, a.passage.id, a.start, a.end, round(a.score, 4)) for a in result.answers]


def test_answer_offsets_point_into_the_retrieved_passages(qa) -> None:
    result = qa.ask(RETT, qtype="factoid", k=5)
    assert [h.passage.id for h in result.hits][:1] == ["p1"]
    assert len(result.hits) == 5 and len(result.answers) == 5  # [reader] factoid_answers
    for a in result.answers:
        assert a.passage.text[a.start : a.end] == a.text
    assert list(result.timings) == ["retrieve_ms", "read_ms", "total_ms"]
    assert result.timings["total_ms"] == pytest.approx(
        result.timings["retrieve_ms"] + result.timings["read_ms"], abs=0.011
    )


def test_ask_answers_as_answer_does_over_the_same_hits(qa) -> None:
    hits = qa.search(RETT, k=5)
    asked = qa.ask(RETT, qtype="list", k=5)
    given = qa.answer(RETT, hits, qtype="list", ranked=True)
    assert asked.hits == given.hits == hits
    assert spans(asked) == spans(given)
    assert list(given.timings) == ["read_ms"]  # no retrieval when the passages are given


def test_ask_batch_answers_as_ask_does_one_question_at_a_time(qa) -> None:
    questions = [RETT, "What does imatinib inhibit?", "Which enzyme do statins inhibit?"]
    batch = qa.ask_batch(questions, qtypes=["factoid", "list", "factoid"], k=4)
    single = [qa.ask(q, qtype=t, k=4) for q, t in zip(questions, ["factoid", "list", "factoid"])]
    assert [r.question for r in batch] == questions
    for one, many in zip(single, batch):
        assert [h.passage.id for h in many.hits] == [h.passage.id for h in one.hits]
        assert spans(many) == spans(one)
        assert list(many.timings) == list(one.timings)


MODES = "use one of hybrid, bm25, dense."
QTYPES = "use one of factoid, list, yesno, summary (or None to have it predicted)."


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda qa: qa.search(RETT, k=-1, mode="bm25"), "k must be at least 1, not -1."),
        (lambda qa: qa.search(RETT, k=-2, mode="hybrid"), "k must be at least 1, not -2."),
        (lambda qa: qa.search(RETT, k=0, mode="dense"), "k must be at least 1, not 0."),
        (lambda qa: qa.search(RETT, k=True), "k must be a whole number of at least 1, not True."),
        (lambda qa: qa.search(RETT, k=2.5), "k must be a whole number of at least 1, not 2.5."),
        (lambda qa: qa.search(RETT, k="3"), "k must be a whole number of at least 1, not '3'."),
        (lambda qa: qa.search(RETT, mode="sparse"), f"Unknown retrieval mode 'sparse': {MODES}"),
        (lambda qa: qa.search(42), "The question must be a str, not int."),
        (lambda qa: qa.batch_search([RETT], k=0), "k must be at least 1, not 0."),
        (
            lambda qa: qa.batch_search(RETT),
            "questions must be a list of str, not str: use search or ask for one question.",
        ),
        (lambda qa: qa.ask(RETT, k=0), "k must be at least 1, not 0."),
        (lambda qa: qa.ask(RETT, mode=None), f"Unknown retrieval mode None: {MODES}"),
        (lambda qa: qa.ask(RETT, qtype="yes/no"), f"Unknown question type 'yes/no': {QTYPES}"),
        (lambda qa: qa.ask(None), "The question must be a str, not NoneType."),
        (lambda qa: qa.ask_batch([RETT, "  "], k=2), "The question is empty"),
        (lambda qa: qa.ask_batch([RETT], k=-5), "k must be at least 1, not -5."),
        (lambda qa: qa.ask_batch([RETT], qtypes=["list", "factoid"]), "1 questions but 2"),
        (
            lambda qa: qa.ask_batch([RETT], qtypes=["fact"]),
            f"Unknown question type 'fact': {QTYPES}",
        ),
        (lambda qa: qa.answer(RETT, [], qtype="Factoid"), "Unknown question type 'Factoid'"),
        (lambda qa: qa.answer("", []), "The question is empty"),
        (lambda qa: qa.answer(RETT, "MECP2"), "passages must be a list of Passage (or Hit)"),
        (lambda qa: qa.answer(RETT, [{"id": "a"}]), "passages must be a list of Passage (or Hit)"),
    ],
)
def test_the_api_refuses_a_bad_k_mode_type_or_question_naming_what_it_accepts(
    qa, call, message
) -> None:
    with pytest.raises(InvalidInput) as caught:
        call(qa)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_no_retriever_searches_for_fewer_than_one_passage(qa, mode) -> None:
    """The retrievers check ``k`` themselves, so no caller reaches FAISS with k <= 0."""
    retriever = qa.index.retriever(mode)
    for k in (0, -3):
        with pytest.raises(InvalidInput, match=f"k must be at least 1, not {k}."):
            retriever.search(RETT, k)
        with pytest.raises(InvalidInput, match=f"k must be at least 1, not {k}."):
            retriever.batch_search([], k)


def test_a_numpy_integer_k_is_a_whole_number_too(qa) -> None:
    import numpy as np

    hits = qa.search(RETT, k=np.int64(2), mode="bm25")
    assert [h.passage.id for h in hits] == [h.passage.id for h in qa.search(RETT, k=2, mode="bm25")]
    assert len(hits) == 2


def test_a_profile_without_a_reader_returns_the_retrieved_passages(tmp_path, sample) -> None:
    profile = write_profile(tmp_path / "retrieval.toml", load_profile(sample[1]).embedder.model)
    qa = QA.load(sample[0], profile=profile, device="cpu")
    assert qa.profile.reader.model == ""
    result = qa.ask(RETT, k=3)
    assert (result.qtype, result.qtype_source, result.answers) == ("passages", "retrieval only", [])
    assert [h.passage.id for h in result.hits] == [h.passage.id for h in qa.search(RETT, k=3)]
    assert list(result.timings) == ["retrieve_ms", "total_ms"]
    given = qa.answer(RETT, result.hits, qtype="factoid")
    assert (given.qtype, given.answers, given.hits) == ("passages", [], result.hits)
    # Scoring answers needs a reader: the evaluation says so instead of scoring empty answers.
    with pytest.raises(QAError, match=r"names no \[reader\] model.*qa eval retrieval"):
        run_bioasq(qa, [tmp_path / "never-read.json"], snippets="gold", show_progress=False)


def test_warm_up_loads_every_model_the_profile_names(sample) -> None:
    qa = QA.load(sample[0], device="cpu")
    assert not {"reader", "qtype"} & set(vars(qa.components))  # nothing loaded yet
    seconds = qa.warm_up()
    assert isinstance(seconds, float) and seconds > 0
    loaded = {"reader", "qtype", "encoder"}
    assert loaded <= set(vars(qa.components))
    assert "yesno" not in vars(qa.components)  # the profile names no yes/no model
    assert qa.components.encoder is qa.index.dense.encoder
    assert qa.question_type("Is metformin used to treat type 2 diabetes?")[0] == "yesno"


def test_warm_up_without_an_index_reads_a_passage_of_its_own(tiny_model) -> None:
    from .conftest import tiny_profile

    data = tiny_profile(tiny_model)
    qa = QA(None, data, device="cpu")
    assert qa.profile.reader.model == "qa-models:reader-minilm-bioasq"  # the embedded reader
    qa.warm_up()
    assert {"reader", "yesno", "qtype", "encoder"} <= set(vars(qa.components))


def test_an_index_uses_todays_reader_settings_of_its_profile(tmp_path, tiny_model) -> None:
    """Reader models trained after an index was built are used without rebuilding it."""
    from qa.types import Passage

    profile = write_profile(tmp_path / "mine.toml", tiny_model)
    passages = [Passage("a", "Rett syndrome is caused by MECP2."), Passage("b", "CFTR.")]
    build_index(passages, tmp_path / "index", load_profile(profile), show_progress=False)
    assert QA.load(tmp_path / "index", device="cpu").profile.reader.list_max_items == 10
    profile.write_text(profile.read_text(encoding="utf-8") + "list_max_items = 4\n")
    assert QA.load(tmp_path / "index", device="cpu").profile.reader.list_max_items == 4
    # A profile that no longer exists falls back to the one recorded in the index.
    profile.unlink()
    assert QA.load(tmp_path / "index", device="cpu").profile.reader.list_max_items == 10


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            'max_seq_length = 128\n[chunking]\nmax_tokens = "200"\n',
            "[chunking] max_tokens = '200' is of type str; expected int (a whole number).",
        ),
        (
            '[reader]\nlist_split = "yes"\n',
            "[reader] list_split = 'yes' is of type str; expected bool (true or false).",
        ),
        (
            "[reader]\nmax_seq_length = true\n",
            "[reader] max_seq_length = True is of type bool; expected int (a whole number).",
        ),
        (
            '[ui]\nmode = "fuzzy"\n',
            "[ui] mode = 'fuzzy' is not allowed; use one of ['hybrid', 'bm25', 'dense'].",
        ),
        ("[ui]\nconcurrency = 0\n", "[ui] concurrency = 0; it must be at least 1."),
    ],
)
def test_a_wrong_profile_value_names_the_file_the_key_and_what_is_expected(
    tmp_path, lines, message
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(f'[embedder]\nmodel = "x"\n{lines}', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        QA.load(None, profile=path)
    assert str(caught.value) == f"{path}: {message}"


def test_unknown_profile_keys_are_refused_with_the_known_ones(tmp_path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[embedder]\nmodel = "x"\n[reader]\nlist_treshold = 1.0\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) list_treshold in \[reader\]"):
        QA.load(None, profile=path)
    path.write_text('colour = "red"\n[embedder]\nmodel = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting\\(s\\) colour at the top"):
        QA.load(None, profile=path)


def test_the_demo_index_is_built_on_first_start_and_then_reused(
    tmp_path, tiny_model, capsys
) -> None:
    from qa.demo import DEMO_CORPUS, DEMO_QUESTIONS, load_demo

    profile = load_profile(write_profile(tmp_path / "demo.toml", tiny_model))
    first = load_demo(tmp_path / "demo", profile, device="cpu")
    assert (
        f"Building the demo index in {tmp_path / 'demo'} (first start)" in capsys.readouterr().err
    )
    again = load_demo(tmp_path / "demo", profile, device="cpu")
    assert "Building" not in capsys.readouterr().err
    lines = DEMO_CORPUS.read_text(encoding="utf-8").splitlines()
    assert len(first.index.passages) == len(again.index.passages) == len(lines)
    for question in DEMO_QUESTIONS:  # no reader in this profile: the passages it found
        result = again.ask(question, k=3)
        assert (result.qtype, len(result.hits)) == ("passages", 3)
