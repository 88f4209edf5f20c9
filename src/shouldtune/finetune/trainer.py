"""The shared training loop (Hugging Face accelerate): one loop, configured per strategy.

Completion-only loss, length-bucketed batches, gradient accumulation, linear warm-up and
decay, dev-loss early stopping with the best weights restored, seeded throughout. Through
accelerate the same loop runs on CPU, one GPU, or several processes (DDP; gloo on CPU).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from torch.utils.data import DataLoader

from ..eval.measure import PeakRss
from .checkpoint import Checkpoints
from .data import IGNORE, Sample, bucketed_batches, collate, padding_waste, random_batches


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
    max_steps: int | None = None  # cap on batches over all processes (the lr sweep's budget)
    seed: int = 0


@dataclass
class TrainReport:
    trainable_parameters: int
    total_parameters: int
    learning_rate: float = 0.0
    processes: int = 1
    steps: int = 0  # batches this process ran (optimizer steps = steps / grad_accum)
    epochs_run: float = 0.0
    train_tokens: int = 0  # real (non-padding) tokens over all processes
    seconds: float = 0.0
    tokens_per_s: float = 0.0
    peak_rss_mb: float = 0.0
    peak_gpu_mb: float | None = None
    final_train_loss: float = math.nan
    final_dev_loss: float = math.nan  # at the last evaluation
    best_dev_loss: float = math.nan  # the restored weights
    stopped_early: bool = False
    padding_waste: float = 0.0  # length-bucketed batches, as trained
    padding_waste_random: float = 0.0  # plain shuffled batches of the same data, for contrast
    resumed_at_step: int | None = None  # continued from a checkpoint after an interruption
    history: list[dict[str, float]] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def make_accelerator(grad_accum: int = 1, find_unused: bool = False) -> Accelerator:
    """find_unused: needed under DDP when the trained set changes during training (LISA).
    A run that chose `--device cpu` trains on the CPU even where a GPU is visible; otherwise
    accelerate places it (the GPU when there is one, each rank's own under a launcher)."""
    from ..models.device import selected

    handlers = [DistributedDataParallelKwargs(find_unused_parameters=True)] if find_unused else []
    chosen = selected()
    cpu = chosen is not None and chosen.device.type == "cpu"
    _forget_other_device(cpu)
    return Accelerator(gradient_accumulation_steps=grad_accum, kwargs_handlers=handlers, cpu=cpu)


def _forget_other_device(cpu: bool) -> None:
    """accelerate keeps one process-wide state: an earlier Accelerator on the GPU would make a
    later `cpu=True` one silently train on the GPU. Single-process only; a launcher owns its
    own state."""
    from accelerate.state import AcceleratorState, PartialState

    shared = PartialState._shared_state
    if shared and shared.get("_cpu") != cpu and shared.get("num_processes", 1) == 1:
        AcceleratorState._reset_state(reset_partial_state=True)


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


def _schedule(
    params: Sequence[torch.nn.Parameter], cfg: TrainConfig, total_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW with linear warm-up then linear decay to zero at `total_steps`."""
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    warmup = int(total_steps * cfg.warmup_ratio)

    def factor(s: int) -> float:
        rise = (s + 1) / max(warmup, 1)
        return min(rise, max(0.0, (total_steps - s) / max(total_steps - warmup, 1)))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class _BestWeights:
    """Early stopping on dev loss: keeps a copy of the best trained tensors to restore."""

    def __init__(self, params: dict[str, torch.nn.Parameter], patience: int):
        self.params, self.patience = params, patience
        self.best, self.state, self.bad = math.inf, None, 0

    def update(self, loss: float) -> bool:
        """Record one evaluation; True when training should stop."""
        if loss < self.best - 1e-4:
            self.best, self.bad = loss, 0
            self.state = {n: p.detach().clone() for n, p in self.params.items()}
        else:
            self.bad += 1
        return self.bad >= self.patience

    @torch.no_grad()
    def restore(self) -> None:
        if self.state is not None:
            for n, p in self.params.items():
                p.copy_(self.state[n])


class _Loop:
    """One training run; split into methods only to keep each step readable."""

    def __init__(self, model, train_samples, dev_samples, cfg, pad_id, accelerator, hooks):
        self.train_samples, self.dev_samples = list(train_samples), list(dev_samples)
        self.cfg, self.pad_id, self.acc = cfg, pad_id, accelerator
        self.on_step, self.before_batch = hooks
        self.params = _trainable(model)
        if not self.params:
            raise ValueError("the model has no trainable parameters")
        self.report = TrainReport(
            trainable_parameters=sum(p.numel() for p in self.params.values()),
            total_parameters=sum(p.numel() for p in model.parameters()),
            learning_rate=cfg.learning_rate,
            processes=accelerator.num_processes,
        )
        n_proc = accelerator.num_processes
        self.batches_per_epoch = math.ceil(len(self.train_samples) / cfg.batch_size)
        planned = self.batches_per_epoch * cfg.epochs
        if cfg.max_steps:
            planned = min(planned, cfg.max_steps)
        self.step_limit = math.ceil(planned / n_proc)  # batches per process
        total_steps = max(1, math.ceil(planned / cfg.grad_accum))
        optimizer, schedule = _schedule(list(self.params.values()), cfg, total_steps)
        self.model, self.optimizer, self.schedule = accelerator.prepare(model, optimizer, schedule)
        self.keeper = _BestWeights(self.params, cfg.patience)
        self.checkpoints: Checkpoints | None = None  # set by train() to resume after a kill
        self.losses: list[float] = []

    def loader(self, epoch: int) -> DataLoader:
        batches = bucketed_batches(self.train_samples, self.cfg.batch_size, self.cfg.seed, epoch)
        plain = random_batches(self.train_samples, self.cfg.batch_size, self.cfg.seed, epoch)
        self.wastes.append(
            (padding_waste(self.train_samples, batches), padding_waste(self.train_samples, plain))
        )
        pad_id = self.pad_id
        loader = DataLoader(
            self.train_samples, batch_sampler=batches, collate_fn=lambda b: collate(b, pad_id)
        )
        return self.acc.prepare_data_loader(loader)

    def step(self, batch: dict[str, torch.Tensor]) -> None:
        if self.before_batch:
            self.before_batch(self.report.steps)
        with self.acc.accumulate(self.model):
            loss = self.model(**batch).loss
            self.acc.backward(loss)
            if self.acc.sync_gradients:
                self.acc.clip_grad_norm_(self.model.parameters(), self.cfg.max_grad_norm)
            self.optimizer.step()
            self.schedule.step()
            self.optimizer.zero_grad()
        self.losses.append(loss.item())
        self.report.train_tokens += int(batch["attention_mask"].sum())
        self.report.steps += 1
        if self.on_step:
            self.on_step(self.report.steps, self.step_limit)

    def evaluate(self, epoch_pos: float, since: int) -> bool:
        """Dev loss now; True when early stopping says stop."""
        d = dev_loss(
            self.acc.unwrap_model(self.model), self.dev_samples, self.pad_id, self.cfg.batch_size
        )
        if self.acc.num_processes > 1:  # every rank must take the same stop decision
            d = float(self.acc.reduce(torch.tensor(d, device=self.acc.device), "mean"))
        recent = self.losses[-since:] if since else self.losses[-1:]
        self.report.history.append(
            {
                "step": self.report.steps,
                "epoch": round(epoch_pos, 4),
                "train_loss": sum(recent) / max(len(recent), 1),
                "dev_loss": d,
            }
        )
        self.report.final_dev_loss = d
        return self.keeper.update(d)

    def run_epoch(self, epoch: int, skip: int = 0) -> bool:
        """One pass over the data; True when training is over (early stop or step cap)."""
        loader = self.loader(epoch)
        eval_every = max(1, len(loader) // max(self.cfg.evals_per_epoch, 1))
        last_eval, i = self.report.steps, 0
        for i, batch in enumerate(loader):
            if i < skip:  # done before the resumed checkpoint
                continue
            if i == skip and self.checkpoints:  # after the loader's own draw from the RNG
                self.checkpoints.restore_rng()
            self.step(batch)
            capped = self.report.steps >= self.step_limit
            due = (i + 1) % eval_every == 0 or i + 1 == len(loader) or capped
            if self.dev_samples and due:
                since = self.report.steps - last_eval
                last_eval = self.report.steps
                if self.evaluate(epoch + (i + 1) / len(loader), since):
                    self.report.stopped_early = True
            if self.checkpoints and due and self.acc.sync_gradients:
                self.checkpoints.save(self, epoch, i, len(loader))
            if capped or self.report.stopped_early:
                break
        self.report.epochs_run = epoch + (i + 1) / max(len(loader), 1)
        return self.report.stopped_early or self.report.steps >= self.step_limit

    def run(self) -> TrainReport:
        self.wastes: list[tuple[float, float]] = []
        self.model.train()
        if self.acc.device.type == "cuda":  # this training's peak, not the process's so far
            torch.cuda.reset_peak_memory_stats(self.acc.device)
        with PeakRss() as rss:
            start = time.perf_counter()
            first, skip = self.checkpoints.resume(self) if self.checkpoints else (0, 0)
            for epoch in range(first, self.cfg.epochs):
                if self.run_epoch(epoch, skip):
                    break
                skip = 0
            self.report.seconds += time.perf_counter() - start  # + time before a resume
        self.keeper.restore()
        self.model.eval()
        return self.finish(rss.peak_mb)

    def finish(self, peak_rss_mb: float) -> TrainReport:
        r = self.report
        if self.acc.num_processes > 1:
            tokens = torch.tensor(r.train_tokens, device=self.acc.device)
            r.train_tokens = int(self.acc.reduce(tokens, "sum"))
        r.tokens_per_s = r.train_tokens / max(r.seconds, 1e-9)
        last = self.losses[-self.batches_per_epoch :]
        r.final_train_loss = sum(last) / max(len(last), 1)
        r.best_dev_loss = self.keeper.best if self.keeper.state is not None else math.nan
        r.padding_waste = sum(w for w, _ in self.wastes) / len(self.wastes)
        r.padding_waste_random = sum(w for _, w in self.wastes) / len(self.wastes)
        r.peak_rss_mb = round(peak_rss_mb, 1)
        if self.acc.device.type == "cuda":
            r.peak_gpu_mb = round(torch.cuda.max_memory_allocated(self.acc.device) / 2**20, 1)
        return r


def train(
    model: torch.nn.Module,
    train_samples: Sequence[Sample],
    dev_samples: Sequence[Sample],
    cfg: TrainConfig,
    pad_id: int,
    on_step: Callable[[int, int], None] | None = None,
    accelerator: Accelerator | None = None,
    before_batch: Callable[[int], None] | None = None,
    checkpoint_dir: Path | None = None,
) -> TrainReport:
    """Train the parameters of `model` that require grad; restore the best dev checkpoint.

    `before_batch(i)` runs before batch i (0-based, this process): a strategy may change
    which of the initially trainable parameters train (LISA), never add new ones.
    """
    set_seed(cfg.seed)
    accelerator = accelerator or make_accelerator(cfg.grad_accum)
    loop = _Loop(
        model, train_samples, dev_samples, cfg, pad_id, accelerator, (on_step, before_batch)
    )
    if checkpoint_dir is not None and accelerator.num_processes == 1:
        loop.checkpoints = Checkpoints(checkpoint_dir, loop)
    return loop.run()
