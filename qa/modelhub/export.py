"""Writing a model as a standard folder that plain ``transformers`` (and, for the embedder,
``sentence-transformers``) opens without this package: ``qa models export NAME DIR``.

Shipped models are overlays that only this package reads. An export is the model as
:func:`~qa.modelhub.load.load_model` builds it (base and overlay merged, fp32), saved with
``save_pretrained``: ``config.json`` names the head's architecture and labels, beside the
tokenizer, ``model.safetensors`` and a model card. An embedder also gets the
sentence-transformers modules (transformer, pooling as data, normalize), so
``SentenceTransformer(DIR)`` gives the vectors the package's encoder gives.

The question-type classifier is refused: it is a logistic regression over word n-grams that no
``transformers`` class holds, and its folder is already plain safetensors + JSON.

An export is written beside ``DIR`` and moved into place whole; an existing ``DIR`` is replaced
only when it is an earlier export (it holds ``qa_export.json``) or empty.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import qa
from qa.atomic import refuse_foreign, staged_folder
from qa.errors import ModelLoadError
from qa.modelhub import (
    MODELS_DIR,
    ModelLocation,
    locate,
    model_folder,
    overlay_info,
    revision,
)
from qa.modelhub.catalog import QTYPE_FILE
from qa.modelhub.checksum import weights_sha256
from qa.modelhub.export_card import model_card
from qa.modelhub.load import KINDS, load_model, model_config

EXPORT_FILE = "qa_export.json"
WHAT = "a model export"
# The sentence-transformers format every release since 2.0 reads (6.x still loads it).
ST_MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {
        "idx": 2,
        "name": "2",
        "path": "2_Normalize",
        "type": "sentence_transformers.models.Normalize",
    },
]
DEFAULT_ST_LENGTH = 256  # the embedder's max_seq_length in the profiles and SentenceEncoder


@dataclass(frozen=True)
class Exported:
    spec: str
    kind: str
    out: str
    files: list[str]
    size_bytes: int

    def to_dict(self) -> dict:
        return asdict(self)


def _quiet(message: str) -> None:
    pass


def resolve_spec(name: str) -> str:
    """A shipped model's bare name (``reader-minilm-bioasq``) means ``qa-models:NAME``, unless a
    local folder of that name is there; any other spec is taken as a profile takes it."""
    if ":" not in name and not Path(name).expanduser().exists() and (MODELS_DIR / name).is_dir():
        return f"qa-models:{name}"
    return name


def is_export(folder: Path) -> bool:
    """Whether ``folder`` is one :func:`export_model` wrote (so it may be replaced)."""
    return (Path(folder) / EXPORT_FILE).is_file()


def _refuse_qtype(spec: str) -> None:
    folder = model_folder(spec)
    if folder is not None and (folder / QTYPE_FILE).is_file():
        raise ModelLoadError(
            f"{spec} is a question classifier, a logistic regression over word n-grams, "
            f"not a transformer, so no transformers format holds it; its folder ({folder}) is "
            "already plain safetensors + JSON: copy it as it is."
        )


def kind_of(location: ModelLocation) -> str:
    """What a model is (a key of :data:`~qa.modelhub.load.KINDS`): an overlay says so; a plain
    checkpoint is known by its head, a sequence classifier with a ``none`` label being a
    relation classifier (the only vocabulary the relation component accepts)."""
    if location.overlay_base:
        kind = overlay_info(location).get("kind", "")
        if kind not in KINDS:
            raise ModelLoadError(
                f"{location.path} is an overlay of unknown kind {kind!r}: it was not written by "
                "this version of the package; export it with the version that trained it."
            )
        return kind
    config = model_config(location)
    architectures = " ".join(getattr(config, "architectures", None) or [])
    if "ForQuestionAnswering" in architectures:
        return "reader"
    if "ForTokenClassification" in architectures:
        return "ner"
    if "ForSequenceClassification" in architectures:
        return "relations" if "none" in config.id2label.values() else "yesno"
    return "sentence-encoder"


def _pooling(location: ModelLocation) -> str:
    """The pooling the package's encoder uses: the trainer's record, else the base's
    sentence-transformers config (``cls`` or ``mean``), else mean."""
    recorded = overlay_info(location).get("pooling")
    if recorded:
        return recorded
    base = locate(location.overlay_base) if location.overlay_base else location
    config = Path(base.path) / "1_Pooling" / "config.json" if base.local else None
    if config is None or not config.is_file():
        return "mean"
    settings = json.loads(config.read_text(encoding="utf-8"))
    return "cls" if settings.get("pooling_mode_cls_token") else "mean"


def _max_length(location: ModelLocation) -> int:
    base = locate(location.overlay_base) if location.overlay_base else location
    config = Path(base.path) / "sentence_bert_config.json" if base.local else None
    if config is not None and config.is_file():
        found = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
        if isinstance(found, int):
            return found
    return DEFAULT_ST_LENGTH


def write_sentence_transformers(folder: Path, location: ModelLocation, dim: int) -> None:
    """The modules that make ``folder`` (a saved ``AutoModel``) a sentence-transformers model
    pooling and normalising as :class:`qa.retrieve.encoder.SentenceEncoder` does."""
    pooling = _pooling(location)

    def dump(name: str, data: object) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    dump("modules.json", ST_MODULES)
    dump(
        "sentence_bert_config.json",
        {"max_seq_length": _max_length(location), "do_lower_case": False},
    )
    dump("config_sentence_transformers.json", {"similarity_fn_name": "cosine", "prompts": {}})
    dump(
        "1_Pooling/config.json",
        {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean",
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    (folder / "2_Normalize").mkdir(exist_ok=True)  # Normalize has no settings, only a folder


def _as_umask_allows(folder: Path) -> None:
    """Give every file the permissions a plain ``open()`` would: the weights are written
    through a private temporary file (0600), which would hide them from other users."""
    umask = os.umask(0)
    os.umask(umask)
    for file in folder.rglob("*"):
        if file.is_file():
            file.chmod(0o666 & ~umask)


def _provenance(spec: str, location: ModelLocation, kind: str) -> dict:
    """What ``qa_export.json`` records: where the weights came from, down to the base's digest
    and the overlay's fingerprint (the one index manifests record)."""
    base = locate(location.overlay_base) if location.overlay_base else None
    return {
        "exported_by": f"qa models export (qa {qa.__version__})",
        "source": spec,
        "kind": kind,
        "revision": revision(location),
        "base": location.overlay_base,
        "base_sha256": weights_sha256(base) if base is not None else "",
    }


