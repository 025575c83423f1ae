"""``qa index build --engine ray``: read and encode a corpus with Ray Data, write it here.

Encoding is the slow part of a build (hours for PubMed on one machine); reading is a close
second for gzipped XML. Ray Data spreads both: one read task per input file, and one encoder
actor per GPU of the cluster. The shards are still written by this process (the
:class:`~qa.index.build.IndexWriter` of :func:`qa.index.store.build_index`), so an index built
with Ray is, row for row, the index a plain build writes: Ray only hands back (passages,
vectors) chunks in corpus order. Each stage is a plain function of a file or a batch
(:func:`read_rows`, :class:`PassageEncoder`), testable without Ray; Ray only wires them.

Ray is an optional dependency (``pip install 'qa[ray]'``): nothing here imports it at module
level, so the rest of ``qa`` never needs it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Profile
from qa.corpus import read_corpus
from qa.errors import QAError
from qa.index.build import CHUNK
from qa.types import Passage

RAY_MISSING = "the ray engine needs Ray: pip install 'qa[ray]'"
COLUMNS = ("id", "pmid", "title", "text", "meta")
RAY_ADVICE = "\nFailed to apply UDF transform"
READS_ACROSS_FILES = frozenset({"bioasq"})


def import_ray() -> Any:
    """The ``ray`` module, or a one-line :class:`QAError` saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  # the build needs Ray Data, not only Ray core
    except ImportError:
        raise QAError(RAY_MISSING) from None
    return ray


def start_ray(address: str | None) -> bool:
    """Connect to the cluster at ``address``, or start a local Ray on every core; True when
    this call started (or connected) it, so the caller knows to shut it down again."""
    ray = import_ray()
    if ray.is_initialized():
        return False  # the caller's Ray (a test, a notebook): used as it is, left running
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    else:
        ray.init(
            num_cpus=os.cpu_count(),
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
            logging_level=logging.WARNING,
        )
    return True


def input_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """The input files in the order given (a bare path is a list of one)."""
    return [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]


def read_rows(kind: str, paths: list[str], max_tokens: int, overlap_sentences: int) -> list[dict]:
    """The passages of one read task's files as Arrow-friendly rows: exactly what
    :func:`read_corpus` gives for them, so the Ray build's rows equal a plain build's."""
    return [
        {
            "id": p.id,
            "pmid": p.pmid,
            "title": p.title,
            "text": p.text,
            "meta": json.dumps(p.meta, ensure_ascii=False) if p.meta else "",
        }
        for p in read_corpus(
            kind, paths, max_tokens=max_tokens, overlap_sentences=overlap_sentences
        )
    ]


def to_passages(batch: dict[str, np.ndarray]) -> list[Passage]:
    """A batch of rows back into passages (meta from its JSON)."""
    ids, pmids, titles, texts, metas = (batch[name] for name in COLUMNS)
    return [
        Passage(id=str(i), text=str(x), title=str(t), pmid=str(p), meta=json.loads(m) if m else {})
        for i, p, t, x, m in zip(ids, pmids, titles, texts, metas)
    ]


