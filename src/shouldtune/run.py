"""A whole run: validate the task and plan, evaluate every strategy, decide, write results."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from . import resume, strategies
from .core.cost import Prices
from .core.errors import AuditBlocked, InputError
from .core.metrics import Metric, load_metric
from .core.needs import Needs, with_overrides
from .core.outdir import check_run_paths
from .core.taskio import load_task
from .core.types import SkippedStrategy, StrategyRun, Task
from .progress import NullProgress, Progress
from .results import RunRecord, Scoring, build_results, publish, work_folder

QUICK_MAX_TEST = 30
QUICK_LATENCY_SAMPLES = 2


@dataclass
class RunOptions:
    out_dir: Path | None = None
    only: list[str] | None = None
    model: str | None = None
    seed: int = 0
    quick: bool = False
    allow_audit_failures: bool = False
    progress: Progress = field(default_factory=NullProgress)
    candidates: list[str] = field(default_factory=list)  # --candidate: other models, zero-shot
    backend_url: str | None = None  # a served model for the prompting strategies
    backend_model: str | None = None
    backend_key_env: str | None = None
    needs: dict[str, Any] = field(default_factory=dict)  # command-line overrides of needs:
    device: str = "auto"  # --device auto|cpu|cuda|mps (the runner's choice, not task.yaml's)
    dtype: str = "auto"  # --dtype auto|float32|bfloat16|float16
    engine: str = "auto"  # --engine auto|vllm|transformers: who generates for the local model
    # Know the cost first (estimate/): `on_estimate` gets the plan's estimate before any work;
    # `plan_only` (--plan) validates, audits and estimates, then returns {"plan": ...}.
    plan_only: bool = False
    on_estimate: Callable[[Any], None] | None = None


@dataclass
class Plan:
    task: Task
    run: list[tuple[str, Any]]
    skipped: list[SkippedStrategy]


def plan(task: Task, only: list[str] | None, candidates: list[str] | None = None) -> Plan:
    """Validate strategy names and options up front: bad input fails before any work."""
    source = str(task.root / "task.yaml")
    for name in task.config.options:
        strategies.check_name(name, f"{source} (options)")
    for name in task.config.strategies or []:
        strategies.check_name(name, f"{source} (strategies)")
    for name in only or []:
        strategies.check_name(name, "--only")
    names = only or task.config.strategies or strategies.names()
    chosen, skipped = [], []
    for name in dict.fromkeys(names):
        strategy = strategies.create(name, task.config.options.get(name), source)
        reason = strategy.skip_reason(task)
        if reason:
            skipped.append(SkippedStrategy(name, reason))
        else:
            chosen.append((name, strategy))
    if candidates:  # dynamic strategies, one per model: not in the registry
        from .strategies.candidate import candidates as make_candidates

        chosen += [(c.name, c) for c in make_candidates(candidates, {n for n, _ in chosen})]
    if not chosen:
        raise InputError(
            "no strategy applies to this task: "
            + "; ".join(f"{s.name}: {s.reason}" for s in skipped),
            source,
        )
    return Plan(task, chosen, skipped)


def quick_test(task: Task, seed: int) -> list:
    """--quick's test rows: a seeded sample, stratified by label for a label task."""
    from .audit.labels import is_label_like
    from .core.splits import quick_sample

    by_label = bool(task.train) and is_label_like(task.train)
    return quick_sample(task.test, QUICK_MAX_TEST, seed, by_label)


def default_out_dir(task: Task) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{task.name}-{stamp}"


