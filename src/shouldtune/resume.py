"""Resume an interrupted run: finished strategies are not computed again.

Each strategy's *unscored* run (its answers, timings, details) is cached in a hidden folder
beside the run folder (`runs/.NAME.cache/`), keyed by a hash of everything that determines
what it generates: the task data and config (and every file in the task folder), the strategy
and its options, the model's files, the shouldtune code, the seed and the run flags. What only
scores or decides — the metric (and its file), `cost:`, `needs:`, the bootstrap size — is not
part of the key: changing it re-scores the cached answers without generating or training. A
fine-tune also checkpoints its training there, so a killed fine-tune resumes from its last
checkpoint. The cache is removed once the run folder is complete.

Entries are written atomically and checked when read: a damaged entry is recomputed, never
trusted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import __version__
from .core.fileio import atomic_write_json, folder_fingerprint
from .core.metrics import metric_file
from .core.types import StrategyRun, Task
from .progress import NullProgress, Progress

FORMAT = 2  # 2: unscored StrategyRun entries
# task.yaml keys that only score or decide: never part of what a strategy generates.
SCORING_ONLY = ("metric", "cost", "needs")
CODE_SUFFIXES = (".py", ".j2", ".js")


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.cache
def code_version() -> str:
    """The package version plus a hash of its source: an edited strategy is a new result."""
    h = hashlib.sha256(__version__.encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(package)).encode())
            h.update(path.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"


def generation_config(task: Task) -> dict | None:
    """task.yaml as far as it changes what strategies generate or train."""
    if task.config is None:
        return None
    config = task.config.model_dump(mode="json")
    for key in SCORING_ONLY:
        config.pop(key, None)
    config.get("eval", {}).pop("bootstrap_samples", None)
    return config


def _scoring_files(task: Task) -> set[str]:
    """The metric's own file, unless the tools or the pipeline also import it."""
    name = metric_file(task.metric)
    if name is None or task.config is None:
        return set()
    name = Path(name).as_posix()
    used = {
        (task.config.options.get(s) or {}).get("file", f"{s}.py") for s in ("tools", "pipeline")
    }
    return set() if name in used else {name}


def task_fingerprint(task: Task) -> str:
    """The examples actually used (after any split or cap), the config that shapes generation,
    and every file of the task folder (tools, probe items...) but the metric's."""
    return _digest(
        {
            "train": [asdict(e) for e in task.train],
            "test": [asdict(e) for e in task.test],
            "docs": [asdict(d) for d in task.docs],
            "instruction": task.instruction,
            "config": generation_config(task),
            # task.yaml is in `config`, validated (so only what shapes generation counts).
            "files": folder_fingerprint(task.root, exclude=_scoring_files(task) | {"task.yaml"}),
        }
    )


def run_identity(task: Task, model_name: str, model_dir: Path, opts: Any, backend: Any) -> dict:
    """What every strategy of the run depends on (each adds its own options to this)."""
    return {
        "format": FORMAT,
        "task": task_fingerprint(task),
        "model": model_name,
        "model_files": folder_fingerprint(model_dir),
        "code": code_version(),
        "seed": opts.seed,
        "quick": opts.quick,
        "backend": backend.describe() if backend is not None else None,
    }


def strategy_identity(strategy: Any) -> dict:
    options = strategy.options
    return {
        "name": strategy.name,
        "kind": str(strategy.kind),
        "class": f"{type(strategy).__module__}.{type(strategy).__qualname__}",
        "options": options.model_dump(mode="json") if hasattr(options, "model_dump") else None,
        "extra": strategy.cache_identity(),  # what options alone do not say
    }


def cache_folder(out_dir: Path) -> Path:
    return out_dir.with_name(f".{out_dir.name}.cache")


