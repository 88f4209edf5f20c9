"""A run's probes: SliCK once before training, base-model probes once, tuned models after.

run.py creates one ProbeSession when a fine-tune is planned; it calls `knowledge()` before
the first strategy (so the warning comes before any training) and `after()` for each trained
strategy once it is trained. The base model's probe answers and likelihoods, and SliCK's raw
answers, come from the on-disk cache (probes/cache.py) when this model already answered the
same items with the same settings, else they are computed once and stored.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..contract import RunContext, Strategy
from ..core.types import Task
from ..models.likelihood import OptionScore, choose, option_logprobs
from . import cache, metrics, slick
from .datakind import data_kind
from .items import KINDS, ProbeItem, probe_items
from .runner import CORRECT_AT, PROBE_INSTRUCTION, ModelOracle, answer_questions

LIKELIHOOD_NORM = "bytes"  # lm-eval's acc_norm: log-likelihood divided by the option's bytes
# --quick (or probes.quick): a fast look at a small fraction of the default cost.
QUICK_ITEMS = 5
QUICK_SLICK = {"max_examples": 8, "prompts": 2, "samples": 0}


def tuned_model(strategy: Strategy) -> Any:
    """The fine-tuned LanguageModel a strategy serves (the contract's `tuned_model()`)."""
    return strategy.tuned_model()


def skips_slick(task: Task, kind: dict[str, Any]) -> bool:
    """SliCK finds facts the base model does not know: pointless on data that teaches a
    format (probes.slick.on_format turns it on anyway). The plan asks the same question."""
    return kind["data_kind"] == "format" and not task.config.probes.slick.on_format


def format_skip(kind: dict[str, Any]) -> dict[str, Any]:
    """The knowledge record of a skipped SliCK: the data kind and why nothing was measured."""
    return {
        "data_kind": kind["data_kind"],
        "data_kind_reason": kind["reason"],
        "data_kind_evidence": kind["evidence"],
        "skipped": "SliCK skipped: it looks for facts the base model does not know, and this"
        " data teaches a format (probes.slick.on_format: true runs it anyway)",
        "warning": None,
    }


@dataclass
class Measured:
    """One model's probe answers: generated texts, and per choice item its option scores."""

    answers: list[str]
    options: list[list[OptionScore]]
    seconds: float
    cached: bool = False

    @property
    def chosen(self) -> list[int]:
        return [choose(s, LIKELIHOOD_NORM) for s in self.options]

    def to_json(self) -> dict[str, Any]:
        rows = [[[s.logprob, s.tokens, s.bytes] for s in opts] for opts in self.options]
        return {"answers": self.answers, "options": rows, "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: dict[str, Any], cached: bool) -> Measured:
        options = [
            [OptionScore(float(a), int(b), int(c)) for a, b, c in o] for o in data["options"]
        ]
        return cls([str(a) for a in data["answers"]], options, float(data["seconds"]), cached)


class ProbeSession:
    def __init__(
        self,
        task: Task,
        quick: bool,
        seed: int = 0,
        bootstrap_samples: int = 2000,
        model_dir: Path | None = None,
    ):
        cfg = task.config.probes
        self.task, self.cfg, self.seed = task, cfg, seed
        self.quick = quick or cfg.quick
        self.bootstrap_samples = bootstrap_samples
        self.model_dir = model_dir  # the base model's folder: the cache key (else from ctx.lm)
        counts = {kind: getattr(cfg, kind) for kind in KINDS}
        if self.quick:
            counts = {k: min(n, QUICK_ITEMS) for k, n in counts.items()}
        self.note: str | None = None
        try:
            self.items: list[ProbeItem] = probe_items(counts, task.root)
        except FileNotFoundError as exc:  # a wheel install without data/: the task's own only
            self.note = str(exc)
            self.items = probe_items({}, task.root)
        self.choice_items = metrics.choice_items(self.items)
        self._before: Measured | None = None

    @classmethod
    def for_plan(
        cls,
        task: Task,
        trains: Sequence[bool],
        quick: bool,
        seed: int,
        bootstrap_samples: int,
        model_dir: Path | None = None,
    ) -> ProbeSession | None:
        """A session when probes are on and a strategy that trains is planned; else None.
        `trains`: each planned strategy's `trains` trait."""
        cfg = getattr(task.config, "probes", None)
        if cfg is None or not cfg.enabled or not any(trains):
            return None
        return cls(task, quick, seed, bootstrap_samples, model_dir)

    # --- SliCK ----------------------------------------------------------------------------

    def slick_settings(self) -> dict[str, Any]:
        s = self.cfg.slick
        settings = {"max_examples": s.max_examples, "prompts": s.prompts, "samples": s.samples}
        if self.quick:
            settings = {k: min(v, QUICK_SLICK[k]) for k, v in settings.items()}
        return settings

    def knowledge(
        self, ctx: RunContext, scorer: Callable[[str, str], float]
    ) -> dict[str, Any] | None:
        """SliCK on a seeded sample of the training data, and whether the data teaches a
        format or facts; logs the warning (facts only) before training."""
        s = self.cfg.slick
        if not s.enabled:
            return None
        t0 = time.perf_counter()
        settings, train = self.slick_settings(), self.task.train
        kind = data_kind(train)
        if skips_slick(self.task, kind):
            return format_skip(kind)
        n = min(settings["max_examples"], len(train))
        analysed = sorted(random.Random(self.seed).sample(range(len(train)), n))
        raw, hit = self._slick_raw(ctx, analysed, settings)
        expected = [train[i].output for i in analysed]
        stored = {
            "data_kind": kind["data_kind"],
            "data_kind_reason": kind["reason"],
            "data_kind_evidence": kind["evidence"],
            "analysed": analysed,  # indices into the task's train list: `raw` is in this order
            "raw": raw,
            # What scoring needs to re-categorise `raw` under another metric (results.py).
            "expected": expected,
            "sources": [train[i].source for i in analysed],
            "warn_unknown_share": s.warn_unknown_share,
            "correct_at": CORRECT_AT,
            "shots": s.shots,
            "temperature": s.temperature,
            "quick": self.quick,
            "cached": hit,
            "seconds": round(time.perf_counter() - t0, 2),
        }
        result = slick.recategorize(stored, scorer)
        if result["warning"]:
            ctx.progress.log(f"warning: {result['warning']}")
        return result

    def _slick_raw(
        self, ctx: RunContext, analysed: list[int], settings: dict[str, Any]
    ) -> tuple[slick.Raw, bool]:
        s, gen, train = self.cfg.slick, self.task.config.generation, self.task.train
        prompts, samples = settings["prompts"], settings["samples"]

        def compute() -> slick.Raw:
            ctx.progress.stage("knowledge", "SliCK", total=len(analysed) * (prompts + samples))
            oracle = ModelOracle(
                ctx.lm, self.task.instruction, train, analysed, lambda a, b: 0.0, s.shots,
                self.seed, gen.max_new_tokens, gen.batch_size, s.temperature,
                ctx.progress.advance, tuple(gen.stop),
            )  # fmt: skip
            return slick.collect(len(analysed), oracle.texts, prompts, samples)

        payload = {
            "instruction": self.task.instruction,
            "train": [[e.input, e.output, e.system] for e in train],
            "analysed": analysed,
            "settings": [prompts, samples, s.shots, s.temperature, self.seed],
            "generation": [gen.max_new_tokens, gen.batch_size, list(gen.stop)],
        }

        def valid(raw: Any) -> bool:
            return (
                isinstance(raw, list)
                and len(raw) == len(analysed)
                and all(
                    len(r["greedy"]) == prompts
                    and len(r["samples"]) == samples
                    and all(isinstance(t, str) for t in r["greedy"] + r["samples"])
                    for r in raw
                )
            )

        return cache.cached(self._model_dir(ctx), "slick", payload, compute, valid)

    # --- probes before and after -----------------------------------------------------------

    def _model_dir(self, ctx: RunContext) -> Path | None:
        return self.model_dir or cache.model_dir_of(ctx.lm)

    def _measure(self, lm: Any, ctx: RunContext, label: str) -> Measured:
        cfg = self.cfg
        ctx.progress.stage("probes", label, total=len(self.items) + len(self.choice_items))
        t0 = time.perf_counter()
        answers = answer_questions(
            lm, [i.question for i in self.items], cfg.max_new_tokens, cfg.batch_size,
            ctx.progress.advance,
        )  # fmt: skip
        options: list[list[OptionScore]] = []
        if self.choice_items:
            items = self.choice_items
            prompts = [_probe_prompt(i.question) for i in items]
            options = option_logprobs(
                lm, prompts, [i.options for i in items], cfg.batch_size, [i.stem for i in items]
            )
            ctx.progress.advance(len(self.choice_items))
        return Measured(answers, options, round(time.perf_counter() - t0, 2))

    def before(self, ctx: RunContext) -> Measured:
        """The base model's answers and likelihoods: from the cache, else measured once."""
        if self._before is not None:
            return self._before
        cfg = self.cfg
        payload = {
            "instruction": PROBE_INSTRUCTION,
            "items": [
                [i.kind, i.question, list(i.answers), list(i.options), i.stem] for i in self.items
            ],  # fmt: skip
            "generation": [cfg.max_new_tokens, cfg.batch_size],
            "norm": LIKELIHOOD_NORM,
        }
        n_items, n_choice = len(self.items), len(self.choice_items)

        def valid(data: Any) -> bool:
            m = Measured.from_json(data, True)
            return len(m.answers) == n_items and len(m.options) == n_choice

        t0 = time.perf_counter()
        data, hit = cache.cached(
            self._model_dir(ctx), "base-probes", payload,
            lambda: self._measure(ctx.lm, ctx, "base model").to_json(), valid,
        )  # fmt: skip
        self._before = Measured.from_json(data, hit)
        if hit:  # what this run spent: reading the cache
            self._before.seconds = round(time.perf_counter() - t0, 2)
        return self._before

    def after(self, strategy: Strategy, ctx: RunContext) -> dict[str, Any]:
        """details.probes for one trained strategy: each metric before, after, diff, CI."""
        tuned = tuned_model(strategy)
        if tuned is None or not self.items:
            return {"skipped": "no tuned model to probe" if self.items else "no probe items"}
        first = self._before is None
        base = self.before(ctx)
        run = self._measure(tuned, ctx, strategy.name)
        out = metrics.compare(
            self.items, base.answers, run.answers, self.bootstrap_samples, self.seed,
            base.chosen if self.choice_items else None,
            run.chosen if self.choice_items else None,
        )  # fmt: skip
        # before_cached: this fine-tune did not pay for the base answers (computed for an earlier
        # fine-tune of the run, or read from the disk cache: before_from_disk).
        out["seconds"] = {
            "before": base.seconds,
            "after": run.seconds,
            "before_cached": base.cached or not first,
            "before_from_disk": base.cached,
        }
        return out

    def wrap(
        self,
        compute: Callable[[], Any],
        strategy: Strategy,
        ctx: RunContext,
        decided_out: Callable[[Any], str | None] | None = None,
    ) -> Callable[[], Any]:
        """A fine-tune's evaluation plus its probes, while its tuned model is still loaded
        (so a resumed run's cached result keeps its probes too). `decided_out(run)`: why its
        answers already rule it out whatever the others score (then the probes, which can
        only weigh against a fine-tune the verdict might choose, are skipped)."""
        if not strategy.trains:
            return compute

        def evaluate_and_probe() -> Any:
            result = compute()
            why = decided_out(result) if decided_out is not None else None
            if why:
                ctx.progress.log(f"{strategy.name}: probes skipped, {why}")
                result.details["probes"] = {"skipped": f"not run: {why}"}
            else:
                result.details["probes"] = self.after(strategy, ctx)
            return result

        return evaluate_and_probe

    def describe(self) -> dict[str, Any]:
        """Top-level results["probes"]: what was probed and the base model's scores."""
        sizes = {kind: sum(1 for i in self.items if i.kind == kind) for kind in KINDS}
        base = self._before
        return {
            "instruction": PROBE_INSTRUCTION,
            "items": sizes,
            "choice_items": len(self.choice_items),
            "likelihood": "option with the highest log-likelihood per byte of the option"
            " (lm-evaluation-harness acc_norm)",
            "custom_items": sum(1 for i in self.items if i.source.startswith("probes.jsonl")),
            "quick": self.quick,
            "max_new_tokens": self.cfg.max_new_tokens,
            "base": metrics.summary(self.items, base.answers, base.chosen if base.options else None)
            if base
            else None,
            "base_seconds": base.seconds if base else None,
            "base_cached": base.cached if base else None,
            "note": self.note,
        }


def _probe_prompt(question: str) -> list[dict[str, str]]:
    from ..core.prompts import chat

    return chat(PROBE_INSTRUCTION, question)
