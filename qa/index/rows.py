"""The passage store of an index shard: an Arrow IPC file, written streaming, read memory-mapped.

A literature-scale index holds tens of millions of passages; as Python objects they would take
tens of gigabytes before the first question. Here they live in ``passages.arrow`` (the Arrow
IPC *file* format) and are opened with ``pa.memory_map``: loading reads only the footer, the
operating system pages in the rows a question touches, and no Python object exists for a row
until it is asked for. Every record batch but the last holds exactly ``ROWS_PER_BATCH`` rows,
so row ``r`` is row ``r % n`` of batch ``r // n``: an O(1) lookup with no offsets table.

Columns are ``id``, ``pmid``, ``title``, ``text`` and ``meta`` (``Passage.meta`` as JSON, ``""``
for an empty dict), all strings. Errors name the file; the caller adds how to rebuild.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from qa.errors import IndexStoreError
from qa.types import Passage

# Every record batch but the last holds exactly this many rows: row -> (batch, offset) in O(1),
# and the writer never buffers more than this many passages.
ROWS_PER_BATCH = 4096
COLUMNS = ("id", "pmid", "title", "text", "meta")
SCHEMA = pa.schema([(name, pa.string()) for name in COLUMNS])


def _meta_json(passage: Passage) -> str:
    if not passage.meta:
        return ""
    try:
        return json.dumps(passage.meta, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise IndexStoreError(
            f"Passage {passage.id!r}: its meta cannot be stored as JSON ({e}); keep meta to "
            "strings, numbers, lists and objects."
        ) from None


def _passages(batch: pa.RecordBatch) -> list[Passage]:
    """The rows of a (small) batch as passages: one ``to_pylist`` per column, not per cell."""
    ids, pmids, titles, texts, metas = (batch.column(name).to_pylist() for name in COLUMNS)
    return [
        Passage(id=i, text=x, title=t, pmid=p, meta=json.loads(m) if m else {})
        for i, p, t, x, m in zip(ids, pmids, titles, texts, metas)
    ]


def _row_array(rows: Iterable[int] | np.ndarray, size: int, what: str) -> np.ndarray:
    """``rows`` as int64, negatives counted from the end (as a list does), all in range."""
    array = np.asarray(rows if isinstance(rows, np.ndarray) else list(rows))
    if array.size == 0:
        return np.empty(0, dtype=np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{what} rows must be integers, not {array.dtype}.")
    given = array.astype(np.int64).ravel()
    array = np.where(given < 0, given + size, given)
    bad = (array < 0) | (array >= size)
    if bad.any():
        raise IndexError(f"Row {given[bad][0]} out of range: {what} holds {size} passages.")
    return array


def _groups(keys: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``(key, positions)`` for each distinct key: one pass over a stable sort, no Python loop
    over rows."""
    if not keys.size:
        return
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    for start, end in zip(starts, np.r_[starts[1:], len(order)]):
        yield int(ordered[start]), order[start:end]


def checked_row(row: Any, rows: int, where: str) -> int:
    """``row`` as an index into ``rows`` passages, counted from the end when negative (as in a
    list); a row that is not an integer, or lies outside, is a one-line error naming ``where``."""
    if isinstance(row, bool) or not isinstance(row, numbers.Integral):
        raise TypeError(f"Passage rows are integers, not {type(row).__name__}.")
    row = int(row) + rows if row < 0 else int(row)
    if not 0 <= row < rows:
        raise IndexError(f"Row {row} out of range: {where} holds {rows} passages.")
    return row


