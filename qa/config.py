"""Profiles: one TOML file names every model and every retrieval parameter.

A profile is either the name of a file shipped in ``qa/profiles/`` or a path to a user's own
TOML file. Everything a built index depends on (embedder, chunking, BM25 and fusion
parameters) is copied into the index manifest, so a loaded index can be checked against it.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from qa.errors import ConfigError
from qa.types import RETRIEVAL_MODES

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
    # IVF lists searched (and, below, candidates re-scored exactly per hit wanted): chosen with
    # 200 BioASQ 9B questions over 3M passages in 6 shards (benchmarks/scale.py's index):
    # dense recall@100 against exact search 0.981 at (64, 8), 0.993 at (128, 8), hybrid p50
    # 42 and 40 ms; the earlier (32, 4) kept 0.94 of the exact top 100.
    ivf_nprobe: int = 128
    pq_m: int = 48
    ivf_train_size: int = 65536  # rows sampled to train IVF-PQ's quantizers, per shard
    ivf_refine: int = 8  # IVF-PQ re-scores k * ivf_refine candidates exactly; 0 = none
    bm25_method: str = "lucene"
    bm25_stopwords: str = "en_plus"  # bm25s lists: en (33 words) or en_plus (179)
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    # Passages per shard: a build holds one shard's BM25 postings (and, for flat and hnsw, its
    # vectors) in memory, so this bounds a build's memory whatever the corpus size.
    shard_size: int = 250_000


@dataclass(frozen=True)
class FusionConfig:
    method: str = "rrf"  # rrf | weighted
    rrf_k: int = 60
    depth: int = 100  # candidates taken from each retriever before fusing
    bm25_weight: float = 0.5  # weighted fusion only
    dense_weight: float = 0.5


@dataclass(frozen=True)
class ReaderConfig:
    """[reader]: the answer models and how they read; an empty ``model`` means retrieval only."""

    model: str = ""
    # The model `model` is trained from by `qa train reader --base`, when this project trains
    # it (a base without a span head, such as Bio_ClinicalBERT): until `model` exists, the
    # commands that use the profile refuse at once with the command that makes it.
    model_base: str = ""
    max_seq_length: int = 384
    doc_stride: int = 128
    max_answer_length: int = 30
    answer_temperature: float = 1.0  # merging one answer's spans: T * logsumexp(score / T)
    rank_prior: float = 0.0  # factoid spans of retrieved passage r lose rank_prior * ln(r)
    factoid_answers: int = 5  # BioASQ reads at most five
    # Below this answerability (qa.read.reader.Reading) a factoid or list question is not
    # answered: the evidence is shown instead. -inf: always answer.
    abstain_below: float = float("-inf")
    # Below this evidence similarity (qa.read.answering.evidence_similarity: the cosine of the
    # question and the closest sentence of its best passage) no question of any type is
    # answered: the index holds nothing close to it. On the profile's own encoder; -inf: off.
    abstain_similarity_below: float = float("-inf")
    list_delta: float = 2.0
    list_max_items: int = 10
    list_split: bool = True  # cut "A, B and C" into three items
    yesno_model: str = ""
    yesno_threshold: float = 0.5  # on the pooled probability of "yes"
    yesno_pooling: str = "mean"  # of the passages' log-odds: mean, max or attention
    # Read consecutive passages together, as many as fit in a window (qa.read.yesno). Unset: as
    # the model was trained (`qa train yesno --joined` records it in the model's config).
    yesno_joined: bool | None = None
    yesno_passages: int = 10
    qtype_model: str = ""
    # The answer type the question expects (qa.read.answer_type): a factoid or list candidate
    # loses answer_type_weight * ln P(its type); no model or a weight of 0: off.
    answer_type_model: str = ""
    answer_type_weight: float = 0.0
    # "probability": the gain is ln P(type); "lift": ln(P(type) / the type's training share).
    answer_type_form: str = "probability"
    summary_sentences: int = 3
    summary_passages: int = 5
    # Phase-A snippets (qa.read.snippets): each retrieved passage submitted as its best run of
    # this many consecutive sentences by cosine to the question (0: the whole passage). Whole
    # passages scored the better snippet F1 on 9B (qa/profiles/embedded.toml says by how much).
    snippet_sentences: int = 0


@dataclass(frozen=True)
class AnnotateConfig:
    """[annotate]: the entity and relation models, how many answer passages they tag, and
    which relations are shown: those scoring at least their family's threshold (0: every
    relation the model finds), each pair of names once, at most ``relations_per_passage``."""

    ner_model: str = ""
    relations_model: str = ""
    passages: int = 3
    relations_per_passage: int = 5
    relations_min_score_chemical_disease: float = 0.0
    relations_min_score_chemical_gene: float = 0.0
    relations_min_score_chemical_chemical: float = 0.0
    relations_min_score_gene_disease: float = 0.0

    def relation_min_scores(self) -> dict[str, float]:
        """The threshold of each relation family (``chemical-gene``: …), as the annotator
        takes them."""
        prefix = "relations_min_score_"
        return {
            f.name.removeprefix(prefix).replace("_", "-"): getattr(self, f.name)
            for f in fields(self)
            if f.name.startswith(prefix)
        }


@dataclass(frozen=True)
class UIConfig:
    """[ui]: questions answered at once, the queue behind them, and the chat's first choices."""

    concurrency: int = 2
    k: int = 10
    max_k: int = 50
    mode: str = "hybrid"
    queue_size: int = 64
    # Chat messages a client's history keeps (the oldest are dropped): each turn sends it back.
    max_history: int = 20


