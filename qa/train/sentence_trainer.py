"""Training a sentence encoder with sentence-transformers' trainer, not :func:`qa.train.fit.fit`.

The other trainers share the hand loop in :mod:`qa.train.fit`; the embedder does not, because
what it needs is sentence-transformers' own and tested together there: the in-batch-negatives
loss (MultipleNegativesRankingLoss, or its gradient-cached twin whose memory does not grow with
the batch), the batch sampler that keeps a question or a snippet from appearing twice in a
batch (so no "negative" is secretly a positive), and the collator that tokenises each column.
The run settings are the same :class:`~qa.train.settings.TrainingConfig` ``fit`` reads, turned
into the same Hugging Face choices (AdamW, linear warm-up schedule, clipping, bf16 on CUDA), and
the result is the same :class:`~qa.train.fit.FitResult`.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm
from transformers import TrainerCallback

from qa.config import resolve_device
from qa.retrieve.encoder import SentenceEncoder
from qa.train.fit import FitResult
from qa.train.settings import TrainingConfig

# The dataset columns, and which side of the encoder (query or document) reads each: its task
# picks the truncation length from the ``lengths`` given to :func:`fit_sentence_encoder`.
COLUMN_TASKS = {"anchor": "query", "positive": "document", "negative": "document"}


@dataclass(frozen=True)
class LossSettings:
    """The contrastive loss: ``scale`` multiplies the cosines before the softmax (20 is
    sentence-transformers' default); batches above ``mini_batch_size`` go through the
    gradient-cached loss in pieces of that size."""

    scale: float = 20.0
    mini_batch_size: int = 32

    def cached(self, batch_size: int) -> bool:
        return batch_size > self.mini_batch_size

    def name(self, batch_size: int) -> str:
        return (
            "CachedMultipleNegativesRankingLoss"
            if self.cached(batch_size)
            else "MultipleNegativesRankingLoss"
        )

    def build(self, model: Any, batch_size: int) -> torch.nn.Module:
        from sentence_transformers.sentence_transformer.losses import (
            CachedMultipleNegativesRankingLoss,
            MultipleNegativesRankingLoss,
        )

        if self.cached(batch_size):
            return CachedMultipleNegativesRankingLoss(
                model, scale=self.scale, mini_batch_size=self.mini_batch_size
            )
        return MultipleNegativesRankingLoss(model, scale=self.scale)


class _Progress(TrainerCallback):
    """One progress bar with the running loss, and each step's loss for the model card. It
    takes the place of the Trainer's own, which writes every log line to stdout, where
    ``qa train`` prints its JSON."""

    def __init__(self, job: str) -> None:
        self.job = job
        self.losses: list[float] = []
        self.bar: tqdm | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.bar = tqdm(total=state.max_steps, desc=f"Training {self.job}", unit="step")

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(1)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses.append(float(logs["loss"]))
            if self.bar is not None:
                window = self.losses[-50:]
                self.bar.set_postfix(loss=f"{sum(window) / len(window):.3f}")

    def on_train_end(self, args, state, control, **kwargs):
        self.close()

    def close(self) -> None:
        """Close the bar now: left to the garbage collector after Ctrl-C or SIGTERM, it would
        print itself again below the command's one-line stop message."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _arguments(config: TrainingConfig, folder: str) -> Any:
    """The Hugging Face settings of a run: those of :func:`qa.train.fit.fit`, a loss logged at
    every step, nothing saved (the overlay is written by the caller), no-duplicates batches."""
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.base.training_args import BatchSamplers

    device = resolve_device(config.device)
    cuda = device.startswith("cuda")
    return SentenceTransformerTrainingArguments(
        output_dir=folder,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.lr,
        warmup_steps=config.warmup_share,  # below 1: a share of the steps
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        lr_scheduler_type="linear",
        seed=config.seed,
        data_seed=config.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        use_cpu=not cuda,
        logging_steps=1,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        dataloader_num_workers=0,
    )


def fit_sentence_encoder(
    encoder: SentenceEncoder,
    dataset: Any,
    config: TrainingConfig,
    lengths: dict[str, int],
    loss: LossSettings,
) -> FitResult:
    """Train ``encoder``'s transformer in place on ``dataset`` (a ``datasets.Dataset`` with the
    columns of :data:`COLUMN_TASKS`, or a dict of them) and say what happened.

    Parameters named by ``config.frozen`` keep the base's values; so do the modules after the
    transformer (a dense projection), since only the transformer is saved in the overlay.
    ``lengths`` gives the truncation per task (``query``, ``document``)."""
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.data_collator import (
        SentenceTransformerDataCollator,
    )
    from transformers import PrinterCallback, ProgressCallback

    st = encoder.sentence_transformer
    for name, param in st.named_parameters():
        # named "0.auto_model.<transformer's own name>" inside the SentenceTransformer
        own = name.removeprefix("0.auto_model.")
        param.requires_grad = own != name and not (config.frozen and own.startswith(config.frozen))
    collator = SentenceTransformerDataCollator(
        preprocess_fn=st.preprocess, router_mapping=COLUMN_TASKS, max_length=lengths
    )
    progress = _Progress(config.job)
    with tempfile.TemporaryDirectory(prefix="qa-train-") as folder:
        trainer = SentenceTransformerTrainer(
            model=st,
            args=_arguments(config, folder),
            train_dataset=dataset,
            loss=loss.build(st, config.batch_size),
            data_collator=collator,
        )
        for callback in (ProgressCallback, PrinterCallback):
            trainer.remove_callback(callback)
        trainer.add_callback(progress)
        started = time.time()
        try:
            trainer.train()
        finally:
            progress.close()
        seconds = time.time() - started
    st.eval()
    state = trainer.state
    epoch = round(float(state.epoch or 0), 2)
    result = FitResult(steps=state.global_step, losses=progress.losses, train_seconds=seconds)
    result.history = [
        {"epoch": epoch, "steps": result.steps, "loss": round(result.running_loss(), 4)}
    ]
    result.best_epoch = max(1, round(epoch))  # no evaluation between epochs: the last one
    return result
