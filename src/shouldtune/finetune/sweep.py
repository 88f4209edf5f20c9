"""The learning-rate sweep: successive halving over warm-started runs of the real schedule.

Every candidate rate starts the very run it would train if chosen (same config, schedule,
data order and seed) and is paused after a round of `rung` batches with a dev loss and a
checkpoint. A default grid whose best rate sits at its edge is first extended past that edge.
When the best two are close, both continue for a second round and the better one wins; a
clear leader wins at once. The final training (`FineTuneStrategy._fit`, same config, same
checkpoint folder) resumes the winner from its pause bit-exactly instead of starting over:
its sweep batches are part of its training, only the losers' batches are extra.

Against the former sweep (separate short runs whose whole schedule fitted in a few batches,
then a fresh full run from the start) this never trains more batches, fewer when the leader
is clear, and a close call is decided twice as far into the real schedule. Side by side
(benchmarks/sweep.py, benchmarks/README.md): the same rate chosen on the demo and banking77,
the same test answers row for row, banking77's sweep and training in 0.52x the time.
"""

from __future__ import annotations

import gc
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from accelerate import PartialState

from ..contract import RunContext
from .common import FineTuneOptions
from .trainer import TrainReport, make_accelerator, train


class Trainee(Protocol):
    """What the sweep asks of the fine-tune it sweeps for (strategies/finetuned.py's
    FineTuneStrategy): named here, since finetune/ never imports the strategies."""

    name: str
    options: FineTuneOptions

    def trainable_copy(self, base: Any, seed: int) -> Any: ...

    def find_unused(self) -> bool: ...

    def batch_hook(self, model: Any, seed: int) -> Callable[[int], None] | None: ...


@dataclass
class _Candidate:
    learning_rate: float
    rounds: list[dict[str, Any]] = field(default_factory=list)  # {"steps", "dev_loss"}
    steps: int = 0
    seconds: float = 0.0

    @property
    def loss(self) -> float:
        """Dev loss at the last round it ran; inf when not finite, so it never wins."""
        last = self.rounds[-1]["dev_loss"] if self.rounds else None
        return last if last is not None else math.inf

    def row(self) -> dict[str, Any]:
        last = self.rounds[-1]["dev_loss"] if self.rounds else None
        return {
            "learning_rate": self.learning_rate,
            "dev_loss": last,
            "steps": self.steps,
            "seconds": round(self.seconds, 2),
            "rounds": self.rounds,
        }


def sweep_learning_rate(
    strategy: Trainee, ctx: RunContext, data: Any
) -> tuple[list[dict[str, Any]], float]:
    """(one row per rate tried, the chosen rate). No sweep: ([], the configured rate)."""
    opts = strategy.options
    if ctx.quick or not opts.lr_sweep or not data.dev_s:
        return [], opts.learning_rate
    rung = rung_steps(opts, len(data.train_s), PartialState().num_processes)
    with _folder(ctx.checkpoint_dir) as folder:
        tried = [_advance(strategy, ctx, data, _Candidate(lr), rung, folder)
                 for lr in opts.candidates()]  # fmt: skip
        extra = 0 if opts.lr_candidates else opts.sweep_extend  # a grid the user chose stays
        while extra > 0 and (lr := _beyond_edge([c.row() for c in tried])) is not None:
            tried.append(_advance(strategy, ctx, data, _Candidate(lr), rung, folder))
            extra -= 1
        finalists = sorted(tried, key=lambda c: c.loss)[:2]
        if close_call(finalists):
            for c in finalists:
                _advance(strategy, ctx, data, c, 2 * rung, folder)
    rows = [c.row() for c in sorted(tried, key=lambda c: c.learning_rate)]
    best = min(finalists, key=lambda c: c.loss)
    return rows, best.learning_rate if math.isfinite(best.loss) else opts.learning_rate


# A second round runs only when the runner-up's first-round dev loss is within this share of
# the leader's. Seen on the demo during development (not yet in benchmarks/README.md):
# layerwise's top two were 0.3% apart after round 1 and swapped places in round 2 (13% apart);
# LoRA's were 94% apart and stayed in order, so there round 2 bought nothing and cost 12
# batches.
CLOSE_CALL = 0.25


def close_call(finalists: Sequence[_Candidate]) -> bool:
    """Do the best two need another round to tell them apart?"""
    if len(finalists) < 2 or not math.isfinite(finalists[0].loss):
        return False
    return finalists[1].loss <= finalists[0].loss * (1 + CLOSE_CALL)


