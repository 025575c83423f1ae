"""A sentence encoder: texts in, unit vectors out, through sentence-transformers.

Pooling, normalisation and any projection are the model's own sentence-transformers modules
(``modules.json``, ``1_Pooling``, ``2_Normalize``), read from the model folder, the packaged
model, the hub, or, for an overlay, its base; a profile's ``pooling`` replaces the folder's.
The transformer they run on is this component's ``model`` (:mod:`qa.modelhub.sentence`), so an
overlay's weights and a backend that swaps the model in ``warm_up`` are used as they are.

An asymmetric retriever (MedCPT) is two encoders: the query model, and the passage model built
with ``title_pairs``, which reads a passage with a title as the pair (title, text), the way
MedCPT's article encoder was trained.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from qa.errors import ModelLoadError
from qa.modelhub import locate
from qa.modelhub.component import ModelComponent
from qa.modelhub.load import model_config

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# A text, or a (title, text) pair for an article encoder.
TextInput = str | tuple[str, str]

# The pooling rules a profile may name (checked here, before sentence-transformers is imported).
POOLING_MODES = ("mean", "cls")


class SentenceEncoder(ModelComponent):
    """Encode texts into unit vectors whose inner product is their cosine similarity."""

    half_on_gpu = True

    def __init__(
        self,
        spec: str,
        *,
        device: str = "auto",
        max_seq_length: int = 256,
        pooling: str = "",
        title_pairs: bool = False,
    ) -> None:
        self._settle(spec, device)
        if pooling and pooling not in POOLING_MODES:
            raise ModelLoadError(f"Pooling {pooling!r} is not supported: use mean or cls.")
        self.requested_pooling = pooling
        self.max_seq_length = max_seq_length
        self.title_pairs = title_pairs
        self._st: SentenceTransformer | None = None

    @cached_property
    def hidden_size(self) -> int:
        """The transformer's output width, from its config (the model may be a backend's runner
        with no config of its own)."""
        return int(model_config(self.location).hidden_size)

    @cached_property
    def modules(self) -> list[torch.nn.Module]:
        """The sentence-transformers modules after the transformer (pooling, normalisation, ...),
        from the folder that holds them: an overlay's base, else the model itself. Only
        configuration is read, no transformer weights."""
        from qa.modelhub.sentence import sentence_modules

        folder = locate(self.location.overlay_base) if self.location.overlay_base else self.location
        return sentence_modules(
            folder.path, self.hidden_size, self.requested_pooling, folder.revision or None
        )

    @property
    def pooling(self) -> str:
        """The pooling rule in use (``mean``, ``cls``, ...)."""
        from qa.modelhub.sentence import pooling_of

        return pooling_of(self.modules)

    @property
    def dim(self) -> int:
        """The vector size, worked out from the configs (no weights need loading)."""
        from qa.modelhub.sentence import output_dimension

        return output_dimension(self.modules, self.hidden_size)

    @property
    def sentence_transformer(self) -> SentenceTransformer:
        """This encoder as a SentenceTransformer (what ``encode`` runs and the trainer trains).

        Built around ``self.model`` as it is now, and built again when that changes (a backend
        or a test that swaps the model), so it never runs a stale one."""
        model = self.model
        if self._st is None or self._st[0].auto_model is not model:
            from qa.modelhub.sentence import sentence_transformer

            self._st = sentence_transformer(
                model,
                self.tokenizer,
                self.modules,
                device=self.device,
                max_seq_length=self.max_seq_length,
            )
        return self._st

    def embed(self, texts: Sequence[TextInput], max_length: int | None = None) -> torch.Tensor:
        """Vectors of one batch, with gradients (training and the summariser call it)."""
        st = self.sentence_transformer
        features = st.preprocess(list(texts), max_length=max_length)
        features = {k: v.to(self.device) for k, v in features.items()}
        return st(features)["sentence_embedding"].float()

    def encode(
        self,
        texts: Sequence[TextInput],
        *,
        batch_size: int = 64,
        max_length: int | None = None,
        show_progress: bool = False,
        desc: str = "Encoding",
        bf16: bool = False,
    ) -> np.ndarray:
        """Encode many texts in batches of similar token counts; ``bf16`` runs a CPU torch
        model under bfloat16 autocast (vectors come back float32)."""
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return result
        st = self.sentence_transformer
        st.eval()
        bf16 = bf16 and isinstance(st[0].auto_model, torch.nn.Module)  # not an ONNX graph
        with (
            tqdm(total=len(texts), desc=desc, unit="text", disable=not show_progress) as bar,
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16),
        ):
            for rows, features in self.batches(texts, batch_size, max_length):
                # The same modules sentence-transformers' encode runs, without its per-call
                # sorting, per-text splitting and stacking: ``st`` is the transformer, pooling
                # and normalisation in order.
                vectors = st(features)["sentence_embedding"]
                result[rows] = vectors.float().cpu().numpy()
                bar.update(len(rows))
        return result

    def batches(
        self, texts: Sequence[TextInput], batch_size: int, max_length: int | None = None
    ) -> Iterator[tuple[np.ndarray, dict[str, torch.Tensor]]]:
        """``texts`` as model inputs on this encoder's device: (the rows of ``texts`` a batch
        holds, its padded token tensors), longest first.

        All texts are tokenised in one call, so the batches can be sorted by token count (a
        character count is a poor guess for biomedical text: sorted by it, a fifth of each
        batch was padding) and each is padded to its own longest text only."""
        ids, types = tokenize_unpadded(self.tokenizer, texts, max_length or self.max_seq_length)
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        order = np.argsort(-lengths, kind="stable")
        pad_id = self.tokenizer.pad_token_id or 0
        left = getattr(self.tokenizer, "padding_side", "right") == "left"
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = int(lengths[rows[0]])
            tensors = {"input_ids": np.full((len(rows), width), pad_id, dtype=np.int64)}
            tensors["attention_mask"] = np.zeros((len(rows), width), dtype=np.int64)
            if types is not None:
                tensors["token_type_ids"] = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                span = slice(width - lengths[i], width) if left else slice(0, lengths[i])
                tensors["input_ids"][j, span] = ids[i]
                tensors["attention_mask"][j, span] = 1
                if types is not None:
                    tensors["token_type_ids"][j, span] = types[i]
            yield rows, {k: torch.from_numpy(v).to(self.device) for k, v in tensors.items()}


def tokenize_unpadded(
    tokenizer: Any, texts: Sequence[TextInput], max_length: int
) -> tuple[list[list[int]], list[list[int]] | None]:
    """Token ids (and token type ids, where the tokenizer makes them) of each text or (first,
    second) pair, truncated as sentence-transformers truncates, unpadded. Texts and pairs are
    tokenised in one call each (a fast tokenizer works through a call's batch in parallel)."""
    settings = {"truncation": "longest_first", "max_length": max_length}
    ids: list[list[int]] = [[] for _ in texts]
    types: list[list[int]] | None = [[] for _ in texts]
    pairs = [i for i, t in enumerate(texts) if isinstance(t, (tuple, list))]
    paired = set(pairs)
    singles = [i for i in range(len(texts)) if i not in paired] if pairs else range(len(texts))
    groups = []
    if singles:
        groups.append((singles, tokenizer([texts[i] for i in singles], **settings)))
    if pairs:
        first, second = zip(*(texts[i] for i in pairs))
        groups.append((pairs, tokenizer(list(first), list(second), **settings)))
    for rows, encoded in groups:
        if "token_type_ids" not in encoded:
            types = None
        for j, i in enumerate(rows):
            ids[i] = encoded["input_ids"][j]
            if types is not None:
                types[i] = encoded["token_type_ids"][j]
    return ids, types
