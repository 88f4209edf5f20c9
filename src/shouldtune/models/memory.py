"""Out-of-memory back-off: halve the batch and retry instead of crashing the run.

Only an accelerator's allocator raises a catchable out-of-memory error (the CPU's is the
kernel's OOM killer, which a resumed run survives through its cache). Every back-off is
recorded here with what it was working on, and the run puts the list in results.json under
model.hardware.oom_backoffs, so a number measured at a smaller batch says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import torch

from .device import free_memory

T = TypeVar("T")
C = TypeVar("C")

_events: list[dict[str, Any]] = []


def is_oom(exc: BaseException) -> bool:
    """CUDA raises torch.OutOfMemoryError; MPS a RuntimeError that says so."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def record(what: str, label: str, old: int, new: int, **extra: Any) -> None:
    _events.append({"what": what, "label": label, "from": old, "to": new, **extra})


def events() -> list[dict[str, Any]]:
    """The back-offs so far (a copy)."""
    return [dict(e) for e in _events]


def clear() -> None:
    _events.clear()


def halve_train_batch(cfg: C) -> C | None:
    """The same training with half the batch and twice the gradient accumulation: the
    effective batch, the optimizer steps and the schedule stay as they were. None at batch 1."""
    batch = cfg.batch_size  # type: ignore[attr-defined]
    if batch <= 1:
        return None
    return dataclasses.replace(  # type: ignore[type-var]
        cfg,
        batch_size=batch // 2,
        grad_accum=cfg.grad_accum * 2,  # type: ignore[attr-defined]
    )


def train_with_backoff(train: Callable[[C], T], cfg: C, label: str) -> T:
    """`train(cfg)` (which must build its own fresh model copy each call); on out-of-memory,
    retry with `halve_train_batch(cfg)` until it fits or the batch is 1.

    The fine-tune pipeline wraps each training run in it:
    `train_with_backoff(lambda c: self._fit_once(ctx, train_s, dev_s, c, label), cfg, label)`.
    """
    while True:
        try:
            return train(cfg)
        except Exception as exc:
            smaller = halve_train_batch(cfg) if is_oom(exc) else None
            if smaller is None:
                raise
        free_memory()
        record(
            "training batch",
            label,
            cfg.batch_size,  # type: ignore[attr-defined]
            smaller.batch_size,  # type: ignore[attr-defined]
            grad_accum=smaller.grad_accum,  # type: ignore[attr-defined]
        )
        cfg = smaller
