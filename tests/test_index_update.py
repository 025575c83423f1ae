"""Sharded indexes rank as unsharded ones; add, delete and compact keep every retriever right;
a change killed outright leaves the index as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace

import pytest

from qa.config import with_shard_size
from qa.errors import IndexStoreError
from qa.index.store import build_index, load_index, read_manifest
from qa.index.update import add_passages, compact, delete_pmids
from qa.types import RETRIEVAL_MODES, Passage

from .conftest import tiny_profile

QUERIES = [
    "Which gene is mutated in Rett syndrome?",
    "tyrosine kinase inhibitor for leukemia",
    "mutations causing disease",
    "chloride channel",
]


def ranked(index, mode: str, k: int = 20) -> list[list[tuple[str, float]]]:
    return [
        [(h.passage.id, round(h.score, 5)) for h in index.retriever(mode).search(q, k)]
        for q in QUERIES
    ]


def every_id(index) -> set[str]:
    """Every passage any retriever returns for any query, k as large as the index."""
    k = len(index.passages)
    return {
        h.passage.id
        for mode in RETRIEVAL_MODES
        for q in [*QUERIES, "gene", "the"]
        for h in index.retriever(mode).search(q, k)
    }


@pytest.fixture()
def profile(tiny_model):
    return tiny_profile(tiny_model)


def test_a_sharded_index_ranks_exactly_as_an_unsharded_one(tmp_path, profile, sample_passages):
    build_index(sample_passages, tmp_path / "one", profile, show_progress=False)
    sharded = with_shard_size(profile, 5)
    build_index(sample_passages, tmp_path / "three", sharded, show_progress=False)
    one, three = load_index(tmp_path / "one"), load_index(tmp_path / "three")
    assert [s["rows"] for s in read_manifest(tmp_path / "three")["shards"]] == [5, 5, 2]
    assert [p.id for p in three.passages] == [p.id for p in sample_passages]
    for mode in RETRIEVAL_MODES:
        assert ranked(one, mode) == ranked(three, mode), mode


def test_added_passages_are_found_and_deleted_ones_never_come_back(
    tmp_path, profile, sample_passages
):
    folder = tmp_path / "index"
    build_index(sample_passages[:8], folder, with_shard_size(profile, 3), show_progress=False)
    manifest = add_passages(folder, sample_passages[8:], show_progress=False)
    assert manifest["passages"] == manifest["rows"] == len(sample_passages)
    # 3 + 3 + 2, then the 4 added in shards of the index's own size: 3 + 1
    assert [s["rows"] for s in manifest["shards"]] == [3, 3, 2, 3, 1]
    assert every_id(load_index(folder)) == {p.id for p in sample_passages}

    gone = {sample_passages[0].pmid, sample_passages[9].pmid}  # one old, one added
    result = delete_pmids(folder, gone)
    assert result["deleted"] == 2 and result["passages"] == len(sample_passages) - 2
    kept = {p.id for p in sample_passages if p.pmid not in gone}
    assert every_id(load_index(folder)) == kept

    compact(folder, show_progress=False)
    compacted = load_index(folder)
    assert read_manifest(folder)["tombstones"] == "" and len(compacted.passages) == len(kept)
    assert every_id(compacted) == kept
    fresh = [p for p in sample_passages if p.pmid not in gone]
    build_index(fresh, tmp_path / "fresh", profile, show_progress=False)
    # Same statistics once compacted: BM25 scores agree exactly with a fresh build.
    assert ranked(compacted, "bm25") == ranked(load_index(tmp_path / "fresh"), "bm25")


def test_a_record_added_again_replaces_its_earlier_passages(tmp_path, profile, sample_passages):
    folder = tmp_path / "index"
    build_index(sample_passages, folder, profile, show_progress=False)
    old = sample_passages[0]
    revised = Passage(f"{old.id}-v2", "Rett syndrome: MECP2 mutations, revised.", pmid=old.pmid)
    manifest = add_passages(folder, [revised], show_progress=False)
    assert manifest["passages"] == len(sample_passages)  # one in, one hidden
    found = every_id(load_index(folder))
    assert revised.id in found and old.id not in found


def test_adding_an_id_the_index_already_searches_is_refused_and_changes_nothing(
    tmp_path, profile, sample_passages
):
    folder = tmp_path / "index"
    build_index(sample_passages, folder, profile, show_progress=False)
    before = (folder / "manifest.json").read_bytes()
    clash = replace(sample_passages[1], pmid="999")
    with pytest.raises(IndexStoreError, match="'p2' is already in"):
        add_passages(folder, [clash], show_progress=False)
    assert (folder / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in (folder / "shards").iterdir()) == ["00000"]


SLOW_CHANGE = """
import sys, time
from qa.config import profile_from_dict
from qa.index.store import build_index, read_manifest
from qa.index.update import add_passages
from qa.types import Passage
import numpy as np

folder, what = sys.argv[1], sys.argv[2]
dim = read_manifest(folder)["embedder"]["dim"]

def chunks():
    rng = np.random.default_rng(0)
    for n in range(1000):
        vectors = rng.normal(size=(50, dim)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        yield [Passage(f"new-{n}-{i}", f"added passage {n} {i}", pmid=str(5000 + n))
               for i in range(50)], vectors
        print("chunk", flush=True)
        time.sleep(0.05)

if what == "add":
    add_passages(folder, [], chunks=chunks(), show_progress=False)
else:
    profile = profile_from_dict(read_manifest(folder)["profile"])
    build_index([], folder, profile, chunks=chunks(), show_progress=False)
"""


@pytest.mark.parametrize("what", ["add", "build"])
def test_a_change_killed_outright_leaves_the_index_as_it_was(
    tmp_path, profile, sample_passages, what
):
    folder = tmp_path / "indexes" / "index"
    build_index(sample_passages, folder, with_shard_size(profile, 40), show_progress=False)
    before = ranked(load_index(folder), "hybrid")
    script = tmp_path / "slow.py"
    script.write_text(textwrap.dedent(SLOW_CHANGE), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(folder), what],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.stdout is not None
    for _ in range(4):  # a few chunks written: shards exist on disk, no manifest names them
        assert proc.stdout.readline() == "chunk\n"
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ranked(load_index(folder), "hybrid") == before
    # The next change of the same kind finds what the killed one left and removes it.
    late = [Passage("late", "a late passage about MECP2")]
    if what == "add":
        add_passages(folder, late, show_progress=False)
    else:
        build_index(sample_passages + late, folder, profile, show_progress=False)
    manifest = read_manifest(folder)
    on_disk = {str(p.relative_to(folder)) for p in (folder / "shards").iterdir()}
    assert on_disk == {s["name"] for s in manifest["shards"]}
    assert [p.name for p in folder.parent.iterdir()] == ["index"]


def test_a_users_file_in_the_index_folder_is_neither_adopted_nor_removed(
    tmp_path, profile, sample_passages
):
    folder = tmp_path / "index"
    build_index(sample_passages, folder, profile, show_progress=False)
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    delete_pmids(folder, {sample_passages[0].pmid})
    add_passages(folder, [Passage("n1", "A new passage.", pmid="77")], show_progress=False)
    assert "notes.txt" not in read_manifest(folder)["files"]
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not list(folder.glob(".qa*"))  # no lock file either