BACKENDS = ("torch", "onnx")
BF16_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class RuntimeConfig:
    """[runtime]: how every model of the profile runs, not what it computes.

    ``backend`` is torch, or ONNX Runtime on a CPU (``onnx``; see :mod:`qa.modelhub.onnx` for
    why there is no int8 variant). An index does not depend on it: the embedder's identity in
    the manifest is its weights, and vectors from the two backends differ by ~1e-5, far below
    anything that reorders a ranking, so an index built on one backend is searched on the
    other (the manifest's profile still records the backend that built it).
    """

    backend: str = "torch"
    # Passages encoded for an index in bfloat16 on a CPU (torch backend): ``auto`` where the
    # CPU has bf16 instructions (AVX512-BF16 or AMX), where it runs 2-2.5x faster and the
    # vectors keep a cosine above 0.9999 with float32's; elsewhere bf16 is emulated and slower.
    # Questions, readers and annotators always run in float32.
    index_bf16: str = "auto"

    def bf16_passages(self, device: str) -> bool:
        """Whether passages encoded for an index on ``device`` run in bfloat16."""
        if self.index_bf16 == "off" or self.backend != "torch" or not device.startswith("cpu"):
            return False
        return self.index_bf16 == "on" or cpu_has_bf16()


def cpu_has_bf16() -> bool:
    """Whether this CPU has native bfloat16 matrix instructions (through torch's own probe)."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


@dataclass(frozen=True)
class Profile:
    """Every model and parameter of a run. The device is not part of it: the same profile (and
    an index built with it) runs on a GPU or a CPU, chosen per run with ``--device``."""

    name: str
    embedder: EmbedderConfig
    description: str = ""
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    reader: ReaderConfig = field(default_factory=ReaderConfig)
    annotate: AnnotateConfig = field(default_factory=AnnotateConfig)
    ui: UIConfig = field(default_factory=UIConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts all the way down: what an index manifest stores."""
        return asdict(self)