class PassageEncoder:
    """The encoder stage: a stateful Ray Data actor (the model loads once, in ``__init__``)
    that adds a ``vector`` column to each batch of rows."""

    def __init__(self, profile: Profile, device: str, threads: int | None) -> None:
        from qa.index.store import load_encoders

        if threads is not None:
            # Ray gives a CPU actor OMP_NUM_THREADS=1; the one CPU actor should use every core
            # of its node (0), or the thread count the user set for the driver.
            import torch

            torch.set_num_threads(threads or os.cpu_count() or 1)
        self.encoder = load_encoders(profile, device)[1]
        self.batch_size = profile.embedder.batch_size
        self.bf16 = profile.runtime.bf16_passages(self.encoder.device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from qa.retrieve.dense import DenseIndex

        vectors = DenseIndex.encode_passages(
            to_passages(batch), self.encoder, self.batch_size, show_progress=False, bf16=self.bf16
        )
        return {**batch, "vector": np.asarray(vectors, dtype=np.float32)}


def ray_chunks(
    kind: str,
    paths: str | Path | Iterable[str | Path],
    profile: Profile,
    device: str = "auto",
    address: str | None = None,
) -> Iterator[tuple[list[Passage], np.ndarray]]:
    """(passages, float32 vectors) chunks of ``paths`` read as ``kind``, in corpus order,
    encoded on Ray (the cluster at ``address``, or a local Ray).

    The corpus kind, the files and Ray itself are checked now, before Ray starts or an index
    folder is made; reading and encoding happen as the chunks are iterated.
    """
    files = input_files(paths)
    # read_corpus checks the kind, every path and the window settings eagerly, reads lazily.
    read_corpus(
        kind,
        files,
        max_tokens=profile.chunking.max_tokens,
        overlap_sentences=profile.chunking.overlap_sentences,
    )
    import_ray()
    return _stream(kind, files, profile, device, address)


def _stream(
    kind: str, files: list[Path], profile: Profile, device: str, address: str | None
) -> Iterator[tuple[list[Passage], np.ndarray]]:
    ray = import_ray()
    started = start_ray(address)
    try:
        with _quiet_ray_data():
            dataset = _dataset(ray, kind, files, profile, device)
            for batch in _batches(dataset):
                yield to_passages(batch), np.asarray(batch["vector"], dtype=np.float32)
    finally:
        if started:
            ray.shutdown()


@contextmanager
def _quiet_ray_data() -> Iterator[None]:
    """Ray Data's messages kept off the terminal (still in Ray's session log): the builder
    shows its own bar, and an error reaches the user once, as the exception raised here."""
    handlers = [
        h
        for h in logging.getLogger("ray.data").handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
    levels = [h.level for h in handlers]
    for handler in handlers:
        handler.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for handler, level in zip(handlers, levels):
            handler.setLevel(level)


def _batches(dataset: Any) -> Iterator[dict[str, np.ndarray]]:
    """The dataset's batches; an error of ours raised in a Ray worker (a malformed file, a
    model that cannot load) is raised here as itself, its one-line message intact."""
    try:
        yield from dataset.iter_batches(batch_size=CHUNK, batch_format="numpy")
    except Exception as exc:  # Ray wraps user errors in its own types, differently by version
        cause = _our_error(exc)
        if cause is None:
            raise
        # Ray Data appends its retry advice to the error's message: the user needs only ours.
        raise type(cause)(str(cause).split(RAY_ADVICE)[0]) from None


def _our_error(exc: BaseException) -> QAError | None:
    """The :class:`QAError` a worker raised, found in ``exc``'s causes (Ray's ``cause``
    included); Ray's own copy of it (a class deriving from both) is passed over, since its
    message carries the worker's traceback."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, QAError) and type(current).__module__.startswith("qa."):
            return current
        seen.add(id(current))
        following = getattr(current, "cause", None)
        current = following if isinstance(following, BaseException) else current.__cause__
    return None


def _dataset(ray: Any, kind: str, files: list[Path], profile: Profile, device: str) -> Any:
    """The Ray Data pipeline: one read task per file, then the encoder actors.

    With GPUs in the cluster (and ``device`` not "cpu") there is one actor per GPU. On CPUs
    there is a single actor, told to use all the cores the driver would: torch already
    spreads one batch over every core, and several actors would only fight for them (each
    with its own copy of the model).
    """
    from ray.data import ActorPoolStrategy, DataContext

    context = DataContext.get_current()  # process-wide: later Ray Data jobs here keep these
    context.execution_options.preserve_order = True  # chunks in corpus order, as a plain build
    context.enable_progress_bars = False  # the builder shows its own bar
    context.print_on_execution_start = False
    # Blocks of about two chunks: the driver writes one chunk while the actor encodes the next.
    # With Ray's default (128 MiB) a file's passages came back only once all were encoded, so
    # a 30k-passage build ran reading, encoding and writing one after the other.
    context.target_max_block_size = 16 * 1024 * 1024
    # A reader's error (a malformed file) reaches the driver as itself, not as Ray Data's
    # UserCodeException, which loses it (an exception's cause does not survive pickling).
    context.raise_original_map_exception = True
    chunking = profile.chunking
    # The BioASQ reader makes one passage of a snippet quoted in several files, so its files
    # are one read task (the passages then equal a plain build's); other kinds, a task per file.
    groups = [files] if kind in READS_ACROSS_FILES else [[p] for p in files]
    rows = ray.data.from_items(
        [{"paths": [str(p) for p in group]} for group in groups], override_num_blocks=len(groups)
    ).flat_map(
        lambda item: read_rows(
            kind, list(item["paths"]), chunking.max_tokens, chunking.overlap_sentences
        )
    )
    gpus = int(ray.cluster_resources().get("GPU", 0)) if device != "cpu" else 0
    if device.startswith("cuda") and not gpus:
        raise QAError(f"--device {device} was asked for, but the Ray cluster has no GPU.")
    if gpus:
        placement: dict[str, Any] = {"compute": ActorPoolStrategy(size=gpus), "num_gpus": 1}
        threads = None
    else:
        placement = {"compute": ActorPoolStrategy(size=1), "num_cpus": 1}
        threads = int(os.environ.get("OMP_NUM_THREADS") or 0)
    return rows.map_batches(
        PassageEncoder,
        # An actor sees only its own GPU, as "cuda": "cuda:1" on the driver means nothing there.
        fn_constructor_args=(profile, "cuda" if gpus else "cpu", threads),
        batch_size=CHUNK,
        batch_format="numpy",
        **placement,
    )
