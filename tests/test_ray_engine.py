"""The Ray engine changes where the work runs, never the answer: an index built with Ray Data is
the plain build row for row, and shards served by Ray actors answer as memory-mapped ones.

These run on a real local Ray (two CPUs), started once for the module.
"""

from __future__ import annotations

import pytest

from qa.config import with_shard_size
from qa.corpus import read_corpus, write_jsonl
from qa.errors import CorpusFormatError
from qa.index.ray_build import ray_chunks
from qa.index.store import build_index, load_index
from qa.index.update import delete_pmids

from .conftest import tiny_profile

pytestmark = [
    pytest.mark.slow,
    # Ray Data warns of its own deprecated settings whenever it copies its context.
    pytest.mark.filterwarnings("ignore:.*deprecated:DeprecationWarning:ray"),
]

QUERIES = [
    "Which gene is mutated in Rett syndrome?",
    "What does imatinib inhibit?",
    "mutations causing disease",
    "cholesterol lowering drugs",
]
MODES = ("bm25", "dense", "hybrid")


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture()
def corpus(tmp_path, sample_passages):
    """The sample passages in three files, so the Ray build reads several files in order."""
    files = []
    for n, start in enumerate(range(0, len(sample_passages), 4)):
        path = tmp_path / f"part-{n}.jsonl"
        write_jsonl(sample_passages[start : start + 4], path)
        files.append(path)
    return files


@pytest.fixture()
def profile(tiny_model):
    return with_shard_size(tiny_profile(tiny_model), 5)  # 12 passages: shards of 5, 5 and 2


def results(index, mode: str) -> list[list[tuple[str, float]]]:
    return [[(h.passage.id, h.score) for h in index.retriever(mode).search(q, 6)] for q in QUERIES]


def assert_same_results(got, expected) -> None:
    for got_hits, expected_hits in zip(got, expected):
        assert [i for i, _ in got_hits] == [i for i, _ in expected_hits]
        assert [s for _, s in got_hits] == pytest.approx([s for _, s in expected_hits], abs=1e-5)


def plain_build(files, folder, profile):
    chunking = profile.chunking
    passages = read_corpus(
        "jsonl",
        files,
        max_tokens=chunking.max_tokens,
        overlap_sentences=chunking.overlap_sentences,
    )
    build_index(passages, folder, profile, device="cpu", show_progress=False)
    return folder


def test_an_index_built_with_ray_data_is_the_plain_build_row_for_row(
    local_ray, tmp_path, corpus, profile
) -> None:
    plain = load_index(plain_build(corpus, tmp_path / "plain", profile), device="cpu")
    chunks = ray_chunks("jsonl", corpus, profile, "cpu", None)
    build_index([], tmp_path / "ray", profile, device="cpu", show_progress=False, chunks=chunks)
    built = load_index(tmp_path / "ray", device="cpu")

    assert list(built.passages.iter_ids()) == list(plain.passages.iter_ids())
    assert built.passages.take(range(12)) == plain.passages.take(range(12))
    assert [s["rows"] for s in built.manifest["shards"]] == [5, 5, 2]
    assert built.manifest["corpus_sha256"] == plain.manifest["corpus_sha256"]
    for mode in MODES:
        assert_same_results(results(built, mode), results(plain, mode))
    assert local_ray.is_initialized()  # a Ray the caller started is left running


def test_shards_on_ray_actors_answer_as_local_shards_even_after_a_delete(
    local_ray, tmp_path, corpus, profile
) -> None:
    folder = plain_build(corpus, tmp_path / "index", profile)
    for deleted in (set(), {"1001", "1008", "1011"}):  # one passage hidden in every shard
        if deleted:
            delete_pmids(folder, deleted)
        local = load_index(folder, device="cpu")
        remote = load_index(folder, device="cpu", engine="ray")
        assert remote.engine == "ray"
        assert len(remote.passages) == len(local.passages) == 12
        assert remote.passages[7] == local.passages[7]
        assert list(remote.passages.iter_ids()) == list(local.passages.iter_ids())
        for mode in MODES:
            got = results(remote, mode)
            assert_same_results(got, results(local, mode))
            hits = {p for hits in got for p, _ in hits}
            assert not hits & {f"p{int(m) - 1000}" for m in deleted}


def test_bad_input_fails_at_once_before_ray_starts(tmp_path, profile) -> None:
    with pytest.raises(CorpusFormatError, match="no such file"):
        ray_chunks("jsonl", [tmp_path / "missing.jsonl"], profile, "cpu", None)
    with pytest.raises(CorpusFormatError, match="Unknown corpus kind"):
        ray_chunks("csv", [tmp_path], profile, "cpu", None)


def test_a_malformed_file_read_by_a_ray_worker_gives_the_readers_own_error(
    local_ray, tmp_path, corpus, profile
) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "text": "fine"}\n{not json\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="broken.jsonl"):
        list(ray_chunks("jsonl", [*corpus, broken], profile, "cpu", None))
