"""Writing files and folders so that a crash, Ctrl-C or SIGTERM never leaves half of one.

Everything the project writes for a user (passages, submissions, reports, models, indexes) is
written beside its destination under a hidden temporary name and moved into place with one
``os.replace``, which is atomic within a filesystem. A folder is only ever replaced when it is
one the project made (the caller says how to recognise it), so a user's own folder that happens
to be named as the output is refused, never deleted. Temporary names carry the writer's process
id, so the leftovers of a process that was killed outright (``kill -9``) are recognised and
removed by the next writer; those of a live process are left alone.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from qa.errors import QAError


@contextmanager
def atomic_file(path: str | Path) -> Iterator[IO[str]]:
    """A text file that appears at ``path`` whole, when the block ends without an error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(path)
    tmp = _temporary(path, "building")
    # 0o666 lets the umask decide the final permissions, as a plain open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """``path.write_text(text)``, but the file is never seen half written."""
    with atomic_file(path) as fh:
        fh.write(text)


def save_tensors(tensors: dict, path: str | Path) -> None:
    """safetensors' ``save_file`` (inside a staged folder), with the permissions a plain
    ``open()`` gives: it creates its file readable by the owner alone, and a model folder
    shared with a group or copied into an image must be readable by them too."""
    from safetensors.torch import save_file

    save_file(tensors, str(path))
    umask = os.umask(0)  # read it the only way there is, and put it back at once
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _temporary(out: Path, stage: str) -> Path:
    """The hidden sibling a writer of ``out`` uses while at ``stage`` ("building", "old"):
    named with the writer's process id, so :func:`remove_abandoned` can tell whose it is."""
    return out.parent / f".{out.name}.{stage}-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_abandoned(out: Path) -> list[Path]:
    """Delete the temporary folders and files that writers of ``out`` left when they were
    killed outright (their process is gone); return what was removed."""
    removed = []
    for leftover in out.parent.glob(f".{out.name}.*"):
        parts = leftover.name[len(out.name) + 2 :].split(".", 1)[0].split("-")
        if len(parts) < 2 or parts[0] not in ("building", "old") or not parts[1].isdigit():
            continue
        if _pid_alive(int(parts[1])):
            continue
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


@contextmanager
def staged_folder(out: str | Path, is_ours: Callable[[Path], bool], what: str) -> Iterator[Path]:
    """A fresh folder to write into, moved to ``out`` when the block ends without an error.

    An existing ``out`` is replaced only when ``is_ours(out)`` says the project made it (an
    index, a model) or it is an empty folder; anything else is refused before any work starts.
    ``what`` names the output in that message ("an index", "a model folder").
    """
    out = Path(out)
    _refuse_foreign(out, is_ours, what)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(out)
    tmp = _temporary(out, "building")
    tmp.mkdir()
    try:
        yield tmp
        _refuse_foreign(out, is_ours, what)  # checked again: the block may have taken hours
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _refuse_foreign(out: Path, is_ours: Callable[[Path], bool], what: str) -> None:
    if not out.exists() and not out.is_symlink():
        return
    if out.is_dir() and not out.is_symlink() and (is_ours(out) or not any(out.iterdir())):
        return
    raise QAError(
        f"{out} exists and is not {what} this project wrote: refusing to replace it. Choose "
        "another output folder, or move it away yourself."
    )


def _swap_into_place(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.replace(tmp, out)
        return
    old = _temporary(out, "old")
    os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def refuse_foreign(out: str | Path, is_ours: Callable[[Path], bool], what: str) -> None:
    """What :func:`staged_folder` refuses, refused now: before hours of training, not after."""
    _refuse_foreign(Path(out), is_ours, what)


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks: what the index manifest, the ONNX cache and
    an overlay's base record, and check the file against before it is trusted."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
