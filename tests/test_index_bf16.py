"""Passages encoded for an index in bfloat16 on a CPU: the vectors keep their direction, the
profile decides when, and an ONNX graph or a GPU never runs it."""

from __future__ import annotations

import numpy as np
import pytest

from qa.config import ConfigError, RuntimeConfig, cpu_has_bf16, load_profile, profile_from_dict
from qa.retrieve.encoder import SentenceEncoder

PASSAGES = [
    "Rett syndrome is caused by mutations in the X-linked gene MECP2, encoding methyl-CpG "
    "binding protein 2, in most classic cases.",
    "Imatinib inhibits the BCR-ABL tyrosine kinase and is the first-line treatment of chronic "
    "myeloid leukemia.",
    "Cystic fibrosis results from mutations in CFTR, a chloride channel of epithelial cells.",
    "Short text.",
]


def test_bf16_passage_vectors_point_where_the_float32_ones_do() -> None:
    encoder = SentenceEncoder("qa-models:embedder-minilm-bioasq", device="cpu")
    full = encoder.encode(PASSAGES)
    half = encoder.encode(PASSAGES, bf16=True)
    assert half.dtype == np.float32
    cosines = (full * half).sum(axis=1)
    assert cosines.min() > 0.999, cosines
    assert not np.array_equal(full, half)  # it did run in bfloat16
    np.testing.assert_allclose(np.linalg.norm(half, axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize(
    ("setting", "backend", "device", "expected"),
    [
        ("off", "torch", "cpu", False),
        ("on", "torch", "cpu", True),
        ("on", "onnx", "cpu", False),  # the graph runs in float32
        ("on", "torch", "cuda", False),  # a GPU encodes in fp16 already
        ("auto", "torch", "cpu", None),  # as the CPU says
    ],
)
def test_the_profile_decides_when_passages_run_in_bf16(setting, backend, device, expected) -> None:
    runtime = RuntimeConfig(backend=backend, index_bf16=setting)
    assert runtime.bf16_passages(device) == (cpu_has_bf16() if expected is None else expected)


def test_an_unknown_bf16_setting_is_refused_with_the_choices() -> None:
    data = load_profile("embedded").to_dict()
    data["runtime"]["index_bf16"] = "yes"
    with pytest.raises(ConfigError, match="index_bf16.*auto, on, off|auto.*on.*off"):
        profile_from_dict(data, source="test.toml")
