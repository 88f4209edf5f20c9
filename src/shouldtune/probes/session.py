"""A run's probes: SliCK once before training, base-model probes once, tuned models after.

run.py creates one ProbeSession when a fine-tuning strategy is planned; it calls
`knowledge()` before the first strategy (so the warning comes before any training) and
`after()` for each fine-tuned strategy once it is trained. The base model's answers are
computed on the first call and reused for every fine-tune.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from ..core.types import Task
from . import metrics, slick
from .items import KINDS, ProbeItem, probe_items
from .runner import PROBE_INSTRUCTION, ModelOracle, ProbeRun, run_probes

# --quick (or probes.quick): a fast look at a small fraction of the default cost.
QUICK_ITEMS = 5
QUICK_SLICK = {"max_examples": 8, "prompts": 2, "samples": 0}


def tuned_model(strategy: Any) -> Any:
    """The fine-tuned LanguageModel a strategy serves (the contract's `tuned_model()`)."""
    return strategy.tuned_model()


class ProbeSession:
    def __init__(self, task: Task, quick: bool, seed: int = 0, bootstrap_samples: int = 2000):
        cfg = task.config.probes
        self.task, self.cfg, self.seed = task, cfg, seed
        self.quick = quick or cfg.quick
        self.bootstrap_samples = bootstrap_samples
        counts = {kind: getattr(cfg, kind) for kind in KINDS}
        if self.quick:
            counts = {k: min(n, QUICK_ITEMS) for k, n in counts.items()}
        self.note: str | None = None
        try:
            self.items: list[ProbeItem] = probe_items(counts, task.root)
        except FileNotFoundError as exc:  # a wheel install without data/: the task's own only
            self.note = str(exc)
            self.items = probe_items({}, task.root)
        self._before: ProbeRun | None = None

    @classmethod
    def for_plan(
        cls, task: Task, trains: Sequence[bool], quick: bool, seed: int, bootstrap_samples: int
    ) -> ProbeSession | None:
        """A session when probes are on and a strategy that trains is planned; else None."""
        cfg = getattr(task.config, "probes", None)
        if cfg is None or not cfg.enabled or not any(trains):
            return None
        return cls(task, quick, seed, bootstrap_samples)

    def slick_settings(self) -> dict[str, Any]:
        s = self.cfg.slick
        settings = {"max_examples": s.max_examples, "prompts": s.prompts, "samples": s.samples}
        if self.quick:
            settings = {k: min(v, QUICK_SLICK[k]) for k, v in settings.items()}
        return settings

    def knowledge(self, ctx: Any, scorer: Callable[[str, str], float]) -> dict[str, Any] | None:
        """SliCK on a seeded sample of the training data; logs the warning before training."""
        s = self.cfg.slick
        if not s.enabled:
            return None
        settings, train = self.slick_settings(), self.task.train
        n = min(settings["max_examples"], len(train))
        analysed = sorted(random.Random(self.seed).sample(range(len(train)), n))
        gen = self.task.config.generation
        oracle = ModelOracle(
            ctx.lm, self.task.instruction, train, analysed, scorer, s.shots, self.seed,
            gen.max_new_tokens, gen.batch_size, s.temperature, ctx.progress.advance, gen.stop,
        )  # fmt: skip
        ctx.progress.stage("knowledge", "SliCK", total=n * settings["prompts"])
        result = slick.analyse(
            n, oracle, settings["prompts"], settings["samples"], s.warn_unknown_share
        )
        categories = result.pop("per_example")
        result["examples"] = [
            {"source": train[i].source, "category": c}
            for i, c in zip(analysed, categories, strict=True)
        ]
        result |= {"shots": s.shots, "temperature": s.temperature, "quick": self.quick}
        if result["warning"]:
            ctx.progress.log(f"warning: {result['warning']}")
        return result

    def _run(self, lm: Any, ctx: Any, label: str) -> ProbeRun:
        ctx.progress.stage("probes", label, total=len(self.items))
        cfg = self.cfg
        return run_probes(lm, self.items, cfg.max_new_tokens, cfg.batch_size, ctx.progress.advance)

    def before(self, ctx: Any) -> ProbeRun:
        if self._before is None:
            self._before = self._run(ctx.lm, ctx, "base model")
        return self._before

    def after(self, strategy: Any, ctx: Any) -> dict[str, Any]:
        """details.probes for one fine-tuned strategy: each metric before, after, diff, CI."""
        tuned = tuned_model(strategy)
        if tuned is None or not self.items:
            return {"skipped": "no tuned model to probe" if self.items else "no probe items"}
        first = self._before is None
        base = self.before(ctx)
        run = self._run(tuned, ctx, strategy.name)
        out = metrics.compare(
            self.items, base.answers, run.answers, self.bootstrap_samples, self.seed
        )
        out["seconds"] = {"before": base.seconds, "after": run.seconds, "before_cached": not first}
        return out

    def wrap(self, compute: Callable[[], Any], strategy: Any, ctx: Any) -> Callable[[], Any]:
        """A fine-tune's evaluation plus its probes, while its tuned model is still loaded
        (so a resumed run's cached result keeps its probes too)."""
        if not strategy.trains:
            return compute

        def evaluate_and_probe() -> Any:
            result = compute()
            result.details["probes"] = self.after(strategy, ctx)
            return result

        return evaluate_and_probe

    def describe(self) -> dict[str, Any]:
        """Top-level results["probes"]: what was probed and the base model's scores."""
        sizes = {kind: sum(1 for i in self.items if i.kind == kind) for kind in KINDS}
        return {
            "instruction": PROBE_INSTRUCTION,
            "items": sizes,
            "custom_items": sum(1 for i in self.items if i.source.startswith("probes.jsonl")),
            "quick": self.quick,
            "max_new_tokens": self.cfg.max_new_tokens,
            "base": metrics.summary(self.items, self._before.answers) if self._before else None,
            "base_seconds": self._before.seconds if self._before else None,
            "note": self.note,
        }
