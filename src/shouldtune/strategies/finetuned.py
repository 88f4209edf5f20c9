"""The base of every fine-tuning strategy: one pipeline, variants differ in what trains.

prepare(): dev split -> learning-rate sweep on dev loss -> full training with the winner ->
save -> learning curve on smaller training sets. A variant (lora, full, layerwise) only says
which parameters train (`trainable_copy`), how to save them, and how to serve them.

A shared base like base.py, not a strategy of its own (it is not registered): the variants
import it, and it uses finetune/'s components, which never import strategies.
"""

from __future__ import annotations

import copy
import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from ..core.prompts import chat
from ..core.types import Example, Kind, Task
from ..finetune import common, weights
from ..finetune.curve import curve_point, curve_statement, curve_trend
from ..finetune.data import Sample
from ..finetune.sweep import edge_note, sweep_learning_rate
from ..finetune.trainer import TrainConfig, TrainReport, make_accelerator, train
from .base import ChatStrategy, RunContext, answer_all


@dataclass
class Data:
    train_ex: list[Example]
    dev_ex: list[Example]
    train_s: list[Sample]
    dev_s: list[Sample]


class FineTuneStrategy(ChatStrategy):
    kind: ClassVar[str] = Kind.FINE_TUNING
    Options: ClassVar[type[common.FineTuneOptions]] = common.FineTuneOptions
    trains: ClassVar[bool] = True
    uses_run_model: ClassVar[bool] = False  # serves its own tuned local model
    weights_format: ClassVar[str] = "tensors"

    def __init__(self, options: common.FineTuneOptions):
        super().__init__(options)
        self.options: common.FineTuneOptions = options
        self.tuned: Any = None

    def tuned_model(self) -> Any:
        return self.tuned

    # ---- what a variant defines -------------------------------------------------------

    def trainable_copy(self, base: torch.nn.Module, seed: int) -> torch.nn.Module:
        """A copy of the base model with exactly the parameters to train requiring grad."""
        raise NotImplementedError

    def describe(self, model: torch.nn.Module) -> dict[str, Any]:
        """Variant settings for results.json."""
        return {}

    def batch_hook(self, model: torch.nn.Module, seed: int) -> Callable[[int], None] | None:
        """Called before every batch; may change which parameters train (LISA)."""
        return None

    def find_unused(self) -> bool:
        """True when, under DDP, some trainable parameters get no gradient in a step."""
        return False

    def save(self, model: torch.nn.Module, names: Sequence[str], folder: Path) -> None:
        weights.save_tensors(model, names, folder)

    def for_inference(self, model: torch.nn.Module) -> torch.nn.Module:
        return model

    # ---- the shared pipeline ----------------------------------------------------------

    def skip_reason(self, task: Task) -> str | None:
        return common.skip_reason(task)

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        return chat(ctx.task.instruction, example.input, example.system)

    def model(self, ctx: RunContext) -> Any:
        return self.tuned

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        data = self._data(ctx)
        model, details = self.fit(ctx, data)
        t0 = time.perf_counter()
        self._serve(ctx, self.for_inference(model))
        cfg = self.options.train_config(ctx.seed, ctx.quick, details["learning_rate_chosen"])
        curve, statement = self._curve(ctx, data, cfg, details["training"]["seconds"])
        details["seconds"]["learning_curve"] = round(time.perf_counter() - t0, 2)
        return {**details, "learning_curve": curve, "learning_curve_statement": statement}

    def restore(self, ctx: RunContext) -> bool:
        """Served again from the weights `prepare` saved (a killed run resumed after this
        fine-tune answered, before its requests were timed): no retraining."""
        folder = self._folder(ctx)
        if not (folder / weights.MANIFEST).is_file():
            return False
        model, _ = weights.load_tuned(folder)  # LoRA merged, as for_inference serves it
        self._serve(ctx, model.to(dtype=next(ctx.lm.model.parameters()).dtype))
        return True

    def _folder(self, ctx: RunContext) -> Path:
        """Where `_save` puts the trained weights and `restore` finds them."""
        return ctx.work_dir / "trained" / self.name

    def _serve(self, ctx: RunContext, model: torch.nn.Module) -> None:
        """Served like the base: on its device, and a LoRA as an adapter on a serving engine
        (the folder `_save` wrote)."""
        base = ctx.lm
        adapter = self._folder(ctx) if self.weights_format == "peft-lora" else None
        self.tuned = base.tuned(f"{base.name}+{self.name}", model, adapter)

    @classmethod
    def score_details(
        cls,
        details: dict[str, Any],
        score: Callable[[Sequence[str]], list[float]],
        scores: Sequence[float] = (),
        n_resamples: int = 2000,
        seed: int = 0,
    ) -> dict[str, Any]:
        """The learning curve's points scored with the task metric (their answers are cached),
        plus the full-data point from the main run's scores; other seeds' runs (seeds.py)
        scored the same way."""
        seeds = details.get("seeds")
        if isinstance(seeds, list) and seeds and all("predictions" in s for s in seeds):
            scored = [_seed_score(s, score) for s in seeds]  # answers stay in raw/ (rescore)
            details = {k: v for k, v in details.items() if k != "seeds"} | {"seed_scores": scored}
        raw = details.get("learning_curve")
        if not isinstance(raw, list) or not raw or "predictions" not in raw[0]:
            return details
        points, all_scores = [], []
        for p in raw:
            point_scores = score(p["predictions"])
            points.append(curve_point(p["fraction"], p["n_train"], point_scores, n_resamples, seed))
            all_scores.append(point_scores)
        points.append(curve_point(1.0, details["train_examples"], scores, n_resamples, seed))
        all_scores.append(list(scores))
        return {
            **details,
            "learning_curve": points,
            "learning_curve_statement": curve_statement(points, all_scores, seed),
            "learning_curve_trend": curve_trend(all_scores, seed),
        }

    def fit(self, ctx: RunContext, data: Data | None = None) -> tuple[torch.nn.Module, dict]:
        """Sweep, train with the winning rate, save: the trained model and its details."""
        data = data or self._data(ctx)
        t0 = time.perf_counter()
        sweep, lr = self._sweep(ctx, data)
        t1 = time.perf_counter()
        cfg = self.options.train_config(ctx.seed, ctx.quick, lr)
        model, report = self._fit(ctx, data.train_s, data.dev_s, cfg, "training")
        saved, variant = self._save(ctx, model), self.describe(model)
        t2 = time.perf_counter()
        return model, {
            "method": self.name,
            **variant,
            "train_examples": len(data.train_ex),
            "dev_examples": len(data.dev_ex),
            "base_model_path": _base_path(ctx.lm.model),
            "saved_to": saved,
            "learning_rate_chosen": lr,
            "lr_sweep": sweep,
            "lr_sweep_note": edge_note(sweep, lr),
            # The cost of getting the model: sweep + final training, not the diagnostics.
            "train_seconds": round(t2 - t0, 2),
            "seconds": {"lr_sweep": round(t1 - t0, 2), "training": round(t2 - t1, 2)},
            "training": report.to_json(),
        }

    def _data(self, ctx: RunContext) -> Data:
        opts = self.options
        seed = ctx.seed if ctx.split_seed is None else ctx.split_seed  # seeds.py: same split
        train_ex, dev_ex = common.dev_split(ctx.task.train, opts.dev_fraction, seed)
        return Data(
            train_ex,
            dev_ex,
            common.encode_examples(ctx.lm, ctx.task, train_ex, opts.max_length),
            common.encode_examples(ctx.lm, ctx.task, dev_ex, opts.max_length),
        )

    def _fit(
        self,
        ctx: RunContext,
        train_s: Sequence[Sample],
        dev_s: Sequence[Sample],
        cfg: TrainConfig,
        label: str,
    ) -> tuple[torch.nn.Module, TrainReport]:
        """One training run; out of memory, it retries with half the batch and twice the
        accumulation (the same effective batch)."""
        from ..models.memory import train_with_backoff

        return train_with_backoff(
            lambda c: self._fit_once(ctx, train_s, dev_s, c, label), cfg, f"{self.name} {label}"
        )

    def _fit_once(
        self,
        ctx: RunContext,
        train_s: Sequence[Sample],
        dev_s: Sequence[Sample],
        cfg: TrainConfig,
        label: str,
    ) -> tuple[torch.nn.Module, TrainReport]:
        model = self.trainable_copy(ctx.lm.model, cfg.seed)
        # Before training: LISA changes requires_grad while it trains; save all it may touch.
        self._trained_names = [n for n, p in model.named_parameters() if p.requires_grad]
        ctx.progress.stage(self.name, label, total=None)
        report = train(
            model,
            train_s,
            dev_s,
            cfg,
            _pad_id(ctx.lm.tokenizer),
            on_step=lambda s, t: ctx.progress.advance(),
            accelerator=make_accelerator(cfg.grad_accum, self.find_unused()),
            before_batch=self.batch_hook(model, cfg.seed),
            checkpoint_dir=ctx.checkpoint_dir,  # set by the run: a killed run resumes here
        )
        return model, report

    def _sweep(self, ctx: RunContext, data: Data) -> tuple[list[dict[str, float]], float]:
        """Successive halving over warm-started runs of the real schedule (sweep.py)."""
        return sweep_learning_rate(self, ctx, data)

    def _save(self, ctx: RunContext, model: torch.nn.Module) -> str:
        from accelerate import PartialState

        folder = self._folder(ctx)
        state = PartialState()
        if state.is_main_process:  # under DDP every rank holds the same weights
            folder.mkdir(parents=True, exist_ok=True)
            self.save(model, self._trained_names, folder)
            base = _base_path(ctx.lm.model)
            weights.write_manifest(folder, self.name, self.weights_format, base)
        state.wait_for_everyone()
        return str(folder.relative_to(ctx.work_dir))

    def _curve_wanted(self, ctx: RunContext, train_seconds: float) -> tuple[bool, str]:
        opts = self.options
        if ctx.quick:
            return False, "Learning curve skipped (--quick)."
        if opts.learning_curve is False:
            return False, "Learning curve off (learning_curve: false)."
        projected = sum(opts.learning_curve_fractions) * train_seconds
        if opts.learning_curve is None and projected > opts.learning_curve_budget_s:
            return False, (
                f"Learning curve skipped: it would add about {projected:.0f} s of training, over "
                f"the {opts.learning_curve_budget_s:.0f} s budget (set learning_curve: true)."
            )
        return True, ""

    def _curve(
        self, ctx: RunContext, data: Data, cfg: TrainConfig, train_seconds: float
    ) -> tuple[list[dict[str, Any]], str]:
        """Train on nested prefixes of the (seeded, shuffled) training split; answer the test
        set. The answers are kept, not scores: the metric is applied at scoring time."""
        wanted, why_not = self._curve_wanted(ctx, train_seconds)
        if not wanted:
            return [], why_not
        points = []
        for fraction in self.options.learning_curve_fractions:
            n = max(2, round(fraction * len(data.train_s)))
            model, _ = self._fit(ctx, data.train_s[:n], data.dev_s, cfg, f"curve {fraction:.0%}")
            answers = self._test_answers(ctx, self.for_inference(model))
            points.append({"fraction": fraction, "n_train": n, "predictions": answers})
            del model
            gc.collect()
        return points, "Scored with the task metric after the test-set evaluation."

    def _test_answers(self, ctx: RunContext, model: torch.nn.Module) -> list[str]:
        lm = ctx.lm.tuned(ctx.lm.name, model)
        convos = [self.messages(ex, ctx) for ex in ctx.task.test]
        gens = answer_all(lm, convos, ctx)  # as the full-data point is: stop strings, ranking
        return [g.text for g in gens]


def _seed_score(seed_run: dict[str, Any], score: Callable[[Sequence[str]], list[float]]) -> dict:
    values = score(seed_run["predictions"])
    return {"seed": seed_run["seed"], "score": round(sum(values) / max(len(values), 1), 4)}


def deep_copy(base: torch.nn.Module) -> torch.nn.Module:
    """An independent copy: training must never touch the shared base model."""
    return copy.deepcopy(base)


def _base_path(model: torch.nn.Module) -> str:
    return str(Path(getattr(model.config, "_name_or_path", "") or "").resolve())


def _pad_id(tokenizer: Any) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