def unfinished_run(parent: Path, task_name: str, identity: dict) -> Path | None:
    """The newest interrupted run of this task with the same identity: the default output
    folder carries a timestamp, so re-running the same command must find it by content."""
    want = _digest(identity)
    for folder in sorted(parent.glob(f".{task_name}-*.cache"), reverse=True):
        try:
            saved = json.loads((folder / "identity.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if saved.get("digest") == want:
            return parent / folder.name[1 : -len(".cache")]
    return None


def seed_everything(seed: int) -> None:
    """Each strategy starts from the same RNG state, whether or not others ran before it."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)  # files are replaced atomically, never edited: a link is a snapshot
    except OSError:
        shutil.copy2(src, dst)


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


class RunCache:
    """Per-strategy results of one run folder, reused when the same command runs again."""

    def __init__(self, out_dir: Path, identity: dict, progress: Progress | None = None):
        self.folder = cache_folder(out_dir)
        self.identity = identity
        self.progress = progress or NullProgress()
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            self.folder / "identity.json", {"digest": _digest(identity), "identity": identity}
        )

    def key(self, strategy: Any) -> str:
        return _digest({"run": self.identity, "strategy": strategy_identity(strategy)})[:32]

    @property
    def model_parameters(self) -> int | None:
        """The base model's size, recorded by an earlier attempt that loaded it."""
        try:
            data = json.loads((self.folder / "model.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        n = data.get("parameters") if isinstance(data, dict) else None
        return n if isinstance(n, int) and n > 0 else None

    def remember_parameters(self, n: int | None) -> None:
        if n:
            atomic_write_json(self.folder / "model.json", {"parameters": n})

    def checkpoints(self, key: str) -> Path:
        """Where a strategy's training checkpoints go, so a killed run resumes its training."""
        return self.folder / f"{key}.ckpt"

    def evaluate(
        self,
        strategy: Any,
        work: Path,
        seed: int,
        compute: Callable[[], StrategyRun],
        pending: bool = False,
    ) -> tuple[StrategyRun, bool]:
        """(the cached run of `strategy`, True) or (computed now and cached, False).
        `pending`: the run is not whole yet (its latency is timed later, `finish`); a resumed
        run reuses its answers and sees `is_pending`."""
        key = self.key(strategy)
        cached = self.load(key, work)
        if cached is not None:
            self.progress.log(f"{strategy.name}: reused the answers of an earlier attempt ({key})")
            return cached, True
        seed_everything(seed)
        before = _files(work)
        run = compute()
        self.save(key, run, work, before, pending)
        shutil.rmtree(self.checkpoints(key), ignore_errors=True)
        return run, False

    def save(
        self, key: str, run: StrategyRun, work: Path, before: dict[str, int], pending: bool = False
    ) -> None:
        """Snapshot the files the strategy wrote, then the entry (last, atomic: the commit)."""
        made = {rel: size for rel, size in _files(work).items() if before.get(rel) != size}
        stash = self.folder / f"{key}.files"
        shutil.rmtree(stash, ignore_errors=True)
        for rel in made:
            _link_or_copy(work / rel, stash / rel)
        entry = {"format": FORMAT, "key": key, "run": run.to_json(), "files": made}
        if pending:
            entry["pending"] = True
        atomic_write_json(self.folder / f"{key}.json", entry)

    def is_pending(self, key: str) -> bool:
        """True when the entry of `key` still waits for its latency (`finish`)."""
        entry = self._entry(key)
        return bool(entry and entry.get("pending"))

    def finish(self, key: str, run: StrategyRun) -> None:
        """The pending entry of `key` made whole with `run` (its latency now measured)."""
        path = self.folder / f"{key}.json"
        entry = json.loads(path.read_text(encoding="utf-8"))
        entry.pop("pending", None)
        atomic_write_json(path, entry | {"run": run.to_json()})

    def load(self, key: str, work: Path) -> StrategyRun | None:
        entry = self._entry(key)
        if entry is None:
            return None
        stash = self.folder / f"{key}.files"
        for rel in entry["files"]:
            _link_or_copy(stash / rel, work / rel)
        return StrategyRun.from_json(entry["run"])

    def _entry(self, key: str) -> dict | None:
        """The entry if it is whole and every file it names is there at its recorded size."""
        try:
            entry = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            stash = self.folder / f"{key}.files"
            ok = entry["format"] == FORMAT and entry["key"] == key
            ok = ok and len(entry["run"]["generations"]) > 0
            ok = ok and all((stash / r).stat().st_size == s for r, s in entry["files"].items())
            StrategyRun.from_json(entry["run"])  # well-formed, or recomputed
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return entry if ok else None

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
