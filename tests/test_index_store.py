"""An index on disk: atomic builds, checksums, and refusing what does not fit."""

from __future__ import annotations

import json

import pytest

from qa.errors import IndexStoreError, ModelLoadError, QAError
from qa.index.store import build_index, load_index, read_manifest
from qa.retrieve.dense import DenseIndex
from qa.retrieve.encoder import SentenceEncoder
from qa.types import RETRIEVAL_MODES

from .conftest import tiny_profile

QUERIES = ["Which gene is mutated in Rett syndrome?", "HER2 antibody", "malaria parasite"]


def results(index, mode: str) -> list[list[tuple[str, float]]]:
    return [
        [(h.passage.id, round(h.score, 5)) for h in index.retriever(mode).search(q, 5)]
        for q in QUERIES
    ]


@pytest.fixture()
def built(tmp_path, tiny_model, sample_passages):
    profile = tiny_profile(tiny_model)
    folder = tmp_path / "indexes" / "sample"
    build_index(sample_passages, folder, profile, show_progress=False)
    return folder, profile


def test_manifest_records_profile_models_counts_and_checksums(built) -> None:
    folder, profile = built
    manifest = read_manifest(folder)
    assert manifest["passages"] == 12
    assert manifest["profile"]["name"] == "tiny"
    assert manifest["embedder"]["model"] == profile.embedder.model
    assert len(manifest["embedder"]["revision"]) == 16
    assert manifest["profile"]["fusion"] == {
        "method": "rrf",
        "rrf_k": 60,
        "depth": 100,
        "bm25_weight": 0.5,
        "dense_weight": 0.5,
    }
    shard = "shards/00000"
    assert manifest["shards"] == [{"name": shard, "rows": 12}]
    assert manifest["rows"] == 12 and manifest["tombstones"] == ""
    assert sorted(manifest["files"]) == [
        "bm25-stats-0/df.npy",
        "bm25-stats-0/terms.npy",
        *(
            f"{shard}/{name}"
            for name in (
                "bm25/docs.npy",
                "bm25/indptr.npy",
                "bm25/lengths.npy",
                "bm25/terms.npy",
                "bm25/tfs.npy",
                "bm25/tokenizer.json",
                "dense.faiss",
                "passages.arrow",
                "vectors.f16",
            )
        ),
    ]
    entry = manifest["files"][f"{shard}/passages.arrow"]
    assert entry["bytes"] == (folder / shard / "passages.arrow").stat().st_size
    assert len(entry["sha256"]) == 64


def test_save_then_load_gives_identical_results(built, tiny_model, sample_passages) -> None:
    folder, profile = built
    loaded = load_index(folder)
    assert [p.id for p in loaded.passages] == [p.id for p in sample_passages]
    assert loaded.profile.embedder == profile.embedder
    # A second load (fresh encoder, fresh FAISS read) must agree exactly with the first.
    again = load_index(folder, profile)
    for mode in RETRIEVAL_MODES:
        assert results(loaded, mode) == results(again, mode)
    assert results(loaded, "bm25")[0][0][0] == "p1"


def test_rebuild_replaces_the_index_and_leaves_no_temporary_folders(built, sample_passages) -> None:
    folder, profile = built
    build_index(sample_passages[:5], folder, profile, show_progress=False)
    assert read_manifest(folder)["passages"] == 5
    assert [p.name for p in folder.parent.iterdir()] == ["sample"]


def test_interrupted_build_keeps_previous_index(built, sample_passages, monkeypatch) -> None:
    folder, profile = built
    before = results(load_index(folder), "hybrid")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(DenseIndex, "encode_passages", staticmethod(crash))
    with pytest.raises(KeyboardInterrupt):
        build_index(sample_passages[:3], folder, profile, show_progress=False)
    monkeypatch.undo()
    assert results(load_index(folder), "hybrid") == before
    assert read_manifest(folder)["passages"] == 12
    assert [p.name for p in folder.parent.iterdir()] == ["sample"]


FAISS = "shards/00000/dense.faiss"


def test_a_flipped_byte_is_found_by_the_full_verification_and_named(built) -> None:
    folder, _ = built
    data = bytearray((folder / FAISS).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / FAISS).write_bytes(bytes(data))
    with pytest.raises(IndexStoreError, match=r"dense\.faiss .* damaged \(its checksum.*qa index"):
        load_index(folder, verify=True)


def test_a_truncated_file_is_found_at_load_by_its_size(built) -> None:
    folder, _ = built
    (folder / FAISS).write_bytes((folder / FAISS).read_bytes()[:100])
    with pytest.raises(IndexStoreError, match=r"dense\.faiss in .* damaged \(its size"):
        load_index(folder)


