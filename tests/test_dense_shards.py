"""Dense shards: a corpus cut into shards ranks exactly as one index, hidden (deleted) rows never
come back whatever the FAISS index, IVF-PQ trains on a sample and its exact re-scoring only
helps, and the float16 vectors on disk are the vectors that were written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.config import IndexConfig
from qa.errors import IndexStoreError
from qa.retrieve.dense import (
    FAISS_FILE,
    VECTORS_FILE,
    DenseIndex,
    DenseShard,
    VectorWriter,
    passage_input,
    write_shard,
)
from qa.retrieve.encoder import SentenceEncoder
from qa.types import Passage

DIM = 32
SMALL_IVF = {"ivf_nlist": 16, "pq_m": 8, "ivf_nprobe": 4, "ivf_train_size": 2000}


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(rows: int, seed: int = 0, clusters: int = 40, dim: int = DIM) -> np.ndarray:
    """Unit vectors around a few centres: the shape of real embeddings, where PQ's errors
    reorder close neighbours."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((clusters, dim)))
    noise = rng.standard_normal((rows, dim)) * 0.6 / np.sqrt(dim)
    return unit(centres[rng.integers(0, clusters, rows)] + noise)


def queries(count: int = 12, seed: int = 7) -> np.ndarray:
    return clustered(count, seed=seed)


def shards_of(tmp_path: Path, vectors: np.ndarray, cuts: list[int], config: IndexConfig):
    bounds = [0, *cuts, len(vectors)]
    return [
        write_shard(tmp_path / f"{i:05d}", vectors[a:b], config)
        for i, (a, b) in enumerate(zip(bounds, bounds[1:]))
    ], np.array(bounds[:-1])


def index_of(shards, offsets, hidden=None) -> DenseIndex:
    passages = [Passage(str(i), f"text {i}") for i in range(sum(s.rows for s in shards))]
    return DenseIndex(None, shards, passages, offsets, hidden=hidden)


def test_three_flat_shards_rank_exactly_as_one(tmp_path):
    vectors = clustered(3000)
    config = IndexConfig(faiss="flat")
    one = index_of(*shards_of(tmp_path / "one", vectors, [], config))
    three = index_of(*shards_of(tmp_path / "three", vectors, [1000, 2200], config))
    for q in (queries(3), queries(40)):  # FAISS computes few and many queries differently
        rows1, scores1 = one.search_vectors(q, 50)
        rows3, scores3 = three.search_vectors(q, 50)
        np.testing.assert_array_equal(rows3, rows1)
        np.testing.assert_array_equal(scores3, scores1)
    exact = np.argsort(-(queries(3) @ vectors.T), axis=1, kind="stable")[:, :50]
    np.testing.assert_array_equal(one.search_vectors(queries(3), 50)[0], exact)


def test_a_custom_fan_out_runs_every_shard(tmp_path):
    shards, offsets = shards_of(tmp_path, clustered(600), [200, 400], IndexConfig())
    ran = []

    def serial(calls):
        ran.append(len(calls))
        return [call() for call in calls]

    plain = index_of(shards, offsets).search_vectors(queries(), 10)
    fanned = DenseIndex(None, shards, index_of(shards, offsets).passages, offsets, fan_out=serial)
    np.testing.assert_array_equal(fanned.search_vectors(queries(), 10)[0], plain[0])
    assert ran == [3]


@pytest.mark.parametrize(
    "kind, extra", [("flat", {}), ("hnsw", {"hnsw_m": 8}), ("ivfpq", SMALL_IVF)]
)
def test_hidden_rows_never_come_back(tmp_path, kind, extra):
    vectors = clustered(3000)
    config = IndexConfig(faiss=kind, **extra)
    shards, offsets = shards_of(tmp_path, vectors, [1500], config)
    q = vectors[[5, 1600, 2900]]  # each query's best row is itself
    visible = index_of(shards, offsets).search_vectors(q, 20)[0]
    assert list(visible[:, 0]) == [5, 1600, 2900]
    hidden = [np.zeros(s.rows, dtype=bool) for s in shards]
    gone = np.unique(visible)
    for row in gone:
        shard = int(row >= 1500)
        hidden[shard][row - offsets[shard]] = True
    rows = index_of(shards, offsets, hidden).search_vectors(q, 20)[0]
    assert not np.isin(rows, gone).any()
    assert (rows >= 0).all()  # the hidden rows' places go to others


def test_everything_hidden_gives_padding(tmp_path):
    shard = write_shard(tmp_path, clustered(50), IndexConfig())
    rows, scores = shard.top_rows(queries(2), 5, np.ones(50, dtype=bool))
    assert (rows == -1).all() and np.isneginf(scores).all()


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def test_ivfpq_trains_on_a_sample_and_refining_helps(tmp_path):
    vectors = clustered(8000, clusters=20)
    q = queries(30)
    truth = write_shard(tmp_path / "flat", vectors, IndexConfig()).top_rows(q, 10)[0]
    config = IndexConfig(faiss="ivfpq", **{**SMALL_IVF, "ivf_refine": 0})
    raw = write_shard(tmp_path / "ivfpq", vectors, config)
    assert raw.index.is_trained and raw.index.ntotal == 8000 and raw.refine == 0
    refined = DenseShard.load(
        tmp_path / "ivfpq", IndexConfig(faiss="ivfpq", **SMALL_IVF), 8000, DIM
    )
    assert refined.refine == IndexConfig().ivf_refine  # the default, 8
    rows_raw, _ = raw.top_rows(q, 10)
    rows_refined, scores_refined = refined.top_rows(q, 10)
    assert recall(rows_refined, truth) >= recall(rows_raw, truth)
    assert recall(rows_refined, truth) > 0.8
    # Refined scores are the exact inner products with the stored (float16) vectors.
    stored = refined.vectors[rows_refined[0]].astype(np.float32)
    np.testing.assert_allclose(scores_refined[0], stored @ q[0], rtol=1e-5, atol=1e-6)
    assert (np.diff(scores_refined, axis=1) <= 0).all()


