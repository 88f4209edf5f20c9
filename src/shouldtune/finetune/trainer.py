"""The shared training loop (Hugging Face accelerate): one loop, configured per strategy.

Completion-only loss, length-bucketed batches, gradient accumulation, linear warm-up and
decay, dev-loss early stopping with the best weights restored, seeded throughout. Through
accelerate the same loop runs on CPU, one GPU, or several processes (DDP).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch.utils.data import DataLoader

from .data import IGNORE, Sample, bucketed_batches, collate, padding_waste


@dataclass
class TrainConfig:
    epochs: int = 3
    learning_rate: float = 1e-3
    batch_size: int = 8
    grad_accum: int = 1
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    evals_per_epoch: int = 1
    patience: int = 1  # evaluations without a better dev loss before stopping
    seed: int = 0


@dataclass
class TrainReport:
    trainable_parameters: int
    total_parameters: int
    steps: int = 0
    epochs_run: float = 0.0
    train_tokens: int = 0
    seconds: float = 0.0
    tokens_per_s: float = 0.0
    final_train_loss: float = math.nan
    best_dev_loss: float = math.nan
    stopped_early: bool = False
    padding_waste: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def _trainable(model: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


@torch.no_grad()
def dev_loss(model: torch.nn.Module, samples: Sequence[Sample], pad_id: int, batch: int) -> float:
    """Token-weighted mean loss over the completion tokens of `samples`."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    ordered = sorted(samples, key=lambda s: len(s.input_ids))
    device = next(model.parameters()).device
    for start in range(0, len(ordered), batch):
        chunk = ordered[start : start + batch]
        inputs = {k: v.to(device) for k, v in collate(chunk, pad_id).items()}
        n = int((inputs["labels"][:, 1:] != IGNORE).sum())
        total += float(model(**inputs).loss) * n
        count += n
    model.train(was_training)
    return total / max(count, 1)


def train(
    model: torch.nn.Module,
    train_samples: Sequence[Sample],
    dev_samples: Sequence[Sample],
    cfg: TrainConfig,
    pad_id: int,
    on_step: Callable[[int, int], None] | None = None,
    accelerator: Accelerator | None = None,
) -> TrainReport:
    """Train the parameters of `model` that require grad; restore the best dev checkpoint."""
    set_seed(cfg.seed)
    accelerator = accelerator or Accelerator(gradient_accumulation_steps=cfg.grad_accum)
    params = _trainable(model)
    report = TrainReport(
        trainable_parameters=sum(p.numel() for p in params.values()),
        total_parameters=sum(p.numel() for p in model.parameters()),
    )
    if not params:
        raise ValueError("the model has no trainable parameters")
    batches_per_epoch = math.ceil(len(train_samples) / cfg.batch_size)
    total_steps = max(1, math.ceil(batches_per_epoch * cfg.epochs / cfg.grad_accum))
    optimizer = torch.optim.AdamW(
        params.values(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
    )
    warmup = int(total_steps * cfg.warmup_ratio)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(
            (s + 1) / max(warmup, 1), max(0.0, (total_steps - s) / max(total_steps - warmup, 1))
        ),
    )
    model, optimizer, schedule = accelerator.prepare(model, optimizer, schedule)
    eval_every = max(1, batches_per_epoch // max(cfg.evals_per_epoch, 1))
    best, best_state, bad_evals = math.inf, None, 0
    wastes, losses = [], []
    start = time.perf_counter()
    model.train()
    for epoch in range(cfg.epochs):
        batches = bucketed_batches(train_samples, cfg.batch_size, cfg.seed, epoch)
        wastes.append(padding_waste(train_samples, batches))
        loader = accelerator.prepare_data_loader(
            DataLoader(
                list(train_samples), batch_sampler=batches, collate_fn=lambda b: collate(b, pad_id)
            )
        )
        for i, batch in enumerate(loader):
            with accelerator.accumulate(model):
                loss = model(**batch).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
            losses.append(loss.item())
            report.train_tokens += int(batch["attention_mask"].sum())
            report.steps += 1
            if on_step:
                on_step(report.steps, batches_per_epoch * cfg.epochs)
            last = i + 1 == len(loader)
            if dev_samples and ((i + 1) % eval_every == 0 or last):
                d = dev_loss(accelerator.unwrap_model(model), dev_samples, pad_id, cfg.batch_size)
                report.history.append(
                    {
                        "step": report.steps,
                        "epoch": epoch + (i + 1) / len(loader),
                        "train_loss": sum(losses[-eval_every:]) / len(losses[-eval_every:]),
                        "dev_loss": d,
                    }
                )
                if d < best - 1e-4:
                    best, bad_evals = d, 0
                    best_state = {n: p.detach().clone() for n, p in _trainable(model).items()}
                else:
                    bad_evals += 1
                if bad_evals >= cfg.patience:
                    report.stopped_early = True
                    break
        report.epochs_run = epoch + (i + 1) / len(loader)
        if report.stopped_early:
            break
    report.seconds = time.perf_counter() - start
    if best_state is not None:
        with torch.no_grad():
            for n, p in _trainable(model).items():
                p.copy_(best_state[n])
    model.eval()
    report.tokens_per_s = report.train_tokens / max(report.seconds, 1e-9)
    report.final_train_loss = sum(losses[-batches_per_epoch:]) / max(
        len(losses[-batches_per_epoch:]), 1
    )
    report.best_dev_loss = best if best_state is not None else math.nan
    report.padding_waste = sum(wastes) / len(wastes)
    return report
