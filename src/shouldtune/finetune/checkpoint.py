"""Checkpoints for the shared training loop, so a killed fine-tune resumes where it stopped.

A checkpoint is everything the loop needs to continue *exactly* as if never stopped: the
trained tensors, optimizer and scheduler state, the early-stopping keeper, the report so far,
the RNG states and the position (epoch, batch). Tensors go to safetensors, the rest to JSON;
checkpoint.json is written last and atomically, so it only ever names a complete tensor file.

Each training run gets its own sub-folder, named by a fingerprint of its config, data and
parameters: one strategy may train several times (an lr sweep, a learning curve), and a
checkpoint from a different configuration is never loaded.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..core.fileio import atomic_write_text

MANIFEST = "checkpoint.json"
FORMAT = 1


def fingerprint(loop: Any) -> str:
    """What determines the training run: config, the exact samples, the trainable tensors."""
    h = hashlib.sha256()
    h.update(json.dumps(asdict(loop.cfg), sort_keys=True, default=str).encode())
    h.update(str(loop.pad_id).encode())
    for group in (loop.train_samples, loop.dev_samples):
        h.update(b"|group|")
        for s in group:
            h.update(json.dumps([s.input_ids, s.labels]).encode())
    for name, p in loop.params.items():
        h.update(f"{name}:{tuple(p.shape)}:{p.dtype}".encode())
    return h.hexdigest()[:20]


def _pack(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-able form of nested state; tensors are moved out into `tensors`."""
    if isinstance(obj, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = obj.detach().cpu().clone().contiguous()
        return {"__tensor__": name}
    if isinstance(obj, dict):
        return {"__dict__": [[_pack(k, tensors), _pack(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_pack(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_pack(v, tensors) for v in obj]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TypeError(f"cannot checkpoint a {type(obj).__name__}")


def _unpack(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_unpack(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if "__tuple__" in obj:
        return tuple(_unpack(v, tensors) for v in obj["__tuple__"])
    return {_unpack(k, tensors): _unpack(v, tensors) for k, v in obj["__dict__"]}


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Checkpoints:
    """Save and resume one training loop (`finetune.trainer._Loop`) in `folder`."""

    def __init__(self, folder: Path, loop: Any):
        self.folder = Path(folder) / fingerprint(loop)
        self.pending_rng: dict[str, Any] | None = None
        self.started, self.prior_seconds = time.perf_counter(), 0.0

    def save(self, loop: Any, epoch: int, batch: int, n_batches: int) -> None:
        """After batch `batch` of `epoch` (an optimizer step has just been taken)."""
        report = loop.report
        report.epochs_run = epoch + (batch + 1) / max(n_batches, 1)
        done = report.stopped_early or report.steps >= loop.step_limit
        if done:
            position = [loop.cfg.epochs, 0]
        elif batch + 1 >= n_batches:
            position = [epoch + 1, 0]
        else:
            position = [epoch, batch + 1]
        state = {
            "params": dict(loop.params),
            "optimizer": loop.optimizer.state_dict(),
            "schedule": loop.schedule.state_dict(),
            "keeper": {"best": loop.keeper.best, "bad": loop.keeper.bad},
            "best_state": loop.keeper.state,
            "report": asdict(report),
            "losses": loop.losses,
            "wastes": [list(w) for w in loop.wastes],
            "acc_step": getattr(loop.acc, "step", 0),
            "rng": _rng_state(),
            "seconds": self.prior_seconds + time.perf_counter() - self.started,
        }
        tensors: dict[str, torch.Tensor] = {}
        packed = _pack(state, tensors)
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"state-{report.steps}.safetensors"
        tmp = self.folder / f".{name}.tmp"
        save_file(tensors, str(tmp))
        tmp.replace(self.folder / name)
        manifest = {"format": FORMAT, "position": position, "tensors": name, "state": packed}
        # Internal state, read back only here: plain json keeps an early stopper's "no best
        # yet" (inf), which results files write as null.
        atomic_write_text(self.folder / MANIFEST, json.dumps(manifest) + "\n")
        for old in self.folder.glob("state-*.safetensors"):
            if old.name != name:
                old.unlink(missing_ok=True)

    def _read(self) -> tuple[list[int], dict[str, Any]] | None:
        try:
            manifest = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT:
                return None
            tensors = load_file(str(self.folder / manifest["tensors"]))
            return manifest["position"], _unpack(manifest["state"], tensors)
        except (OSError, ValueError, KeyError, TypeError, SafetensorError):
            return None  # missing or damaged: train from the start rather than trust it

    @torch.no_grad()
    def resume(self, loop: Any) -> tuple[int, int]:
        """Restore the loop from the last checkpoint; (epoch, batches to skip) to go on from."""
        self.started = time.perf_counter()
        found = self._read()
        if found is None:
            return 0, 0
        (epoch, skip), state = found
        for name, p in loop.params.items():
            p.copy_(state["params"][name])
        loop.optimizer.load_state_dict(state["optimizer"])
        loop.schedule.load_state_dict(state["schedule"])
        loop.keeper.best, loop.keeper.bad = state["keeper"]["best"], state["keeper"]["bad"]
        loop.keeper.state = state["best_state"]
        for key, value in state["report"].items():
            setattr(loop.report, key, value)
        loop.report.resumed_at_step = loop.report.steps
        loop.report.seconds = self.prior_seconds = state["seconds"]
        loop.losses[:] = state["losses"]
        loop.wastes[:] = [tuple(w) for w in state["wastes"]][:epoch]
        if hasattr(loop.acc, "step"):
            loop.acc.step = state["acc_step"]
        if skip:
            # Mid-epoch: the epoch's data loader draws from the RNG when its first batch is
            # fetched, so the state is put back only after that (restore_rng), as at the save.
            self.pending_rng = state["rng"]
        else:
            _set_rng_state(state["rng"])
        return epoch, skip

    def restore_rng(self) -> None:
        if self.pending_rng is not None:
            _set_rng_state(self.pending_rng)
            self.pending_rng = None