def rung_steps(opts: Any, n_train: int, processes: int = 1) -> int:
    """Batches (per process) in the first round: `sweep_max_steps`, at most a quarter of the
    run so that both rounds end by its middle, a whole number of optimizer steps."""
    per_epoch = math.ceil(n_train / opts.batch_size)
    planned = math.ceil(per_epoch * opts.epochs / processes)
    rung = min(opts.sweep_max_steps, max(planned // 4, 1))
    return max(opts.grad_accum, rung - rung % opts.grad_accum)


@contextmanager
def _folder(checkpoint_dir: Path | None) -> Iterator[Path]:
    """The run's checkpoint folder: the final training finds the winner's pause there (and a
    killed run its rounds). Without one (library use) a temporary folder: the rounds still
    continue each other, but the final training starts over."""
    if checkpoint_dir is not None:
        yield Path(checkpoint_dir)
        return
    with tempfile.TemporaryDirectory(prefix="shouldtune-sweep-") as tmp:
        yield Path(tmp)


def _advance(
    strategy: Trainee, ctx: RunContext, data: Any, cand: _Candidate, until: int, folder: Path
) -> _Candidate:
    """Train `cand` (from its last pause, if any) up to batch `until`, then record its round.
    Out of memory, the round retries with half the batch and twice the accumulation, as the
    final training does (`train_with_backoff`), so it still finds this round's checkpoint."""
    from ..models.memory import train_with_backoff

    cfg = strategy.options.train_config(ctx.seed, ctx.quick, cand.learning_rate)
    label = f"lr sweep {cand.learning_rate:g}" + (" (round 2)" if cand.rounds else "")
    report, pause = train_with_backoff(
        lambda c: _round(strategy, ctx, data, c, until, folder, label),
        cfg,
        f"{strategy.name} {label}",
    )
    cand.rounds.append({"steps": report.steps, "dev_loss": _loss_at(report, pause)})
    cand.steps, cand.seconds = report.steps, report.seconds
    return cand


def _round(
    strategy: Trainee, ctx: RunContext, data: Any, cfg: Any, until: int, folder: Path, label: str
) -> tuple[TrainReport, int]:
    """One round at `cfg`: (its report, the batch it paused at). `until` counts batches at
    the configured batch size; a backed-off (smaller) batch pauses at the same optimizer step."""
    pause = until * cfg.grad_accum // strategy.options.grad_accum
    model = strategy.trainable_copy(ctx.lm.model, cfg.seed)
    ctx.progress.stage(strategy.name, label, total=None)
    report = train(
        model,
        data.train_s,
        data.dev_s,
        cfg,
        _pad_id(ctx.lm.tokenizer),
        on_step=lambda s, t: ctx.progress.advance(),
        accelerator=make_accelerator(cfg.grad_accum, strategy.find_unused()),
        before_batch=strategy.batch_hook(model, cfg.seed),
        checkpoint_dir=folder,
        pause_at=pause,
    )
    del model
    gc.collect()
    return report, pause


def _loss_at(report: TrainReport, step: int) -> float | None:
    """The dev loss measured at `step` (a resumed run may already be past it), else the
    last one before it (the run ended or stopped early first)."""
    measured = sorted([*report.pauses, *report.history], key=lambda h: h["step"])
    before = [h for h in measured if h["step"] <= step] or measured[-1:]
    loss = before[-1]["dev_loss"] if before else math.nan
    return round(loss, 4) if math.isfinite(loss) else None


def _pad_id(tokenizer: Any) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def best(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    finite = [r for r in rows if r["dev_loss"] is not None]
    return min(finite, key=lambda r: r["dev_loss"]) if finite else None


def _beyond_edge(rows: Sequence[dict[str, Any]]) -> float | None:
    """The next rate past the grid's edge when the best one is at that edge, else None."""
    top = best(rows)
    rates = [r["learning_rate"] for r in rows]
    if top is None or len(rates) < 2:
        return None
    lr = top["learning_rate"]
    if lr == max(rates):
        beyond = float(f"{lr * 3:.2g}")
        return beyond if beyond <= 1 else None
    return float(f"{lr / 3:.2g}") if lr == min(rates) else None


def edge_note(sweep: Sequence[dict[str, Any]], chosen: float) -> str:
    """A winner at the edge of the grid means the best rate may lie outside it."""
    rates = [r["learning_rate"] for r in sweep if r["dev_loss"] is not None]
    if len(rates) < 2 or min(rates) < chosen < max(rates):
        return ""
    side = "largest" if chosen == max(rates) else "smallest"
    return (
        f"The sweep chose the {side} rate it tried ({chosen:g}): one beyond it may be "
        "better still (set lr_candidates or sweep_extend)."
    )