class PassageWriter:
    """Streams passages into ``path`` with bounded memory: fewer than ``ROWS_PER_BATCH`` rows
    are buffered, each full buffer is written as one record batch.

    The file is written in place: the caller writes into a staging folder that is moved into
    place whole. Leaving a ``with`` block by an error removes the partial file.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rows = 0
        self._size = ROWS_PER_BATCH  # read once, so a whole file has one batch size
        self._buffer: list[Passage] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._sink = pa.OSFile(str(self.path), "wb")
        except OSError as e:
            raise IndexStoreError(f"Cannot write the passage store {self.path}: {e}") from None
        self._writer: pa.ipc.RecordBatchFileWriter | None = pa.ipc.new_file(self._sink, SCHEMA)

    def write(self, passages: Sequence[Passage]) -> None:
        if self._writer is None:
            raise ValueError(f"The passage writer of {self.path} is already closed.")
        for passage in passages:
            self._buffer.append(passage)
            if len(self._buffer) == self._size:
                self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        columns = {
            "id": [p.id for p in self._buffer],
            "pmid": [p.pmid for p in self._buffer],
            "title": [p.title for p in self._buffer],
            "text": [p.text for p in self._buffer],
            "meta": [_meta_json(p) for p in self._buffer],
        }
        self._writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=SCHEMA))
        self.rows += len(self._buffer)
        self._buffer = []

    def close(self) -> int:
        """Write what is buffered and the file's footer; return the rows written. Harmless
        when called again."""
        if self._writer is not None:
            self._flush()
            self._writer.close()
            self._writer = None
            self._sink.close()
        return self.rows

    def abort(self) -> None:
        """Stop writing and remove the partial file (a partial store is never left to load)."""
        self._writer = None
        self._buffer = []
        self._sink.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> PassageWriter:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is None:
            self.close()
        elif self._writer is not None:
            self.abort()


class PassageRows(Sequence[Passage]):
    """The passages of one shard, memory-mapped: loading keeps the record batches (views of
    the mapped file), never lists or Python objects of the rows."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            reader = pa.ipc.open_file(pa.memory_map(str(self.path), "r"))
            if not reader.schema.equals(SCHEMA):
                raise ValueError(f"columns {reader.schema.names}, expected {list(COLUMNS)}")
            self._batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
            for batch in self._batches:
                batch.validate()  # buffer sizes against the file: catches a damaged batch now
        except (OSError, ValueError, pa.ArrowException) as e:
            raise IndexStoreError(f"The passage store {self.path} cannot be read: {e}") from None
        sizes = [batch.num_rows for batch in self._batches]
        self._size = sizes[0] if sizes else ROWS_PER_BATCH
        if any(s != self._size for s in sizes[:-1]) or (sizes and sizes[-1] > self._size):
            raise IndexStoreError(
                f"The passage store {self.path} has record batches of uneven sizes; it was not "
                "written by this project's PassageWriter."
            )
        self._rows = sum(sizes)

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, row: int | slice) -> Any:  # Passage, or a list for a slice
        """One passage in O(1) (negative rows count from the end, as in a list); a slice gives
        a list."""
        if isinstance(row, slice):
            return self.take(range(*row.indices(self._rows)))
        row = checked_row(row, self._rows, str(self.path))
        batch = self._batches[row // self._size]
        return _passages(batch.slice(row % self._size, 1))[0]

    def __iter__(self) -> Iterator[Passage]:
        """Every passage in row order, converted a batch at a time (bounded memory)."""
        for batch in self._batches:
            yield from _passages(batch)

    def take(self, rows: Iterable[int] | np.ndarray) -> list[Passage]:
        """The passages of ``rows``, in that order: one ``take`` per record batch touched."""
        rows = _row_array(rows, self._rows, str(self.path))
        found: list[Passage | None] = [None] * len(rows)
        for b, positions in _groups(rows // self._size):
            local = pa.array(rows[positions] - b * self._size, type=pa.int64())
            for position, passage in zip(positions, _passages(self._batches[b].take(local))):
                found[position] = passage
        return found  # type: ignore[return-value]  # every position was filled

    def column(self, name: str) -> pa.ChunkedArray:
        """A whole column, zero-copy (chunks are views of the mapped file), for vectorised
        checks with ``pyarrow.compute``."""
        if name not in COLUMNS:
            raise KeyError(f"No column {name!r} in a passage store; it has {', '.join(COLUMNS)}.")
        return pa.chunked_array([b.column(name) for b in self._batches], type=pa.string())

    def ids(self) -> pa.ChunkedArray:
        return self.column("id")

    def rows_of_pmids(self, pmids: Collection[str]) -> np.ndarray:
        """Local rows (int64, ascending) whose pmid is one of ``pmids``; ``""`` matches
        nothing, since it means a passage has no pmid."""
        return self._rows_of("pmid", [p for p in pmids if p])

    def rows_of_ids(self, ids: Collection[str]) -> np.ndarray:
        """Local rows (int64, ascending) whose id is one of ``ids``."""
        return self._rows_of("id", list(ids))

    def _rows_of(self, name: str, values: list[str]) -> np.ndarray:
        if not values or not self._rows:
            return np.empty(0, dtype=np.int64)
        mask = pc.is_in(self.column(name), value_set=pa.array(values, type=pa.string()))
        return pc.indices_nonzero(mask).to_numpy().astype(np.int64, copy=False)


class ShardedRows(Sequence[Passage]):
    """The passages of every shard as one sequence: global row = ``offsets[s]`` + local row."""

    def __init__(self, shards: Sequence[PassageRows]) -> None:
        self.shards = list(shards)
        sizes = np.array([len(s) for s in self.shards], dtype=np.int64)
        self.offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        self._rows = int(sizes.sum())

    def __len__(self) -> int:
        return self._rows

    def _shard_of(self, rows: np.ndarray) -> np.ndarray:
        # side="right" skips empty shards, which start where the next one does.
        return np.searchsorted(self.offsets, rows, side="right") - 1

    def __getitem__(self, row: int | slice) -> Any:  # Passage, or a list for a slice
        if isinstance(row, slice):
            return self.take(range(*row.indices(self._rows)))
        row = checked_row(row, self._rows, "the index")
        shard = int(self._shard_of(np.int64(row)))
        return self.shards[shard][row - int(self.offsets[shard])]

    def __iter__(self) -> Iterator[Passage]:
        for shard in self.shards:
            yield from shard

    def take(self, rows: Iterable[int] | np.ndarray) -> list[Passage]:
        """The passages of global ``rows``, in that order: one ``take`` per shard touched."""
        rows = _row_array(rows, self._rows, "the index")
        found: list[Passage | None] = [None] * len(rows)
        for s, positions in _groups(self._shard_of(rows)):
            passages = self.shards[s].take(rows[positions] - self.offsets[s])
            for position, passage in zip(positions, passages):
                found[position] = passage
        return found  # type: ignore[return-value]  # every position was filled

    def iter_ids(self) -> Iterator[str]:
        """Every passage id in global row order, a record batch at a time."""
        for shard in self.shards:
            for chunk in shard.ids().chunks:
                yield from chunk.to_pylist()

    def rows_of_pmids(self, pmids: Collection[str]) -> np.ndarray:
        """Global rows (int64, ascending) whose pmid is one of ``pmids``."""
        return self._global([s.rows_of_pmids(pmids) for s in self.shards])

    def rows_of_ids(self, ids: Collection[str]) -> np.ndarray:
        """Global rows (int64, ascending) whose id is one of ``ids``."""
        return self._global([s.rows_of_ids(ids) for s in self.shards])

    def _global(self, local: list[np.ndarray]) -> np.ndarray:
        if not local:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([rows + offset for rows, offset in zip(local, self.offsets)])