def run_task(task_dir: str | Path, opts: RunOptions) -> dict[str, Any]:
    """Validate everything, audit, run each strategy (cached), then score and decide."""
    task = load_task(task_dir)
    check_run_paths(task, opts)  # the output folder and the task's text, before any work
    if opts.quick:
        task.test = quick_test(task, opts.seed)
    the_plan = plan(task, opts.only, opts.candidates)
    metric = load_metric(task.metric, task.root)
    metric.preflight([ex.output for ex in task.test], [ex.source for ex in task.test])
    needs = with_overrides(Needs.from_config(task.config.needs), opts.needs)
    for note in task.config.notes:
        opts.progress.log(note)
    from .models import device, memory, vllm_engine
    from .models.bundled import resolve_model

    hardware = device.select(opts.device, opts.dtype)  # bad --device/--dtype: exit 2, no work
    engine = vllm_engine.resolve_engine(opts.engine, hardware)
    memory.clear()
    backend = _backend(task, opts)

    model_name, model_dir = resolve_model(opts.model or task_model(task))
    audit = audit_task(task, model_dir, opts.allow_audit_failures)
    estimate = None
    if opts.plan_only or opts.on_estimate is not None:
        estimate = estimate_plan(the_plan, model_name, model_dir, opts, backend)
        if opts.on_estimate is not None:
            opts.on_estimate(estimate)
        if opts.plan_only:
            return {"plan": estimate.to_json()}
    identity = resume.run_identity(task, model_name, model_dir, opts, backend)
    identity["hardware"] = [str(hardware.device.type), device.dtype_name(hardware.dtype), engine]
    out_dir = (
        opts.out_dir
        or resume.unfinished_run(Path("runs"), task.name, identity)
        or default_out_dir(task)
    )
    work = work_folder(out_dir)  # becomes out_dir only when the run completes
    cache = resume.RunCache(out_dir, identity, opts.progress)  # strategies an earlier try did
    started = time.perf_counter()
    executed = _execute(
        the_plan, opts, model_name, model_dir, metric, work, backend, cache, engine=engine,
        audit=audit.to_json(),
    )  # fmt: skip
    record = RunRecord(
        task=task_info(task),
        test=list(task.test),
        model={
            "name": model_name,
            "parameters": executed.parameters,
            "hardware": {
                **device.describe(),
                "engine": engine,
                "oom_backoffs": memory.events(),
            },
        },
        run={
            "seed": opts.seed,
            "quick": opts.quick,
            "wall_seconds": round(time.perf_counter() - started, 1),
            "bootstrap_samples": task.config.eval.bootstrap_samples,
            **({"estimate": estimate.summary()} if estimate is not None else {}),
        },
        runs=executed.runs,
        audit=audit.to_json(),
        knowledge=executed.knowledge,
        probes=executed.probes,
        skipped=[asdict(s) for s in the_plan.skipped],
        backend=backend.describe() if backend else None,
        remote=backend is not None,
        notes=task.config.notes,
    )
    scoring = Scoring(
        metric,
        needs,
        Prices.from_config(task.config.cost, needs.requests_per_day),
        task.config.eval.bootstrap_samples,
    )
    opts.progress.stage("verdict", "scoring")
    results = build_results(record, scoring, work)
    publish(results, work, out_dir)
    cache.remove()
    return results


def estimate_plan(
    the_plan: Plan, model_name: str, model_dir: Path, opts: RunOptions, backend: Any
) -> Any:
    """The plan's work and its time on this machine (a short calibration, then cached)."""
    from .estimate import Settings, estimate_run

    opts.progress.stage("plan", "measuring speed")
    cfg = the_plan.task.config.eval
    latency_n = QUICK_LATENCY_SAMPLES if opts.quick else cfg.latency_samples
    settings = Settings(opts.quick, opts.seed, latency_n)
    return estimate_run(the_plan, model_name, model_dir, settings, backend)


def task_info(task: Task) -> dict[str, Any]:
    return {
        "name": task.name,
        "description": task.description,
        "root": str(task.root.resolve()),
        "n_train": len(task.train),
        "metric": task.metric,
        "test_is_split": task.test_is_split,
        "n_docs": len(task.docs),
    }


def task_model(task: Task) -> str | None:
    """task.yaml may name a bundled model or a folder inside the task folder, nothing else:
    a task is data and must not point the run at files elsewhere (--model may)."""
    from .models.bundled import BUNDLED

    name = task.config.model
    if name is None or name in BUNDLED:
        return name
    root = task.root.resolve()
    path = (root / name).resolve()
    if root not in path.parents:
        raise InputError(
            f"model {name!r} must be a bundled model or a folder inside the task folder"
            " (pass other folders with --model)",
            task.root / "task.yaml",
        )
    return str(path)


