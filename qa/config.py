"""Profiles: one TOML file names every model and every retrieval parameter.

A profile is either the name of a file shipped in ``qa/profiles/`` or a path to a user's own
TOML file. Everything a built index depends on (embedder, chunking, BM25 and fusion
parameters) is copied into the index manifest, so a loaded index can be checked against it.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROFILE_DIR = Path(__file__).parent / "profiles"
DEFAULT_PROFILE = "embedded"


@dataclass(frozen=True)
class EmbedderConfig:
    model: str
    passage_model: str = ""  # asymmetric encoders (MedCPT): a second model for passages
    pooling: str = ""  # "" = as the model folder says (sentence-transformers), else mean|cls
    max_seq_length: int = 256
    query_max_seq_length: int = 64
    batch_size: int = 64


@dataclass(frozen=True)
class ChunkingConfig:
    max_tokens: int = 200
    overlap_sentences: int = 1


@dataclass(frozen=True)
class IndexConfig:
    faiss: str = "flat"  # flat | hnsw | ivfpq
    hnsw_m: int = 32
    hnsw_ef_search: int = 128
    ivf_nlist: int = 1024
    ivf_nprobe: int = 32
    pq_m: int = 48
    bm25_method: str = "lucene"
    bm25_stopwords: str = "en_plus"  # bm25s lists: en (33 words) or en_plus (179)
    bm25_k1: float = 1.2
    bm25_b: float = 0.75


@dataclass(frozen=True)
class FusionConfig:
    method: str = "rrf"  # rrf | weighted
    rrf_k: int = 60
    depth: int = 100  # candidates taken from each retriever before fusing
    bm25_weight: float = 0.5  # weighted fusion only
    dense_weight: float = 0.5


@dataclass(frozen=True)
class Profile:
    name: str
    embedder: EmbedderConfig
    description: str = ""
    device: str = "auto"
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    reader: dict[str, Any] = field(default_factory=dict)
    annotate: dict[str, Any] = field(default_factory=dict)  # ner_model, relations_model, top
    ui: dict[str, Any] = field(default_factory=dict)  # concurrency, k, max_k, mode, queue_size
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_SECTIONS = {
    "embedder": EmbedderConfig,
    "chunking": ChunkingConfig,
    "index": IndexConfig,
    "fusion": FusionConfig,
}
_CHOICES = {
    ("index", "faiss"): {"flat", "hnsw", "ivfpq"},
    ("fusion", "method"): {"rrf", "weighted"},
    ("index", "bm25_stopwords"): {"en", "en_plus"},
}


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | Path | None = None) -> Profile:
    """Load a shipped profile by name, or a user's TOML file by path."""
    name_or_path = name_or_path or DEFAULT_PROFILE
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PROFILE_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise ConfigError(
            f"No profile {str(name_or_path)!r}: choose one of {', '.join(available_profiles())} "
            "or give the path of your own .toml file."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Profile {path} is not valid TOML: {exc}") from exc
    return profile_from_dict(data, source=str(path))


def profile_from_dict(data: dict[str, Any], source: str = "") -> Profile:
    where = source or "profile"
    if "embedder" not in data or "model" not in data.get("embedder", {}):
        raise ConfigError(f"{where}: [embedder] model = ... is required.")
    sections: dict[str, Any] = {}
    for key, cls in _SECTIONS.items():
        values = dict(data.get(key, {}))
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"{where}: unknown setting(s) {', '.join(unknown)} in [{key}]; "
                f"known: {', '.join(sorted(known))}."
            )
        for (section, option), allowed in _CHOICES.items():
            if section == key and option in values and values[option] not in allowed:
                raise ConfigError(
                    f"{where}: [{key}] {option} = {values[option]!r}; use one of {sorted(allowed)}."
                )
        sections[key] = cls(**values)
    return Profile(
        name=str(data.get("name") or Path(source).stem or "custom"),
        description=str(data.get("description", "")),
        device=str(data.get("device", "auto")),
        reader=dict(data.get("reader", {})),
        annotate=dict(data.get("annotate", {})),
        ui=dict(data.get("ui", {})),
        source=source,
        **sections,
    )


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks CUDA when a GPU is visible, the CPU otherwise."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
