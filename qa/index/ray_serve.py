"""``load_index(..., engine="ray")``: each shard served by a Ray actor, searched in parallel.

An index too large for one machine's memory (or page cache) still searches at memory speed
when its shards live on several machines: each shard is loaded by one :class:`ShardServer`
actor (memory-mapped there, exactly as :func:`qa.index.shards.load_shard` loads it locally),
and this process keeps only proxies. A proxy looks like a local shard to the retrievers
(``.rows``, ``.bm25.top_rows``, ``.dense.top_rows``), so :class:`~qa.retrieve.bm25.BM25Index`,
:class:`~qa.retrieve.dense.DenseIndex` and :class:`~qa.index.rows.ShardedRows` merge the
shards' answers unchanged and an index answers the same on Ray as locally. On a cluster every
node must see the index folder at the same path (a shared filesystem).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Profile
from qa.errors import IndexStoreError
from qa.index.manifest import rebuild_hint
from qa.index.ray_build import import_ray, start_ray
from qa.index.rows import ROWS_PER_BATCH, checked_row
from qa.types import Passage

# Stands in, on the wire, for the shard's own hidden mask: the actor holds the mask, so it is
# not sent with every query, and the retriever's per-mask caches (DenseShard keeps a FAISS
# selector per mask object) stay warm.
OWN_MASK = "qa:own-hidden-mask"
# Actors searched at once by one query; beyond this, threads would only wait on each other.
MAX_THREADS = 32
ROW_METHODS = ("column", "rows_of_pmids", "rows_of_ids")


def _plain(part: Any) -> dict[str, Any]:
    """The public attributes of a shard part that are plain values, to mirror on its proxy."""
    kinds = (bool, int, float, str, Path)
    return {k: v for k, v in vars(part).items() if not k.startswith("_") and isinstance(v, kinds)}


class ShardServer:
    """One shard, loaded in a Ray actor; what its methods return crosses the wire, so passages
    go back as dicts and search results as numpy arrays."""

    def __init__(
        self, folder: str, profile: Profile, rows: int, dim: int, hidden: np.ndarray | None
    ) -> None:
        from qa.index.shards import load_shard

        self.hidden = None if hidden is None else np.array(hidden, dtype=bool)  # a private copy
        self.error = ""
        try:
            self.shard = load_shard(Path(folder), profile, rows, dim)
        except IndexStoreError as exc:  # kept for ready(): a failed __init__ loses the message
            self.error = str(exc)

    def ready(self) -> dict[str, Any]:
        """The shard's size and its parts' plain attributes (``rows``, ``dim``, ``stopwords``:
        what the indexes check across shards), or the error that kept it from loading."""
        if self.error:
            return {"error": self.error}
        return {
            "passages": len(self.shard.rows),
            "bm25": _plain(self.shard.bm25),
            "dense": _plain(self.shard.dense),
        }

    def _own(self, value: Any) -> Any:
        return self.hidden if isinstance(value, str) and value == OWN_MASK else value

    def _mask(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """The arguments with :data:`OWN_MASK` replaced by this shard's hidden mask."""
        return tuple(self._own(a) for a in args), {k: self._own(v) for k, v in kwargs.items()}

    def bm25_top_rows(self, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = self._mask(args, kwargs)
        return self.shard.bm25.top_rows(*args, **kwargs)

    def dense_top_rows(self, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = self._mask(args, kwargs)
        return self.shard.dense.top_rows(*args, **kwargs)

    def take(self, rows: Sequence[int] | np.ndarray) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.shard.rows.take(rows)]

    def length(self) -> int:
        return len(self.shard.rows)

    def rows_call(self, method: str, *args: Any) -> Any:
        """The passage store's vectorised look-ups (:data:`ROW_METHODS`), run where it is."""
        if method not in ROW_METHODS:
            raise ValueError(f"{method!r} is not one of {ROW_METHODS}.")
        return getattr(self.shard.rows, method)(*args)


class RemoteSearch:
    """A shard's BM25 or dense part as the retrievers see it: ``top_rows`` and its plain attributes."""

    def __init__(
        self, call: Callable[..., Any], hidden: np.ndarray | None, attributes: dict[str, Any]
    ) -> None:
        self._call, self._hidden = call, hidden
        for name, value in attributes.items():
            setattr(self, name, value)  # rows, dim, stopwords...: what the indexes read

    def top_rows(self, *args: Any, **kwargs: Any) -> Any:
        """The actor's ``top_rows``, the shard's own mask sent as :data:`OWN_MASK`."""
        mine = self._hidden
        if mine is not None:
            args = tuple(OWN_MASK if a is mine else a for a in args)
            kwargs = {k: OWN_MASK if v is mine else v for k, v in kwargs.items()}
        return import_ray().get(self._call(*args, **kwargs))


class RemoteRows(Sequence[Passage]):
    """A shard's passages, fetched from its actor by row (as :class:`~qa.index.rows.PassageRows`
    is read, with the same methods)."""

    def __init__(self, actor: Any, rows: int) -> None:
        self._actor, self._rows = actor, rows

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, row: int | slice) -> Any:  # Passage, or a list for a slice
        if isinstance(row, slice):
            return self.take(range(*row.indices(self._rows)))
        return self.take([checked_row(row, self._rows, "the shard")])[0]

    def __iter__(self) -> Iterator[Passage]:
        for start in range(0, self._rows, ROWS_PER_BATCH):
            yield from self.take(range(start, min(start + ROWS_PER_BATCH, self._rows)))

    def take(self, rows: Iterable[int] | np.ndarray) -> list[Passage]:
        wanted = np.asarray(rows if isinstance(rows, np.ndarray) else list(rows), dtype=np.int64)
        found = import_ray().get(self._actor.take.remote(wanted))
        return [Passage.from_dict(p) for p in found]

    def _remote(self, method: str, *args: Any) -> Any:
        return import_ray().get(self._actor.rows_call.remote(method, *args))

    def column(self, name: str) -> Any:
        return self._remote("column", name)

    def ids(self) -> Any:
        return self.column("id")

    def rows_of_pmids(self, pmids: Collection[str]) -> np.ndarray:
        return self._remote("rows_of_pmids", list(pmids))

    def rows_of_ids(self, ids: Collection[str]) -> np.ndarray:
        return self._remote("rows_of_ids", list(ids))