def audit_task(task: Task, model_dir: Path, allow_failures: bool) -> Any:
    """Garbage in, garbage out: audit the data with the model's own tokenizer first."""
    import json

    from transformers import AutoTokenizer

    from .audit import run_audit

    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
    config = json.loads((model_dir / "config.json").read_text())
    report = run_audit(
        task.train,
        task.test,
        count_tokens=lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]),
        context_length=config.get("max_position_embeddings"),
        instruction=task.instruction,
        docs=task.docs,
    )
    if report.blocking and not allow_failures:
        found = "; ".join(f"{f.check} ({f.count}): {f.message}" for f in report.blocking)
        raise AuditBlocked(
            report,
            f"the data audit found blocking problems: {found}. "
            "Fix the data, or rerun with --allow-audit-failures to go on anyway.",
        )
    return report


def _lora_ranks(the_plan: Plan) -> list[int]:
    """Ranks of the LoRA adapters the plan trains (vLLM reserves room for the largest)."""
    found = (getattr(s, "options", None) for _, s in the_plan.run)
    return [o.rank for o in found if isinstance(getattr(o, "rank", None), int)]


def _backend(task: Task, opts: RunOptions) -> Any:
    """The served model the prompting strategies use, if any; checked before any work."""
    from .models.openai_backend import backend_for

    backend = backend_for(
        task.config.backend, opts.backend_url, opts.backend_model, opts.backend_key_env
    )
    if backend is not None:
        backend.check()
    return backend


@dataclass
class Executed:
    """What running the plan produced: unscored runs, SliCK and probe facts, model size."""

    runs: list[StrategyRun]
    knowledge: dict[str, Any] | None
    probes: dict[str, Any] | None
    parameters: int | None


def _execute(
    the_plan: Plan,
    opts: RunOptions,
    model_name: str,
    model_dir: Path,
    metric: Metric,
    work: Path,
    backend: Any,
    cache: resume.RunCache,
    engine: str = "transformers",
    audit: Any = None,
) -> Executed:
    from .eval.evaluate import evaluate
    from .eval.measure import with_gpu_peak
    from .models import device, vllm_engine
    from .probes.session import ProbeSession
    from .retrieval.embed import MiniLMEmbedder
    from .strategies.base import RunContext

    task = the_plan.task
    lora_rank = vllm_engine.lora_rank_limit(_lora_ranks(the_plan))  # before the plan is popped
    ctx = RunContext(
        task=task,
        seed=opts.seed,
        quick=opts.quick,
        work_dir=work,
        progress=opts.progress,
        lm_loader=vllm_engine.loader(model_name, model_dir, engine, opts.seed, lora_rank),
        embedder_loader=MiniLMEmbedder,
        backend_loader=(lambda: backend) if backend is not None else None,
        score_row=partial(_dev_score, metric),  # tuning on dev only: never a test row
    )
    for _name, strategy in the_plan.run:
        strategy.check(ctx)
    cfg = task.config.eval
    latency_n = QUICK_LATENCY_SAMPLES if opts.quick else cfg.latency_samples
    hosted = backend is not None and is_remote(backend.describe().get("base_url", ""))
    runs: list[StrategyRun] = []
    # Hallucination/forgetting probes: SliCK before any training, probes after each fine-tune.
    probes = ProbeSession.for_plan(
        task, [s.trains for _, s in the_plan.run], opts.quick, opts.seed, cfg.bootstrap_samples
    )
    knowledge = probes.knowledge(ctx, metric.score_row) if probes else None
    timed = _LatencyRounds(ctx, task.test[:latency_n], cache, opts.seed)
    out = partial(_decided_out, task, metric, audit, cfg.bootstrap_samples, opts.seed)
    while the_plan.run:  # pop, so a tuned model too big to hold is freed before the next
        _name, strategy = the_plan.run.pop(0)
        traits = strategy.traits(hosted_backend=hosted)
        compute = partial(evaluate, strategy, ctx, latency_n, traits, timed.wanted)
        compute = with_gpu_peak(compute, device.current().device)
        compute = probes.wrap(compute, strategy, ctx, out) if probes else compute
        ctx.checkpoint_dir = cache.checkpoints(cache.key(strategy))
        run, reused = cache.evaluate(strategy, work, opts.seed, compute, pending=timed.wanted)
        ctx.checkpoint_dir = None
        untimed = reused and cache.is_pending(cache.key(strategy))
        if untimed:
            timed.revive(strategy)  # answered before a kill, not yet timed
        if not reused or untimed:
            run = timed.hold_or_time(strategy, run, len(runs))
        runs.append(run)
        del strategy
        gc.collect()
    timed.round_robin(runs)
    if not opts.quick:
        _more_seeds(runs, ctx, metric, audit, opts.seed)
    loaded = ctx.loaded_lm
    params = loaded.parameters if loaded is not None else cache.model_parameters
    cache.remember_parameters(params)
    return Executed(runs, knowledge, probes.describe() if probes else None, params)