def test_a_damaged_file_of_the_right_size_is_reported_when_it_cannot_be_read(built) -> None:
    folder, _ = built
    path = folder / "shards/00000/passages.arrow"
    path.write_bytes(b"\0" * path.stat().st_size)
    with pytest.raises(IndexStoreError, match=r"passages\.arrow.*qa index build"):
        load_index(folder)


def test_missing_file_is_reported_by_name(built) -> None:
    folder, _ = built
    (folder / "shards/00000/bm25/docs.npy").unlink()
    with pytest.raises(IndexStoreError, match=r"missing shards/00000/bm25/docs\.npy"):
        load_index(folder)


def test_an_edited_manifest_fails_its_checksum(built) -> None:
    folder, _ = built
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["passages"] = 11
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexStoreError, match="checksum does not match its content"):
        load_index(folder)


def test_damaged_manifest_says_how_to_rebuild(built) -> None:
    folder, _ = built
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexStoreError, match="qa index build"):
        load_index(folder)


def test_index_built_with_another_embedder_is_refused_with_the_rebuild_command(
    built, other_tiny_model
) -> None:
    folder, _ = built
    other = tiny_profile(other_tiny_model)
    with pytest.raises(IndexStoreError) as excinfo:
        load_index(folder, other)
    message = str(excinfo.value)
    assert "was built with embedder" in message
    assert f"qa index build PASSAGES.jsonl -o {folder} --profile tiny" in message


def test_missing_index_folder_says_how_to_build_one(tmp_path) -> None:
    with pytest.raises(IndexStoreError, match="No index at .*qa index build"):
        load_index(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "files",
    [
        {"thesis.txt": "precious"},
        # A web app's folder: a file named manifest.json does not make it an index.
        {"manifest.json": '{"short_name": "app", "files": {}}', "app.js": "console.log(1)"},
    ],
    ids=["documents", "web app"],
)
def test_a_folder_that_is_not_an_index_is_never_overwritten(
    tmp_path, tiny_model, sample_passages, files
) -> None:
    target = tmp_path / "mydocs"
    target.mkdir()
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    with pytest.raises(QAError) as excinfo:
        build_index(sample_passages, target, tiny_profile(tiny_model), show_progress=False)
    assert str(excinfo.value) == (
        f"{target} exists and is not an index this project wrote: refusing to replace it. "
        "Choose another output folder, or move it away yourself."
    )
    assert {p.name: p.read_text(encoding="utf-8") for p in target.iterdir()} == files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mydocs"]


def test_duplicate_passage_ids_are_refused(tmp_path, tiny_model, sample_passages) -> None:
    with pytest.raises(IndexStoreError, match="occurs twice"):
        build_index(
            sample_passages + sample_passages[:1],
            tmp_path / "x",
            tiny_profile(tiny_model),
            show_progress=False,
        )


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq"])
def test_approximate_faiss_indexes_are_selectable_in_the_profile(
    tmp_path, tiny_model, kind
) -> None:
    from qa.config import profile_from_dict
    from qa.types import Passage

    data = tiny_profile(tiny_model).to_dict()
    data["index"].update(faiss=kind, pq_m=8)
    profile = profile_from_dict(data)
    passages = [Passage(f"d{i}", f"document number {i} about gene G{i % 17}") for i in range(400)]
    build_index(passages, tmp_path / kind, profile, show_progress=False)
    index = load_index(tmp_path / kind)
    faiss_index = index.dense.shards[0].index
    assert type(faiss_index).__name__ == {"hnsw": "IndexHNSWFlat", "ivfpq": "IndexIVFPQ"}[kind]
    hits = index.dense.search("document number 7 about gene G7", 5)
    assert len(hits) == 5


def test_a_folder_that_is_not_a_model_gives_a_clear_error(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="not a model folder.*config.json"):
        SentenceEncoder(str(tmp_path))


def test_a_model_folder_without_weights_gives_a_clear_error(tmp_path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="no weights"):
        SentenceEncoder(str(tmp_path))


def test_a_build_killed_outright_is_cleaned_up_by_the_next_build(built, sample_passages) -> None:
    folder, profile = built
    # A process id that cannot be alive: the build that left this folder was killed.
    for stage in ("building", "old"):  # half a new index; the old one, not yet deleted
        leftover = folder.parent / f".{folder.name}.{stage}-999999999-deadbeef"
        leftover.mkdir()
        (leftover / "manifest.json").write_text("half", encoding="utf-8")
    build_index(sample_passages, folder, profile, show_progress=False)
    assert [p.name for p in folder.parent.iterdir()] == ["sample"]
