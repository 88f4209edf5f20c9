"""This machine's measured speed on the run's model: a short calibration, cached.

What is timed is the run's own code on the run's own model and data shapes:
- generation: `models.decode.greedy` on real test prompts of the task, at the task's batch size
  and at batch 1; the time to the first token is prefill, the gaps between later tokens are
  decode steps;
- training: for every planned fine-tune variant, a few steps of the shared training loop
  (`finetune.trainer.train`) on a batch of the task's own training samples, built by the
  variant itself (`trainable_copy`, `batch_hook`), then one dev-loss pass;
- the MiniLM embedder (when a strategy embeds): loading it, one batch, single queries;
- the no-LLM baseline: fitted on a stratified quarter of the training rows;
- loading the model.

A calibration is kept in a JSON file (`cache_file()`) under a key made of the model's files,
the machine (CPU, cores, torch threads and version), the shouldtune code, the shapes timed and
the machine's load band: a busy machine is a different machine, so a calibration taken idle is
not reused under load, nor the other way round.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..contract import RunContext, Strategy

if TYPE_CHECKING:  # a type only: its module imports torch
    from ..strategies.finetuned import FineTuneStrategy

DECODE_STEPS = 8  # decode steps timed per batch size
TRAIN_STEPS = 2  # timed training steps per variant, after one warm-up step
SINGLE_EMBEDS = 8


@dataclass
class TrainSpeed:
    seconds_per_token: float  # one training step, per padded token at the timed shape
    fit_overhead_s: float  # per training run: model copy, setup, the first step's extra
    dev_seconds_per_token: float  # one dev-loss forward, per padded token
    shape: tuple[int, int]  # (rows, width) timed


@dataclass
class Speeds:
    prefill_batch: float  # seconds per prompt token, batched prefill
    prefill_single: float  # seconds per prompt token, one prompt alone
    decode: dict[int, float]  # batch rows -> seconds per decode step
    model_load_s: float
    train: dict[str, TrainSpeed] = field(default_factory=dict)
    embed_load_s: float = 0.0
    embed_per_text: float = 0.0  # batched
    embed_per_call: float = 0.0  # one text per call
    baseline_per_row: float = 0.0  # the no-LLM baseline's fit and predict, per training row
    basis: dict[str, Any] = field(default_factory=dict)

    def decode_step(self, rows: int) -> float:
        """Seconds per decode step with `rows` rows: linear between the measured batch sizes
        (weights are read once per step whatever the rows; each row adds its own compute)."""
        points = sorted(self.decode.items())
        if len(points) == 1:
            return points[0][1]
        (b0, t0), (b1, t1) = points[0], points[-1]
        slope = max((t1 - t0) / (b1 - b0), 0.0) if b1 != b0 else 0.0
        return max(t0 + slope * (rows - b0), 1e-6)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["decode"] = {str(k): v for k, v in self.decode.items()}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Speeds:
        train = {
            k: TrainSpeed(**{**v, "shape": tuple(v["shape"])}) for k, v in data["train"].items()
        }
        return cls(
            **{**data, "decode": {int(k): v for k, v in data["decode"].items()}, "train": train}
        )


# ---- the calibration request and its cache ---------------------------------------------


@dataclass
class Request:
    """What to time. `train`: variant name -> (strategy, samples of one batch)."""

    model_name: str
    model_dir: Path
    gen_prompts: list[list[int]]  # real prompts of the task, one batch's worth
    gen_batch: int
    train: dict[str, tuple[Any, list[Any]]] = field(default_factory=dict)
    embed_texts: list[str] = field(default_factory=list)  # empty: no embedder needed
    baseline: tuple[Any, Any] | None = None  # (the baseline strategy, the task)
    seed: int = 0

    def key(self) -> dict[str, Any]:
        from ..core.fileio import folder_fingerprint
        from ..resume import code_version

        width = max((len(p) for p in self.gen_prompts), default=0)
        return {
            "model": folder_fingerprint(self.model_dir),
            "machine": machine(),
            "code": code_version(),
            "gen": [self.gen_batch, len(self.gen_prompts), round(width, -1)],
            "train": {
                name: [type(s).__name__, s.options.model_dump(mode="json"), _shape(samples)]
                for name, (s, samples) in sorted(self.train.items())
            },
            "embed": bool(self.embed_texts),
            "baseline": _baseline_key(self.baseline),
            "load_band": load_band(),
        }


def _baseline_key(baseline: tuple[Any, Any] | None) -> list[Any] | None:
    """Its cost per row depends on the task: rows, classes and text length."""
    if baseline is None:
        return None
    strategy, task = baseline
    chars = sum(len(ex.input) for ex in task.train) // max(len(task.train), 1)
    classes = len({ex.output for ex in task.train})
    return [strategy.options.model_dump(mode="json"), len(task.train), classes, chars]


def _shape(samples: Sequence[Any]) -> list[int]:
    width = max((len(s.input_ids) for s in samples), default=0)
    return [len(samples), 8 * round(width / 8)]


def machine() -> dict[str, Any]:
    import torch

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def load_band() -> str:
    """'idle', 'busy' or 'overloaded': runnable processes per core, coarsely. Speed on a
    shared machine depends on it far more than on anything else (benchmarks/README.md)."""
    load = load_average()
    if load is None:
        return "unknown"
    per_core = load / max(os.cpu_count() or 1, 1)
    return "idle" if per_core < 0.75 else "busy" if per_core < 2 else "overloaded"


def cache_file() -> Path:
    """SHOULDTUNE_CALIBRATION names the file; else calibration.json in shouldtune's cache
    folder (SHOULDTUNE_CACHE, else ~/.cache/shouldtune: where the bundled models go)."""
    named = os.environ.get("SHOULDTUNE_CALIBRATION")
    if named:
        return Path(named)
    from ..models.bundled import cache_dir

    return Path(cache_dir()) / "calibration.json"


def _digest(key: dict[str, Any]) -> str:
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cached(req: Request) -> Speeds | None:
    try:
        entries = json.loads(cache_file().read_text(encoding="utf-8"))
        return Speeds.from_json(entries[_digest(req.key())])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or unreadable: measure again


def remember(req: Request, speeds: Speeds) -> None:
    from ..core.fileio import atomic_write_json

    path = cache_file()
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        entries = entries if isinstance(entries, dict) else {}
    except (OSError, ValueError):
        entries = {}
    entries[_digest(req.key())] = speeds.to_json()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, dict(list(entries.items())[-50:]))  # the latest 50 kept
    except OSError:
        pass  # a read-only home: measure next time again


def speeds_for(req: Request, use_cache: bool = True) -> Speeds:
    """The cached calibration for this request, else measure it now (and keep it)."""
    found = cached(req) if use_cache else None
    if found is not None:
        found.basis["cached"] = True
        return found
    speeds = measure(req)
    if use_cache:
        remember(req, speeds)
    return speeds


# ---- measuring -------------------------------------------------------------------------


def measure(req: Request) -> Speeds:
    from ..models.lm import LanguageModel

    t0 = time.perf_counter()
    measured = []
    baseline_per_row = 0.0
    if req.baseline is not None:
        baseline_per_row, rows = time_baseline(*req.baseline, req.seed)
        measured.append(f"the no-LLM baseline fitted on {rows} of the training rows")
    t_load = time.perf_counter()
    lm = LanguageModel.load(req.model_name, req.model_dir)
    load_s = time.perf_counter() - t_load
    prefill_b, decode_b, shape_b = time_generation(lm.model, req.gen_prompts, _pad(lm))
    prefill_1, decode_1, _ = time_generation(lm.model, req.gen_prompts[:1], _pad(lm))
    speeds = Speeds(
        prefill_batch=prefill_b,
        prefill_single=prefill_1,
        decode={1: decode_1, shape_b[0]: decode_b} if shape_b[0] > 1 else {1: decode_1},
        model_load_s=round(load_s, 3),
        baseline_per_row=baseline_per_row,
    )
    measured += [
        f"loading the model ({load_s:.1f} s)",
        f"prefill and {DECODE_STEPS} decode steps at batch {shape_b[0]} ({shape_b[1]}-token"
        f" prompts) and at batch 1: {decode_b * 1000:.0f} / {decode_1 * 1000:.0f} ms a step",
    ]
    for name, (strategy, samples) in req.train.items():
        speeds.train[name] = time_training(strategy, lm, samples, req.seed)
        t = speeds.train[name]
        rows, width = t.shape
        measured.append(
            f"{TRAIN_STEPS} training steps of {name} on {rows}x{width} tokens of this task:"
            f" {t.seconds_per_token * rows * width:.2f} s a step"
        )
    del lm
    gc.collect()
    if req.embed_texts:
        speeds.embed_load_s, speeds.embed_per_text, speeds.embed_per_call = time_embedder(
            req.embed_texts
        )
        measured.append(f"the MiniLM embedder (load {speeds.embed_load_s:.1f} s)")
    speeds.basis = {
        "measured": measured,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": load_average(),
        "load_band": load_band(),
        "machine": machine(),
        "seconds": round(time.perf_counter() - t0, 1),
        "cached": False,
    }
    return speeds


def _pad(lm: Any) -> int:
    tok = lm.tokenizer
    return tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id


def time_generation(
    model: Any, prompts: Sequence[Sequence[int]], pad_id: int, steps: int = DECODE_STEPS
) -> tuple[float, float, tuple[int, int]]:
    """(prefill seconds per prompt token, seconds per decode step, (rows, width)) from one
    greedy call that never stops early: the first token's time is prefill, the rest decode.
    A one-token call first pays the one-off costs (thread pool start, allocations)."""
    from ..models.decode import StopRule, greedy

    rule = StopRule(frozenset())
    prompts = [list(p) for p in prompts]
    greedy(model, prompts[:1], pad_id, 1, rule, lambda ids: "")
    stamps: list[float] = []

    def pick(logits: Any) -> Any:
        stamps.append(time.perf_counter())
        return logits.argmax(-1)

    t0 = time.perf_counter()
    greedy(model, prompts, pad_id, steps + 1, rule, lambda ids: "", pick=pick)
    width = max(len(p) for p in prompts)
    prefill = (stamps[0] - t0) / (len(prompts) * width)
    decode = (stamps[-1] - stamps[0]) / max(len(stamps) - 1, 1)
    return prefill, decode, (len(prompts), width)


def time_training(
    strategy: FineTuneStrategy, lm: Any, samples: Sequence[Any], seed: int
) -> TrainSpeed:
    """A warm-up step plus TRAIN_STEPS timed steps of the shared loop on one batch of real
    samples, the model built by a fresh copy of the strategy; then one dev-loss pass."""
    from ..finetune.trainer import TrainConfig, dev_loss, make_accelerator, train

    fresh = type(strategy)(strategy.options)
    opts = fresh.options
    accum = opts.grad_accum
    cfg = TrainConfig(
        epochs=1 + TRAIN_STEPS * accum,
        learning_rate=opts.learning_rate,
        batch_size=len(samples),
        grad_accum=accum,
        seed=seed,
    )
    stamps: list[float] = []
    t0 = time.perf_counter()
    model = fresh.trainable_copy(lm.model, seed)
    train(
        model,
        samples,
        [],
        cfg,
        _pad(lm),
        on_step=lambda s, t: stamps.append(time.perf_counter()),
        accelerator=make_accelerator(accum, fresh.find_unused()),
        before_batch=fresh.batch_hook(model, seed),
    )
    step = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    rows, width = len(samples), max(len(s.input_ids) for s in samples)
    t1 = time.perf_counter()
    dev_loss(model, samples, _pad(lm), len(samples))
    dev = time.perf_counter() - t1
    del model
    gc.collect()
    return TrainSpeed(
        seconds_per_token=step / (rows * width),
        fit_overhead_s=max(stamps[0] - t0 - step, 0.0),
        dev_seconds_per_token=dev / (rows * width),
        shape=(rows, width),
    )


def time_baseline(strategy: Strategy, task: Any, seed: int) -> tuple[float, int]:
    """(seconds per training row, rows fitted): the baseline's own fit on a stratified quarter
    of the training rows (every label kept: a classifier's cost grows with the labels too),
    then its predictions on up to 50 test rows."""
    import random
    from dataclasses import replace

    by_label: dict[str, list[Any]] = {}
    for ex in task.train:
        by_label.setdefault(ex.output, []).append(ex)
    rng = random.Random(seed)
    sample = [x for rows in by_label.values() for x in rng.sample(rows, max(1, len(rows) // 4))]
    if len(sample) < min(len(task.train), 40):
        sample = list(task.train)  # too few to time: the whole (small) set
    ctx = RunContext(task=replace(task, train=sample), seed=seed)
    fresh = type(strategy)(strategy.options)
    t0 = time.perf_counter()
    fresh.prepare(ctx)
    fresh.predict(task.test[:50], ctx)
    return (time.perf_counter() - t0) / len(sample), len(sample)


def time_embedder(texts: Sequence[str]) -> tuple[float, float, float]:
    """(load seconds, seconds per text batched, seconds per one-text call)."""
    from ..retrieval.embed import MiniLMEmbedder

    t0 = time.perf_counter()
    embedder = MiniLMEmbedder()
    load = time.perf_counter() - t0
    embedder.encode(list(texts[:16]))  # warm-up
    embedder.encode(list(texts[:1]))
    t1 = time.perf_counter()
    embedder.encode(list(texts))
    batched = (time.perf_counter() - t1) / max(len(texts), 1)
    t2 = time.perf_counter()
    for text in texts[:SINGLE_EMBEDS]:
        embedder.encode([text])
    single = (time.perf_counter() - t2) / max(min(len(texts), SINGLE_EMBEDS), 1)
    return load, batched, single


Measure = Callable[[Request], Speeds]
