"""Hub models are pinned to a revision, which is what loads, what an index records and what a
changed profile is checked against.

No machine of this project reaches the hub, so the hub is a local copy of its cache (the
layout ``huggingface_hub`` writes: a snapshot folder per commit, ``refs/main`` naming one)
read in offline mode: ``from_pretrained(..., revision=...)`` runs for real against it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import load_profile, profile_from_dict
from qa.errors import IndexStoreError, ModelLoadError
from qa.index.store import build_index, load_index, read_manifest
from qa.modelhub import locate, revision

from .conftest import save_tiny_bert, tiny_profile

OLD, NEW = "a" * 40, "b" * 40  # two commits of the same hub model; main points at NEW


def put_on_fake_hub(cache: Path, hub_id: str, commits: dict[str, int], main: str, **kw) -> None:
    """A tiny BERT per commit (``commits``: sha -> seed) in the hub cache layout."""
    repo = cache / f"models--{hub_id.replace('/', '--')}"
    for sha, seed in commits.items():
        save_tiny_bert(repo / "snapshots" / sha, seed, **kw)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(main, encoding="utf-8")


@pytest.fixture()
def fake_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty hub cache, read offline for the length of the test."""
    import huggingface_hub.constants as hub

    cache = tmp_path / "hub-cache"
    cache.mkdir()
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    return cache


def test_a_hub_id_carries_its_revision_after_an_at_sign() -> None:
    location = locate(f"dmis-lab/biobert-base-cased-v1.1-squad@{OLD}")
    assert (location.path, location.revision, location.local) == (
        "dmis-lab/biobert-base-cased-v1.1-squad",
        OLD,
        False,
    )
    assert revision(location) == OLD  # what an index manifest records
    assert locate("ncbi/MedCPT-Query-Encoder@main").revision == "main"


def test_an_unpinned_hub_id_is_refused_with_how_to_pin_it() -> None:
    with pytest.raises(ModelLoadError) as caught:
        locate("emilyalsentzer/Bio_ClinicalBERT")
    assert str(caught.value) == (
        "Hub model emilyalsentzer/Bio_ClinicalBERT names no revision: pin it as "
        "emilyalsentzer/Bio_ClinicalBERT@<commit sha> (from the model's 'Files and versions' "
        "page), or write emilyalsentzer/Bio_ClinicalBERT@main to follow the branch."
    )


@pytest.mark.parametrize("name", ["biobert", "clinicalbert", "medcpt"])
def test_every_hub_model_of_the_shipped_profiles_names_its_revision(name) -> None:
    profile = load_profile(name).to_dict()
    specs = [
        spec
        for section in ("embedder", "reader", "annotate")
        for key, spec in profile[section].items()
        if (key.endswith("model") or key == "model_base") and spec
    ]
    hub = [s for s in specs if not s.startswith(("qa-models:", "package:"))]
    assert hub, specs
    for spec in hub:
        assert not locate(spec).local and locate(spec).revision, spec


def test_the_pinned_revision_is_the_one_that_loads(fake_hub: Path) -> None:
    from qa.modelhub.load import load_model

    put_on_fake_hub(fake_hub, "tiny-org/tiny-bert", {OLD: 0, NEW: 1}, main=NEW)

    def first_weights(spec: str) -> list[float]:
        _, model = load_model(spec, "encoder")
        return model.embeddings.word_embeddings.weight[1000, :4].tolist()

    old, new = (
        first_weights(f"tiny-org/tiny-bert@{OLD}"),
        first_weights(f"tiny-org/tiny-bert@{NEW}"),
    )
    assert old != new
    assert first_weights("tiny-org/tiny-bert@main") == new
    with pytest.raises(ModelLoadError, match="tiny-org/tiny-bert@c{40}"):
        load_model("tiny-org/tiny-bert@" + "c" * 40, "encoder")  # no such commit


def test_an_index_records_the_revision_and_refuses_a_profile_pinned_to_another(
    fake_hub: Path, tmp_path: Path, sample_passages
) -> None:
    put_on_fake_hub(fake_hub, "tiny-org/tiny-bert", {OLD: 0, NEW: 1}, main=NEW)
    built = tiny_profile(f"tiny-org/tiny-bert@{OLD}")
    build_index(sample_passages, tmp_path / "idx", built, show_progress=False)
    embedder = read_manifest(tmp_path / "idx")["embedder"]
    assert (embedder["model"], embedder["revision"]) == (f"tiny-org/tiny-bert@{OLD}", OLD)

    assert load_index(tmp_path / "idx", built).hybrid.search("Rett syndrome", 3)
    moved = built.to_dict()
    moved["embedder"]["model"] = f"tiny-org/tiny-bert@{NEW}"
    with pytest.raises(IndexStoreError) as caught:
        load_index(tmp_path / "idx", profile_from_dict(moved))
    message = str(caught.value)
    assert f"built with embedder tiny-org/tiny-bert@{OLD} (revision {OLD})" in message
    assert f"asks for tiny-org/tiny-bert@{NEW} (revision {NEW}): rebuild with" in message
