"""Resource measurement: peak resident memory (host and GPU) while a block runs, latency
percentiles."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import psutil


class PeakRss:
    """Samples this process's resident memory in a thread; `peak_mb` after the block."""

    def __init__(self, interval_s: float = 0.05):
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._proc = psutil.Process()

    def _sample(self) -> None:
        self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> PeakRss:
        self._sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


class PeakGpu:
    """The CUDA allocator's peak while the block runs: `allocated_mb` (tensors) and
    `reserved_mb` (what the process holds from the driver, what other processes cannot use).
    Both None when the device is not a CUDA GPU."""

    def __init__(self, device: Any):
        self.device = device
        self.allocated_mb: float | None = None
        self.reserved_mb: float | None = None

    def _active(self) -> bool:
        import torch

        return getattr(self.device, "type", None) == "cuda" and torch.cuda.is_available()

    def __enter__(self) -> PeakGpu:
        if self._active():
            import torch

            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._active():
            import torch

            torch.cuda.synchronize(self.device)
            self.allocated_mb = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
            self.reserved_mb = round(torch.cuda.max_memory_reserved(self.device) / 2**20, 1)

    def to_json(self) -> dict[str, float] | None:
        if self.allocated_mb is None:
            return None
        return {"allocated": self.allocated_mb, "reserved": self.reserved_mb or 0.0}


R = TypeVar("R")


def with_gpu_peak(compute: Callable[[], R], device: Any) -> Callable[[], R]:
    """`compute` (one strategy's evaluation) with its peak GPU memory added to the result's
    details as `peak_gpu_memory_mb` {allocated, reserved}; nothing added off the GPU.
    (vLLM's own memory is its reserved share, not counted by torch's allocator.)"""

    def run() -> R:
        with PeakGpu(device) as gpu:
            result = compute()
        peak = gpu.to_json()
        if peak is not None and isinstance(getattr(result, "details", None), dict):
            result.details["peak_gpu_memory_mb"] = peak  # type: ignore[attr-defined]
        return result

    return run


P95_RESAMPLES = 1000


def percentiles_ms(seconds: Sequence[float], seed: int = 0) -> dict[str, float]:
    """p50 and p95 in ms, the sample count, and the p95's 95% bootstrap interval."""
    if not seconds:
        return {"p50": 0.0, "p95": 0.0, "n": 0}
    ms = np.asarray(seconds, dtype=float) * 1000
    rng = np.random.default_rng(seed)
    resampled = ms[rng.integers(0, len(ms), size=(P95_RESAMPLES, len(ms)))]
    p95s = np.percentile(resampled, 95, axis=1)
    return {
        "p50": round(float(np.percentile(ms, 50)), 1),
        "p95": round(float(np.percentile(ms, 95)), 1),
        "n": len(ms),
        "p95_ci_low": round(float(np.percentile(p95s, 2.5)), 1),
        "p95_ci_high": round(float(np.percentile(p95s, 97.5)), 1),
    }