class ShardProxy:
    """What :func:`qa.index.shards.load_shard` returns, with the shard in an actor."""

    def __init__(self, actor: Any, ready: dict[str, Any], hidden: np.ndarray | None) -> None:
        self.actor = actor  # held here: the actor lives as long as the loaded index
        self.rows = RemoteRows(actor, ready["passages"])
        self.bm25 = RemoteSearch(actor.bm25_top_rows.remote, hidden, ready["bm25"])
        self.dense = RemoteSearch(actor.dense_top_rows.remote, hidden, ready["dense"])


def place_shards(
    folder: Path,
    manifest: dict[str, Any],
    profile: Profile,
    hidden: Sequence[np.ndarray | None],
    address: str | None = None,
) -> tuple[list[ShardProxy], Callable[[list[Callable[[], Any]]], list[Any]]]:
    """One actor per shard (spread over the cluster's nodes), and the ``fan_out`` the
    retrievers search them with: every shard at once, each call waiting on its own actor."""
    ray = import_ray()
    start_ray(address)  # left running: the loaded index lives on it
    entries = manifest["shards"]
    cpus = float(ray.cluster_resources().get("CPU", 1))
    # A shard mostly waits on memory-mapped pages, not a core: fractions let every shard be
    # placed even when there are more shards than cores.
    share = max(0.01, min(1.0, round(cpus / max(len(entries), 1) / 2, 2)))
    server = ray.remote(ShardServer).options(num_cpus=share, scheduling_strategy="SPREAD")
    dim = manifest["embedder"]["dim"]
    actors = [
        server.remote(str(Path(folder) / e["name"]), profile, e["rows"], dim, mask)
        for e, mask in zip(entries, hidden)
    ]
    proxies = []
    for actor, ready, mask in zip(actors, ray.get([a.ready.remote() for a in actors]), hidden):
        if "error" in ready:
            raise IndexStoreError(f"{ready['error']}; " + rebuild_hint(folder, manifest))
        proxies.append(ShardProxy(actor, ready, mask))
    pool = ThreadPoolExecutor(max_workers=min(MAX_THREADS, max(len(actors), 1)))

    def fan_out(calls: list[Callable[[], Any]]) -> list[Any]:
        """Run ``calls`` side by side: each blocks on its actor's answer, not on a core."""
        if len(calls) == 1:
            return [calls[0]()]
        return list(pool.map(lambda call: call(), calls))

    return proxies, fan_out
