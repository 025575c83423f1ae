"""Nothing a user has is lost: ``qa demo`` and ``qa index build`` only ever replace what this
project wrote, damaged manifests are reported by key, and a process killed outright (kill -9)
in the middle of a build or a training run leaves the previous output whole."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.cli import main
from qa.config import load_profile
from qa.errors import IndexStoreError
from qa.index.store import build_index, load_index, read_manifest

from .conftest import tiny_profile

ROOT = Path(__file__).resolve().parents[1]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes, and the names beside the folder."""
    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    return {**files, "beside it": sorted(p.name for p in folder.parent.iterdir())}


def profile_file(path: Path, model: Path) -> Path:
    path.write_text(
        f'name = "tiny"\n[embedder]\nmodel = "{model}"\nmax_seq_length = 128\n', encoding="utf-8"
    )
    return path


@pytest.fixture()
def user_index(tmp_path, other_tiny_model, sample_passages) -> Path:
    """A user's own index, built with another embedder than the demo's profile."""
    folder = tmp_path / "indexes" / "pubmed"
    build_index(sample_passages, folder, tiny_profile(other_tiny_model), show_progress=False)
    return folder


# --- qa demo touches only its own index -------------------------------------------------


def test_the_demo_refuses_a_users_index_built_with_another_profile_and_leaves_it_untouched(
    user_index, tiny_model, tmp_path, capsys
) -> None:
    before = snapshot(user_index)
    argv = ["demo", "--no-serve", "--index", str(user_index)]
    assert main([*argv, "--profile", str(profile_file(tmp_path / "t.toml", tiny_model))]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {user_index} is not the demo index: serve it with qa serve --index "
        f"{user_index}, or give qa demo another --index folder.\n"
    )
    assert snapshot(user_index) == before


def test_the_demo_refuses_a_folder_of_other_files_and_leaves_it_untouched(
    tmp_path, tiny_model, capsys
) -> None:
    folder = tmp_path / "web" / "site"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text('{"name": "My web app"}', encoding="utf-8")
    (folder / "index.html").write_text("<h1>mine</h1>", encoding="utf-8")
    before = snapshot(folder)
    argv = ["demo", "--no-serve", "--index", str(folder)]
    assert main([*argv, "--profile", str(profile_file(tmp_path / "t.toml", tiny_model))]) == 2
    assert capsys.readouterr().err == (
        f"error: {folder} is not the demo index (it holds no index manifest.json): give qa "
        "demo another --index folder; it is left as it is.\n"
    )
    assert snapshot(folder) == before


def test_the_demo_builds_into_an_empty_folder_and_rebuilds_its_own_damaged_index(
    tmp_path, tiny_model, capsys
) -> None:
    from qa.demo import load_demo

    folder = tmp_path / "demo"
    folder.mkdir()
    profile = load_profile(profile_file(tmp_path / "t.toml", tiny_model))
    load_demo(folder, profile, device="cpu")
    assert f"Building the demo index in {folder} (first start)" in capsys.readouterr().err
    assert read_manifest(folder)["built_by"] == "qa demo"
    (folder / "shards/00000/dense.faiss").write_bytes(b"damaged")
    qa = load_demo(folder, profile, device="cpu")
    damaged = f"shards/00000/dense.faiss in {folder} is damaged ("
    assert f"Building the demo index in {folder} ({damaged}" in capsys.readouterr().err
    assert len(qa.index.passages) == 300


def format_1_manifest(folder: Path, profile, **keys) -> None:
    """The manifest of an index as written before shards (format 1, no format marker)."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"format_version": 1, "files": {"passages.jsonl": "0" * 64}}
    manifest.update(profile=profile.to_dict(), passages=300, **keys)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_demo_index_of_the_format_before_shards_is_recognised_and_rebuilt(
    tmp_path, tiny_model, capsys
) -> None:
    from qa.demo import _demo_corpus_sha256, load_demo

    folder = tmp_path / "demo"
    profile = load_profile(profile_file(tmp_path / "t.toml", tiny_model))
    format_1_manifest(folder, profile, corpus_sha256=_demo_corpus_sha256())
    assert len(load_demo(folder, profile, device="cpu").index.passages) == 300
    assert f"Building the demo index in {folder} ({folder} has index format 1" in (
        capsys.readouterr().err
    )
    assert read_manifest(folder)["format_version"] == 2


# --- qa index build replaces only an index -----------------------------------------------


def edit_manifest(folder: Path, change) -> None:
    """Rewrite ``folder``'s manifest with ``change`` (a function that edits the parsed JSON)."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_an_index_of_the_format_before_shards_is_refused_with_the_rebuild_command_and_replaceable(
    tmp_path, sample_passages, other_tiny_model
) -> None:
    folder = tmp_path / "indexes" / "old"
    format_1_manifest(folder, tiny_profile(other_tiny_model))
    with pytest.raises(IndexStoreError) as excinfo:
        load_index(folder)
    assert str(excinfo.value) == (
        f"{folder} has index format 1, this version reads 2; rebuild it with: "
        f"qa index build PASSAGES.jsonl -o {folder} --profile tiny"
    )
    build_index(sample_passages[:4], folder, tiny_profile(other_tiny_model), show_progress=False)
    assert read_manifest(folder)["passages"] == 4
    assert read_manifest(folder)["format"] == "qa-index"