_SECTIONS: dict[str, type] = {
    "embedder": EmbedderConfig,
    "chunking": ChunkingConfig,
    "index": IndexConfig,
    "fusion": FusionConfig,
    "reader": ReaderConfig,
    "annotate": AnnotateConfig,
    "ui": UIConfig,
    "runtime": RuntimeConfig,
}
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("index", "faiss"): ("flat", "hnsw", "ivfpq"),
    # BM25 variants whose score is zero where a term is absent (scored from postings alone)
    ("index", "bm25_method"): ("lucene", "robertson", "atire"),
    ("fusion", "method"): ("rrf", "weighted"),
    ("index", "bm25_stopwords"): ("en", "en_plus"),
    ("ui", "mode"): RETRIEVAL_MODES,
    ("reader", "yesno_pooling"): ("mean", "max", "attention"),
    ("reader", "answer_type_form"): ("probability", "lift"),
    ("runtime", "backend"): BACKENDS,
    ("runtime", "index_bf16"): BF16_CHOICES,
}
_MINIMUM = {
    ("ui", "concurrency"): 1,
    ("ui", "max_history"): 0,
    ("index", "ivf_train_size"): 256,  # PQ trains 256 centroids per sub-vector
    ("index", "ivf_refine"): 0,
    ("index", "shard_size"): 1,
    ("annotate", "relations_per_passage"): 1,
    ("reader", "answer_type_weight"): 0.0,
    ("reader", "snippet_sentences"): 0,
    **{
        ("annotate", f"relations_min_score_{family}"): 0.0
        for family in ("chemical_disease", "chemical_gene", "chemical_chemical", "gene_disease")
    },
}
_TOP_LEVEL = ("name", "description", "source")
# Profiles and index manifests written before the device left the profile carry
# ``device = "auto"``; it was never read, and is still ignored.
_IGNORED = ("device",)
# A field's type -> (does a value fit, how the error names it). bool is not an int here.
_TYPES: dict[str, tuple[Any, str]] = {
    "str": (lambda v: isinstance(v, str), "str (text in quotes)"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "int (a whole number)"),
    "float": (
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "float (a number)",
    ),
    "bool": (lambda v: isinstance(v, bool), "bool (true or false)"),
    # unset (a manifest's null; TOML cannot write one) leaves the choice to the model
    "bool | None": (lambda v: v is None or isinstance(v, bool), "bool (true or false)"),
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
    """A checked profile from a TOML file's tables or a manifest's dict (missing keys default).

    Every value is checked once, here: unknown keys, wrong types and values outside the allowed
    choices raise a :class:`ConfigError` that names the file, the ``[section] key``, what was
    expected and the allowed values.
    """
    where = source or "profile"
    embedder = data.get("embedder")
    if not isinstance(embedder, dict) or "model" not in embedder:
        raise ConfigError(f"{where}: an [embedder] table with model = ... is required.")
    unknown = sorted(set(data) - set(_SECTIONS) - set(_TOP_LEVEL) - set(_IGNORED))
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(unknown)} at the top of the profile; "
            f"known: {', '.join(sorted((*_TOP_LEVEL, *_SECTIONS)))}."
        )
    sections = {key: _section(where, key, cls, data.get(key, {})) for key, cls in _SECTIONS.items()}
    name, description = (_value(where, "", key, "str", data.get(key, "")) for key in _TOP_LEVEL[:2])
    return Profile(
        name=name or Path(source).stem or "custom",
        description=description,
        source=source,
        **sections,
    )


def _section(where: str, key: str, cls: type, values: Any) -> Any:
    """One [section] as its dataclass, every value checked against the field's type."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: [{key}] must be a table of settings, not {values!r}.")
    known = {f.name: f.type for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(unknown)} in [{key}]; "
            f"known: {', '.join(sorted(known))}."
        )
    for option, value in values.items():
        _value(where, key, option, str(known[option]), value)
    return cls(**values)


def _value(where: str, section: str, option: str, kind: str, value: Any) -> Any:
    """``value`` when it has the field's type, lies among its choices and above its minimum."""
    label = f"[{section}] {option}" if section else option
    allowed = _CHOICES.get((section, option))
    choices = f"; use one of {list(allowed)}" if allowed else ""
    fits, expected = _TYPES[kind]
    if not fits(value):
        raise ConfigError(
            f"{where}: {label} = {value!r} is of type {type(value).__name__}; expected {expected}"
            f"{choices}."
        )
    if allowed and value not in allowed:
        raise ConfigError(f"{where}: {label} = {value!r} is not allowed{choices}.")
    minimum = _MINIMUM.get((section, option))
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where}: {label} = {value!r}; it must be at least {minimum}.")
    return value


def with_backend(profile: Profile, backend: str | None) -> Profile:
    """``profile`` running on ``backend`` (a command's ``--backend``); None keeps its own."""
    if backend is None or backend == profile.runtime.backend:
        return profile
    if backend not in BACKENDS:
        raise ConfigError(f"Unknown backend {backend!r}: use one of {', '.join(BACKENDS)}.")
    return replace(profile, runtime=replace(profile.runtime, backend=backend))


def with_shard_size(profile: Profile, shard_size: int) -> Profile:
    """``profile`` writing shards of ``shard_size`` passages (``qa index build --shard-size``)."""
    if shard_size < 1:
        raise ConfigError(f"The shard size must be at least 1 passage, not {shard_size}.")
    return replace(profile, index=replace(profile.index, shard_size=shard_size))


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks CUDA when a GPU is visible, the CPU otherwise."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
