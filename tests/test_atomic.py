"""Writes that never leave half a file or half a folder, and never delete a user's folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from qa.atomic import atomic_file, remove_abandoned, save_tensors, staged_folder, write_text
from qa.errors import QAError


def is_index(folder) -> bool:
    manifest = folder / "manifest.json"
    return manifest.is_file() and "format_version" in json.loads(manifest.read_text())


def test_a_failed_write_leaves_the_previous_file_and_no_temporary_one(tmp_path) -> None:
    target = tmp_path / "report.md"
    write_text(target, "first\n")
    with pytest.raises(RuntimeError), atomic_file(target) as fh:
        fh.write("half of a second")
        raise RuntimeError("interrupted")
    assert target.read_text() == "first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_a_folder_the_project_wrote_is_replaced_whole(tmp_path) -> None:
    out = tmp_path / "idx"
    for version in (1, 2):
        with staged_folder(out, is_index, "an index") as tmp:
            (tmp / "manifest.json").write_text(json.dumps({"format_version": version}))
    assert json.loads((out / "manifest.json").read_text()) == {"format_version": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_a_users_folder_is_refused_before_any_work_and_kept(tmp_path) -> None:
    out = tmp_path / "webapp"
    out.mkdir()
    (out / "manifest.json").write_text('{"name": "my web app"}')  # a manifest, not ours
    with (
        pytest.raises(QAError, match="refusing to replace it"),
        staged_folder(out, is_index, "an index"),
    ):
        raise AssertionError("the block must not run")
    assert (out / "manifest.json").read_text() == '{"name": "my web app"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["webapp"]


def test_a_failure_inside_the_block_keeps_the_previous_folder(tmp_path) -> None:
    out = tmp_path / "idx"
    with staged_folder(out, is_index, "an index") as tmp:
        (tmp / "manifest.json").write_text('{"format_version": 1}')
    with pytest.raises(KeyboardInterrupt), staged_folder(out, is_index, "an index") as tmp:
        (tmp / "manifest.json").write_text('{"format_version": 2}')
        raise KeyboardInterrupt
    assert json.loads((out / "manifest.json").read_text()) == {"format_version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def dead_pid() -> str:
    """The pid of a process that has ended (a child that printed it and exited)."""
    return subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()


def test_leftovers_of_killed_writers_go_and_those_of_live_ones_stay(tmp_path) -> None:
    dead = dead_pid()
    live = str(os.getpid())
    out = tmp_path / "idx"
    for name in (
        f".idx.building-{dead}-ab12",
        f".idx.old-{dead}-cd34",
        f".idx.building-{live}-ef56",
    ):
        (tmp_path / name).mkdir()
    (tmp_path / ".other.building-1-aa").mkdir()  # another output's: not looked at
    removed = remove_abandoned(out)
    assert sorted(p.name for p in removed) == [
        f".idx.building-{dead}-ab12",
        f".idx.old-{dead}-cd34",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".idx.building-" + live + "-ef56",
        ".other.building-1-aa",
    ]


def test_a_file_left_by_a_killed_writer_goes_with_the_next_write(tmp_path) -> None:
    dead = dead_pid()
    (tmp_path / f".report.md.building-{dead}-ab12").write_text("half a report")
    write_text(tmp_path / "report.md", "whole\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_saved_weights_get_the_permissions_a_plain_open_would_give(tmp_path, umask) -> None:
    import torch
    from safetensors.torch import load_file

    previous = os.umask(umask)
    try:
        save_tensors({"w": torch.ones(2)}, tmp_path / "overlay.safetensors")
        (tmp_path / "plain").write_text("x")
    finally:
        os.umask(previous)
    mode = (tmp_path / "overlay.safetensors").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain").stat().st_mode & 0o777 == 0o666 & ~umask
    assert torch.equal(load_file(tmp_path / "overlay.safetensors")["w"], torch.ones(2))