# --- manifests checked against the schema -----------------------------------------------


def without(key: str):
    return lambda m: m.pop(key)


def setting(key: str, value):
    return lambda m: m.update({key: value})


SHARD = "shards/00000"
FAISS = f"{SHARD}/dense.faiss"
DAMAGED = {
    "files a list": (setting("files", []), "files must be an object of file checksums, not []"),
    "passages a string": (
        setting("passages", "12"),
        "passages must be the number of passages searched (0 or more), not '12'",
    ),
    "profile a string": (
        setting("profile", "tiny"),
        "profile must be an object (the profile's settings), not 'tiny'",
    ),
    "no embedder": (without("embedder"), "embedder is missing"),
    "no build date": (without("built_at"), "built_at is missing"),
    "embedder model a number": (
        lambda m: m["embedder"].update(model=3),
        "embedder.model must be the model's name, not 3",
    ),
    "vector size a boolean": (
        lambda m: m["embedder"].update(dim=True),
        "embedder.dim must be the vector size (above 0), not True",
    ),
    "checksum not a sha256": (
        lambda m: m["files"].update({FAISS: {"sha256": "abc", "bytes": 1}}),
        f"files['{FAISS}'] must hold a sha256 checksum, not {{'sha256': 'abc', 'bytes': 1}}",
    ),
    "no passages file": (
        lambda m: m["files"].pop(f"{SHARD}/passages.arrow"),
        f"files['{SHARD}/passages.arrow'] is missing",
    ),
    "shard rows not the total": (
        lambda m: m["shards"][0].update(rows=5),
        "rows is not the sum of the shards' rows",
    ),
    "a count edited into another valid value": (
        setting("passages", 11),
        "",  # only the manifest's own checksum can tell
    ),
    "profile setting of the wrong type": (
        lambda m: m["profile"]["index"].update(faiss=7),
        "profile is not a valid profile (",
    ),
}


@pytest.mark.parametrize("case", DAMAGED)
def test_a_damaged_manifest_names_the_key_and_the_rebuild_command(user_index, case) -> None:
    change, problem = DAMAGED[case]
    edit_manifest(user_index, change)
    with pytest.raises(IndexStoreError) as excinfo:
        load_index(user_index)
    message = str(excinfo.value)
    if problem:
        assert message.startswith(f"{user_index}/manifest.json is damaged: {problem}")
    else:
        assert message.startswith(
            f"{user_index}/manifest.json is damaged (its checksum does not match its content)"
        )
    profile = "PROFILE" if case == "profile a string" else "tiny"
    assert message.endswith(
        f"; rebuild it with: qa index build PASSAGES.jsonl -o {user_index} --profile {profile}"
    )
    assert "\n" not in message


def test_qa_index_info_on_a_damaged_manifest_is_one_line_and_exit_status_2(
    user_index, capsys
) -> None:
    edit_manifest(user_index, setting("files", []))
    assert main(["index", "info", str(user_index)]) == 2
    assert capsys.readouterr().err == (
        f"error: {user_index}/manifest.json is damaged: files must be an object of file "
        f"checksums, not []; rebuild it with: qa index build PASSAGES.jsonl -o {user_index} "
        "--profile tiny\n"
    )


NOT_OURS = {
    "of another format": (
        lambda folder: edit_manifest(folder, setting("format", "webpack")),
        "format must be 'qa-index', not 'webpack'",
        "tiny",
    ),
    "a list": (
        lambda folder: (folder / "manifest.json").write_text("[1, 2]", encoding="utf-8"),
        "its top level must be an object",
        "PROFILE",
    ),
}


@pytest.mark.parametrize("case", NOT_OURS)
def test_a_manifest_that_is_not_an_index_manifest_says_to_move_the_folder_away(
    user_index, case
) -> None:
    write, problem, profile = NOT_OURS[case]
    write(user_index)
    with pytest.raises(IndexStoreError) as excinfo:
        load_index(user_index)
    assert str(excinfo.value) == (
        f"{user_index}/manifest.json is damaged: {problem}; if it is an index, move it away and "
        f"rebuild it with: qa index build PASSAGES.jsonl -o {user_index} --profile {profile}"
    )


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "bm25/../../outside.txt"])
def test_a_manifest_naming_a_file_outside_the_index_is_refused(user_index, name) -> None:
    edit_manifest(user_index, lambda m: m["files"].update({name: "0" * 64}))
    with pytest.raises(IndexStoreError) as excinfo:
        load_index(user_index, verify=False)
    assert str(excinfo.value).startswith(
        f"{user_index}/manifest.json is damaged: files[{name!r}] names a path outside the "
        "index folder; rebuild it with: "
    )