def test_ivfpq_training_is_deterministic(tmp_path):
    vectors = clustered(3000)
    config = IndexConfig(faiss="ivfpq", **SMALL_IVF)
    first = write_shard(tmp_path / "a", vectors, config).top_rows(queries(), 10)
    second = write_shard(tmp_path / "b", vectors, config).top_rows(queries(), 10)
    np.testing.assert_array_equal(first[0], second[0])
    assert (tmp_path / "a" / FAISS_FILE).read_bytes() == (tmp_path / "b" / FAISS_FILE).read_bytes()


def test_a_shard_too_small_for_ivfpq_is_flat_and_exact(tmp_path):
    vectors = clustered(100)
    shard = write_shard(tmp_path, vectors, IndexConfig(faiss="ivfpq", **SMALL_IVF))
    assert shard.refine == 0
    exact = np.argsort(-(queries() @ vectors.T), axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(shard.top_rows(queries(), 5)[0], exact)


def test_vectors_f16_round_trip_in_chunks(tmp_path):
    vectors = clustered(1000)
    with VectorWriter(tmp_path, DIM, IndexConfig()) as writer:
        for start in range(0, 1000, 300):  # chunks of any size, the last one short
            writer.add(vectors[start : start + 300])
    assert (tmp_path / VECTORS_FILE).stat().st_size == 1000 * DIM * 2
    shard = DenseShard.load(tmp_path, IndexConfig(), 1000, DIM)
    np.testing.assert_array_equal(shard.vectors, vectors.astype(np.float16))
    assert isinstance(shard.vectors, np.memmap)
    with pytest.raises(ValueError, match=f"shape \\(n, {DIM}\\)"):
        VectorWriter(tmp_path / "x", DIM, IndexConfig()).add(vectors[:, :5])


def test_padding_when_k_exceeds_the_rows(tmp_path):
    shards, offsets = shards_of(tmp_path, clustered(7), [3], IndexConfig())
    rows, scores = index_of(shards, offsets).search_vectors(queries(2), 10)
    assert rows.shape == scores.shape == (2, 10)
    assert sorted(rows[0, :7]) == list(range(7))
    assert (rows[:, 7:] == -1).all() and np.isneginf(scores[:, 7:]).all()
    assert index_of(shards, offsets).found(rows, scores).sum() == 14


def test_a_mismatched_or_damaged_shard_is_named(tmp_path):
    write_shard(tmp_path, clustered(20), IndexConfig())
    with pytest.raises(IndexStoreError, match="holds 20 vectors of size 32; expected 21"):
        DenseShard.load(tmp_path, IndexConfig(), 21, DIM)
    (tmp_path / VECTORS_FILE).write_bytes(b"short")
    with pytest.raises(IndexStoreError, match=f"{VECTORS_FILE} in .* holds 5 bytes"):
        DenseShard.load(tmp_path, IndexConfig(), 20, DIM)
    (tmp_path / FAISS_FILE).write_bytes(b"damaged")
    with pytest.raises(IndexStoreError, match="is damaged"):
        DenseShard.load(tmp_path, IndexConfig(), 20, DIM)


def test_offsets_must_match_the_shards(tmp_path):
    shards, _ = shards_of(tmp_path, clustered(30), [10], IndexConfig())
    with pytest.raises(ValueError, match="do not match shard sizes"):
        index_of(shards, np.array([0, 12]))
    assert list(index_of(shards, np.array([0, 10, 30])).starts) == [0, 10]


def test_questions_are_encoded_once_and_searched_over_shards(tmp_path, tiny_model):
    encoder = SentenceEncoder(str(tiny_model), device="cpu")
    passages = [
        Passage(f"p{i}", text)
        for i, text in enumerate(
            [
                "MECP2 causes Rett syndrome.",
                "Imatinib inhibits BCR-ABL.",
                "Metformin and glucose.",
                "CFTR in cystic fibrosis.",
                "HTT repeats in Huntington disease.",
            ]
        )
    ]
    vectors = encoder.encode([passage_input(p) for p in passages])
    shards, offsets = shards_of(tmp_path, vectors, [2], IndexConfig())
    index = DenseIndex(encoder, shards, passages, offsets)
    assert index.dim == encoder.dim == vectors.shape[1] and index.encoder is encoder
    hits = index.search(passages[3].text, k=5)
    assert hits[0].passage.id == "p3" and hits[0].sources == {"dense": 1}
    assert len(hits) == 5