def export_model(
    name: str, out: str | Path, *, onnx: bool = False, progress: Callable[[str], None] = _quiet
) -> Exported:
    """Write the model ``name`` (a shipped model's name or any model spec) to ``out`` as a
    standard folder, with its ONNX graph in ``onnx/model.onnx`` when ``onnx``; ``progress``
    hears what is being done while the user waits."""
    spec = resolve_spec(name)
    _refuse_qtype(spec)
    location = locate(spec)
    kind = kind_of(location)
    out = Path(out)
    refuse_foreign(out, is_export, WHAT)  # before the weights load, not after
    over = f", overlay over {location.overlay_base}" if location.overlay_base else ""
    progress(f"Loading {spec} ({kind}{over})")
    tokenizer, model = load_model(spec, KINDS[kind].task, kind=kind)
    provenance = _provenance(spec, location, kind)
    with staged_folder(out, is_export, WHAT) as tmp:
        progress(f"Writing full weights, config and tokenizer to {out}")
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if kind == "sentence-encoder":
            write_sentence_transformers(tmp, location, int(model.config.hidden_size))
        if onnx:
            from qa.modelhub.onnx import GRAPH_FILE, export

            progress(f"Writing the ONNX graph to {out}/onnx/{GRAPH_FILE}")
            (tmp / "onnx").mkdir()
            export(model, tokenizer, KINDS[kind].task, tmp / "onnx")
        card = model_card(spec, location, kind, provenance)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        (tmp / EXPORT_FILE).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
        _as_umask_allows(tmp)
    files = sorted(str(f.relative_to(out)) for f in out.rglob("*") if f.is_file())
    size = sum((out / f).stat().st_size for f in files)
    return Exported(spec=spec, kind=kind, out=str(out), files=files, size_bytes=size)