def test_a_symlink_in_the_index_pointing_out_of_it_is_refused(user_index, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not the index's", encoding="utf-8")
    (user_index / "notes.txt").symlink_to(secret)
    edit_manifest(user_index, lambda m: m["files"].update({"notes.txt": "0" * 64}))
    with pytest.raises(IndexStoreError, match=r"files\['notes.txt'\] names a path outside"):
        load_index(user_index)


# --- kill -9 in the middle of a build or a training run -----------------------------------


def start_qa(argv: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "qa.cli", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_when(proc: subprocess.Popen, ready, timeout: float = 240) -> None:
    """SIGKILL ``proc`` as soon as ``ready()``; fails if it ended first."""
    deadline = time.time() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(
                f"qa ended ({proc.returncode}) before it could be killed mid-way: "
                + proc.stderr.read().decode()[-2000:]
            )
        if time.time() > deadline:
            proc.kill()
            pytest.fail("qa never reached the point where it is killed")
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def test_a_build_killed_outright_leaves_the_previous_index_and_the_next_build_cleans_up(
    user_index, tmp_path, other_tiny_model, sample_passages
) -> None:
    corpus = tmp_path / "big.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for i in range(20000):
            text = f"Passage {i} reports that gene G{i % 97} regulates pathway P{i % 31} in cells."
            fh.write(json.dumps({"id": f"b{i}", "text": text}) + "\n")
    profile = profile_file(tmp_path / "other.toml", other_tiny_model)
    before = snapshot(user_index)
    proc = start_qa(
        ["index", "build", str(corpus), "-o", str(user_index), "--profile", str(profile)], tmp_path
    )
    building = user_index.parent / f".pubmed.building-{proc.pid}"
    kill_when(proc, lambda: any(building.parent.glob(f"{building.name}-*/shards")))
    leftovers = sorted(p.name for p in user_index.parent.iterdir() if p.name != "pubmed")
    assert len(leftovers) == 1 and leftovers[0].startswith(building.name + "-")
    after = snapshot(user_index)
    assert after.pop("beside it") == [leftovers[0], "pubmed"]
    before.pop("beside it")
    assert after == before  # the previous index, byte for byte
    assert len(load_index(user_index).passages) == 12
    build_index(
        sample_passages[:3], user_index, tiny_profile(other_tiny_model), show_progress=False
    )
    assert [p.name for p in user_index.parent.iterdir()] == ["pubmed"]
    assert read_manifest(user_index)["passages"] == 3


def test_qtype_training_killed_outright_leaves_no_half_model_folder(tmp_path) -> None:
    from .test_embedder_training import golden_file

    questions = [
        (
            f"q{i}",
            f"Which gene number {i} is linked to disease D{i % 53} and drug R{i % 29}?",
            ["text"],
        )
        for i in range(6000)
    ]
    train = golden_file(tmp_path / "train.json", questions)
    out = tmp_path / "models" / "qtype"
    proc = start_qa(["train", "qtype", "--train", str(train), "-o", str(out)], tmp_path)
    kill_when(proc, lambda: any(out.parent.glob(".qtype.building-*/qtype.json")))
    assert not out.exists()  # no half model where a model is expected
    leftovers = [p.name for p in out.parent.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(f".qtype.building-{proc.pid}-")
    assert (
        main(
            ["train", "qtype", "--train", str(golden_file(tmp_path / "small.json")), "-o", str(out)]
        )
        == 0
    )
    assert sorted(p.name for p in out.parent.iterdir()) == ["qtype"]
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "qtype.json", "qtype.safetensors"]


def test_training_into_a_users_folder_is_refused_before_it_starts(tmp_path, capsys) -> None:
    from .test_embedder_training import golden_file

    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious", encoding="utf-8")
    train = golden_file(tmp_path / "train.json")
    for argv in (
        ["train", "qtype", "--train", str(train), "-o", str(out)],
        ["train", "yesno", "--train", str(train), "-o", str(out)],
    ):
        assert main(argv) == 2
        assert capsys.readouterr().err == (
            f"error: {out} exists and is not a model folder this project wrote: refusing to "
            "replace it. Choose another output folder, or move it away yourself.\n"
        )
    assert snapshot(out) == {"chapter1.tex": b"precious", "beside it": ["thesis", "train.json"]}