class _LatencyRounds:
    """Single-request latency for the strategies a run answered with (eval/latency.py): held
    alive and timed round-robin after the last one, or, for one too big to hold beside the
    others, timed alone at once. Each run's resume entry stays pending until timed."""

    def __init__(self, ctx: Any, examples: list, cache: resume.RunCache, seed: int):
        self.ctx, self.examples, self.cache, self.seed = ctx, examples, cache, seed
        self.wanted = bool(examples)
        self.held: list[tuple[int, Any]] = []  # (index in runs, strategy)

    def revive(self, strategy: Any) -> None:
        """A strategy whose cached answers were never timed, ready to serve again: restored
        from what it saved (`Strategy.restore`), else prepared again."""
        if not self.wanted or strategy.restore(self.ctx):
            return
        self.ctx.progress.log(f"{strategy.name}: prepared again to time its requests")
        strategy.prepare(self.ctx)

    def hold_or_time(self, strategy: Any, run: StrategyRun, index: int) -> StrategyRun:
        from .eval import latency
        from .models import device

        if not self.wanted:
            return run
        if latency.can_hold(strategy, latency.free_bytes(device.current().device)):
            self.held.append((index, strategy))
            return run
        run = latency.with_samples(
            run, latency.solo(strategy, self.ctx, self.examples), self.seed, "alone"
        )
        self.cache.finish(self.cache.key(strategy), run)
        return run

    def round_robin(self, runs: list[StrategyRun]) -> None:
        from .eval import latency

        if not self.held:
            return
        strategies = [s for _, s in self.held]
        seconds = latency.round_robin(strategies, self.ctx, self.examples, self.seed)
        for index, strategy in self.held:
            runs[index] = latency.with_samples(
                runs[index], seconds[strategy.name], self.seed, "round-robin"
            )
            self.cache.finish(self.cache.key(strategy), runs[index])
        self.held.clear()


def _decided_out(
    task: Task, metric: Metric, audit: Any, n_resamples: int, seed: int, run: StrategyRun
) -> str | None:
    """Why `run`'s clean test answers rule it out under any needs: the floor every need keeps
    (better than nothing, core/decision.py), scored with the run's metric and bootstrap."""
    from .core.decision import Option, quality_reasons
    from .core.needs import Needs
    from .core.scoring import TestSplit, quality

    clean = TestSplit.from_audit(audit, len(task.test)).clean
    scores = [
        metric.score_row(run.generations[i].text, task.test[i].output, task.test[i].source)
        for i in clean
    ]
    q = quality(metric.name, scores, n_resamples, seed)  # as results.json will say it
    why = quality_reasons(Option(run.name, q.score, q.ci_low, q.ci_high), Needs())
    return why[0] if why else None


def _more_seeds(runs: list[StrategyRun], ctx: Any, metric: Metric, audit: Any, seed: int) -> None:
    """Close calls (seeds.py): a fine-tune within its interval of the best alternative is
    trained on more seeds; their test answers go into its details, scored with the rest."""
    from . import seeds
    from .core.scoring import TestSplit

    task = ctx.task
    split = TestSplit.from_audit(audit, len(task.test))
    n = task.config.eval.bootstrap_samples
    for name in seeds.close_calls(runs, task.test, metric, split, n, seed):
        if name not in strategies.REGISTRY:
            continue
        run = next(r for r in runs if r.name == name)
        strategy = strategies.create(name, task.config.options.get(name), str(task.root))
        extra = [seed + i for i in range(1, seeds.EXTRA_SEEDS + 1)]
        run.details["seeds"] = seeds.seed_answers(strategy, ctx, run, extra)
        del strategy
        gc.collect()


def _dev_score(metric: Metric, predicted: str, expected: str) -> float:
    return metric.score_row(predicted, expected, "a dev row (the prompt search)")


def is_remote(url: str) -> bool:
    """A served model on another machine: requests leave this one (needs.self_hosted)."""
    from urllib.parse import urlparse

    host = (urlparse(url).hostname or "").lower()
    local = host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.")
    return bool(host) and not local
