"""Profiles name every model; hub ids stay hub ids, local folders are checked."""

from __future__ import annotations

import pytest

from qa.config import available_profiles, load_profile, profile_from_dict
from qa.errors import ConfigError, ModelLoadError
from qa.index.store import build_index, load_index, read_manifest
from qa.modelhub import locate

from .conftest import tiny_profile


def test_the_four_profiles_of_the_design_ship_with_the_package() -> None:
    assert {"embedded", "biobert", "clinicalbert", "medcpt"} <= set(available_profiles())
    assert load_profile().name == "embedded"
    assert load_profile("biobert").reader.model == "dmis-lab/biobert-base-cased-v1.1-squad@main"
    clinical = load_profile("clinicalbert").reader  # a reader trained here from ClinicalBERT
    assert clinical.model == "qa-models:reader-clinicalbert-bioasq"
    assert clinical.model_base == "emilyalsentzer/Bio_ClinicalBERT@main"
    medcpt = load_profile("medcpt")
    assert medcpt.embedder.model == "ncbi/MedCPT-Query-Encoder@main"
    assert medcpt.embedder.passage_model == "ncbi/MedCPT-Article-Encoder@main"
    assert medcpt.embedder.pooling == "cls"


def test_hub_ids_are_left_for_transformers_to_fetch() -> None:
    location = locate("pritamdeka/S-BioBert-snli-multinli-stsb@main")
    assert not location.local
    assert location.path == "pritamdeka/S-BioBert-snli-multinli-stsb"


def test_a_path_that_is_neither_folder_nor_hub_id_is_refused() -> None:
    with pytest.raises(ModelLoadError, match="neither a local folder nor a Hugging Face hub id"):
        locate("./no/such/model/folder")


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="embedded"):
        load_profile("nonexistent")


def test_a_misspelt_setting_is_refused_by_name(tmp_path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[embedder]\nmodel = "x"\n[fusion]\nrrf_kk = 10\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="rrf_kk"):
        load_profile(path)


def test_a_bad_choice_is_refused_with_the_allowed_values() -> None:
    with pytest.raises(ConfigError, match="flat"):
        profile_from_dict({"embedder": {"model": "x"}, "index": {"faiss": "annoy"}})


def test_asymmetric_encoders_index_with_one_model_and_query_with_the_other(
    tmp_path, tiny_model, other_tiny_model, sample_passages
) -> None:
    data = tiny_profile(tiny_model).to_dict()
    data["embedder"].update(passage_model=str(other_tiny_model), pooling="cls")
    profile = profile_from_dict(data)
    build_index(sample_passages, tmp_path / "asym", profile, show_progress=False)
    manifest = read_manifest(tmp_path / "asym")
    assert manifest["embedder"]["passage_model"] == str(other_tiny_model)
    assert manifest["embedder"]["pooling"] == "cls"
    index = load_index(tmp_path / "asym")
    assert index.dense.encoder.spec == str(tiny_model)
    assert index.dense.encoder.pooling == "cls"
    assert len(index.hybrid.search("Rett syndrome", 5)) == 5


def test_every_section_is_typed_and_the_dict_round_trips() -> None:
    profile = load_profile("embedded")
    assert (profile.reader.answer_temperature, profile.reader.list_split) == (4.0, True)
    reader = profile.reader
    # yesno_joined unset: the shipped yes/no model's config says it was trained joined
    assert (reader.yesno_pooling, reader.yesno_joined) == ("max", None)
    assert (reader.abstain_below, reader.abstain_similarity_below) == (float("-inf"), 0.467)
    assert profile.reader.snippet_sentences == 0  # whole passages: the best snippet F1 on 9B
    assert (profile.annotate.ner_model, profile.annotate.passages) == (
        "qa-models:ner-minilm-biomed",
        3,
    )
    assert (profile.ui.concurrency, profile.ui.max_k, profile.ui.queue_size) == (2, 50, 64)
    assert load_profile("biobert").ui.concurrency == 4
    assert profile_from_dict(profile.to_dict(), source=profile.source) == profile


def test_an_index_manifest_written_before_typed_sections_still_loads(
    tmp_path, tiny_model, sample_passages
) -> None:
    """Manifests store the profile as a dict: older ones carry `device` and partial sections."""
    from qa.index.manifest import write_manifest

    folder = tmp_path / "old"
    build_index(sample_passages[:3], folder, tiny_profile(tiny_model), show_progress=False)
    manifest = read_manifest(folder)
    old = manifest["profile"]
    old.update(device="auto", reader={"model": "x", "list_delta": 2.5}, annotate={})
    del old["ui"]
    write_manifest(folder, manifest)  # sealed with its checksum, as its writer sealed it
    profile = load_index(folder).profile
    assert (profile.reader.model, profile.reader.list_delta, profile.reader.list_max_items) == (
        "x",
        2.5,
        10,
    )
    assert profile.ui.mode == "hybrid" and profile.annotate.ner_model == ""
    assert not hasattr(profile, "device")  # chosen per run (--device), never by the profile


def test_ints_are_accepted_where_a_float_is_expected_but_bools_are_not_ints() -> None:
    profile = profile_from_dict({"embedder": {"model": "x"}, "reader": {"list_delta": 2}})
    assert profile.reader.list_delta == 2
    with pytest.raises(ConfigError, match=r"\[ui\] k = False is of type bool; expected int"):
        profile_from_dict({"embedder": {"model": "x"}, "ui": {"k": False}})
    with pytest.raises(ConfigError, match=r"\[reader\] must be a table"):
        profile_from_dict({"embedder": {"model": "x"}, "reader": "x"})


@pytest.mark.parametrize("embedder", [5, "model", {"pooling": "cls"}])
def test_a_profile_without_an_embedder_table_naming_a_model_is_refused(embedder) -> None:
    with pytest.raises(ConfigError, match=r"^mine.toml: an \[embedder\] table with model"):
        profile_from_dict({"embedder": embedder}, source="mine.toml")
