"""The passage store: what goes in comes back, by row in O(1), from memory-mapped Arrow files."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from qa.errors import IndexStoreError
from qa.index import rows as rows_module
from qa.index.rows import PassageRows, PassageWriter, ShardedRows
from qa.types import Passage


def _passage(i: int, shard: str = "") -> Passage:
    return Passage(id=f"{shard}p{i}", text=f"text {i}", title=f"t{i}", pmid=str(1000 + i // 3))


def _store(path, passages, batch=None, monkeypatch=None) -> PassageRows:
    if batch is not None:
        monkeypatch.setattr(rows_module, "ROWS_PER_BATCH", batch)
    with PassageWriter(path) as writer:
        writer.write(passages)
    return PassageRows(path)


def _same(read, written):
    assert read == written
    assert [p.meta for p in read] == [p.meta for p in written]  # equality ignores meta


def test_passages_come_back_as_written(tmp_path):
    written = [
        Passage(
            id="a",
            text="Gène α-synucléine: 5 µM 🧬",
            title="Titre é",
            pmid="123",
            meta={"year": 2020, "mesh": ["D1", "D2"], "note": "ü"},
        ),
        Passage(id="b", text="no title, no pmid, no meta"),
        Passage(id="c", text='line\nbreak\ttab "quotes"', meta={"nested": {"x": None}}),
    ]
    store = _store(tmp_path / "passages.arrow", written)
    assert len(store) == 3
    _same(list(store), written)
    _same([store[i] for i in range(3)], written)
    assert store[1].meta == {} and store[1].title == "" and store[1].pmid == ""


def test_lookup_by_row_across_record_batches(tmp_path, monkeypatch):
    written = [_passage(i) for i in range(10_000)]
    writer = PassageWriter(tmp_path / "passages.arrow")
    monkeypatch.setattr(rows_module, "ROWS_PER_BATCH", 99)  # the writer read its size already
    for start in range(0, 10_000, 777):  # chunks that do not line up with batches
        writer.write(written[start : start + 777])
    assert writer.close() == 10_000
    assert writer.close() == 10_000  # closing twice is harmless
    store = PassageRows(tmp_path / "passages.arrow")
    assert len(store) == 10_000
    for row in (0, 4095, 4096, 4097, 8191, 8192, 9999):
        assert store[row] == written[row]
    assert store[-1] == written[-1] and store[-10_000] == written[0]
    for row in (10_000, -10_001):
        with pytest.raises(IndexError):
            store[row]
    assert store[4094:4098] == written[4094:4098]


def test_small_batches_are_all_full_but_the_last(tmp_path, monkeypatch):
    written = [_passage(i) for i in range(250)]
    store = _store(tmp_path / "p.arrow", written, batch=64, monkeypatch=monkeypatch)
    assert [b.num_rows for b in store._batches] == [64, 64, 64, 58]
    assert [store[r] for r in range(250)] == written


def test_take_keeps_the_order_it_was_asked_in(tmp_path, monkeypatch):
    written = [_passage(i) for i in range(300)]
    store = _store(tmp_path / "p.arrow", written, batch=32, monkeypatch=monkeypatch)
    rows = [299, 0, 31, 32, 5, 5, 200, -1]
    assert store.take(rows) == [written[r] for r in rows]
    assert store.take(np.array(rows, dtype=np.int32)) == [written[r] for r in rows]
    assert store.take([]) == []
    with pytest.raises(IndexError, match="300"):
        store.take([1, 300])


def test_rows_of_pmids_and_ids(tmp_path, monkeypatch):
    written = [_passage(i) for i in range(100)] + [Passage(id="nopmid", text="x")]
    store = _store(tmp_path / "p.arrow", written, batch=16, monkeypatch=monkeypatch)
    rows = store.rows_of_pmids({"1000", "1020", "9999"})
    assert rows.dtype == np.int64
    assert rows.tolist() == [0, 1, 2, 60, 61, 62]
    assert store.rows_of_pmids([""]).tolist() == []  # "" is no pmid, never a match
    assert store.rows_of_pmids([]).tolist() == []
    assert store.rows_of_ids(["p99", "p3", "nopmid", "zz"]).tolist() == [3, 99, 100]
    assert store.column("pmid").to_pylist()[-1] == ""
    assert isinstance(store.ids(), pa.ChunkedArray) and len(store.ids()) == 101


def test_sharded_rows_map_global_rows_to_their_shard(tmp_path, monkeypatch):
    monkeypatch.setattr(rows_module, "ROWS_PER_BATCH", 8)
    parts = [[_passage(i, s) for i in range(n)] for s, n in (("a", 20), ("b", 0), ("c", 9))]
    parts.append([_passage(i, "d") for i in range(17)])
    shards = [_store(tmp_path / f"{n}.arrow", part) for n, part in enumerate(parts)]
    everything = [p for part in parts for p in part]
    sharded = ShardedRows(shards)
    assert len(sharded) == 46
    assert sharded.offsets.dtype == np.int64 and sharded.offsets.tolist() == [0, 20, 20, 29]
    assert sharded.shards == shards
    assert [sharded[r] for r in range(46)] == everything
    assert sharded[-1] == everything[-1]
    rows = [45, 0, 20, 19, 29, 28, 20]
    assert sharded.take(rows) == [everything[r] for r in rows]
    assert list(sharded.iter_ids()) == [p.id for p in everything]
    assert list(sharded) == everything
    assert sharded.rows_of_ids(["cp0", "ap0", "dp16"]).tolist() == [0, 20, 45]
    with pytest.raises(IndexError):
        sharded[46]


def test_an_empty_store_and_no_shards(tmp_path):
    store = _store(tmp_path / "p.arrow", [])
    assert len(store) == 0 and list(store) == [] and store.rows_of_ids(["x"]).tolist() == []
    with pytest.raises(IndexError):
        store[0]
    assert len(ShardedRows([])) == 0 and list(ShardedRows([store]).iter_ids()) == []


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing"])
def test_a_damaged_store_names_its_file(tmp_path, damage):
    path = tmp_path / "passages.arrow"
    _store(path, [_passage(i) for i in range(50)])
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-40])
    elif damage == "garbage":
        path.write_bytes(b"not an arrow file at all" * 10)
    else:
        path.unlink()
    with pytest.raises(IndexStoreError, match="passages.arrow"):
        PassageRows(path)


def test_a_foreign_arrow_file_is_refused(tmp_path):
    path = tmp_path / "other.arrow"
    table = pa.table({"id": ["a"], "body": ["b"]})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(IndexStoreError, match="other.arrow.*columns"):
        PassageRows(path)


def test_an_error_inside_the_writer_block_leaves_no_file(tmp_path):
    path = tmp_path / "p.arrow"
    with pytest.raises(RuntimeError), PassageWriter(path) as writer:
        writer.write([_passage(1)])
        raise RuntimeError("stopped")
    assert not path.exists()


def test_meta_that_is_not_json_is_refused_with_the_passage_id(tmp_path):
    with pytest.raises(IndexStoreError, match="'bad'"), PassageWriter(tmp_path / "p.arrow") as w:
        w.write([Passage(id="bad", text="x", meta={"when": object()})])


def test_loading_makes_no_copy_of_the_passages(tmp_path):
    path = tmp_path / "p.arrow"
    with PassageWriter(path) as writer:
        for start in range(0, 200_000, 10_000):
            writer.write(
                [
                    Passage(id=f"p{i}", text=f"short text {i}", pmid=str(i))
                    for i in range(start, start + 10_000)
                ]
            )
    before = pa.total_allocated_bytes()
    store = PassageRows(path)
    ids = store.ids()
    loaded = pa.total_allocated_bytes() - before
    assert len(store) == 200_000 and len(ids) == 200_000
    assert loaded < 64 * 1024, f"loading allocated {loaded} bytes; it should map the file"
    assert store[199_999].id == "p199999"
