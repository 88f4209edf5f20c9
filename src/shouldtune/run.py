"""A whole run: validate the task and plan, evaluate every strategy, decide, write results."""

from __future__ import annotations

import gc
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from . import __version__, resume, strategies
from .core.cost import Prices, cost_report
from .core.errors import AuditBlocked, InputError
from .core.fileio import atomic_write_json
from .core.metrics import load_scorer
from .core.taskio import load_task
from .core.types import SCHEMA_VERSION, SkippedStrategy, StrategyResult, Task
from .core.verdict import decide
from .progress import NullProgress, Progress

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
    device: str = "auto"  # --device auto|cpu|cuda|mps (the runner's choice, not task.yaml's)
    dtype: str = "auto"  # --dtype auto|float32|bfloat16|float16
    engine: str = "auto"  # --engine auto|vllm|transformers: who generates for the local model


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


def default_out_dir(task: Task) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{task.name}-{stamp}"


def run_task(task_dir: str | Path, opts: RunOptions) -> dict[str, Any]:
    task = load_task(task_dir)
    if opts.quick:
        task.test = task.test[:QUICK_MAX_TEST]
    the_plan = plan(task, opts.only, opts.candidates)
    scorer = load_scorer(task.metric, task.root)
    from .models import device, memory, vllm_engine
    from .models.bundled import resolve_model

    hardware = device.select(opts.device, opts.dtype)  # bad --device/--dtype: exit 2, no work
    engine = vllm_engine.resolve_engine(opts.engine, hardware)
    memory.clear()
    backend = _backend(task, opts)

    model_name, model_dir = resolve_model(opts.model or task_model(task))
    audit = audit_task(task, model_dir, opts.allow_audit_failures)
    identity = resume.run_identity(task, model_name, model_dir, opts, backend)
    identity["hardware"] = [str(hardware.device.type), device.dtype_name(hardware.dtype), engine]
    out_dir = (
        opts.out_dir
        or resume.unfinished_run(Path("runs"), task.name, identity)
        or default_out_dir(task)
    )
    # Work in a hidden sibling folder; it becomes out_dir only when the run completes.
    work = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cache = resume.RunCache(out_dir, identity, opts.progress)  # strategies an earlier try did
    results = _execute(
        the_plan, opts, model_name, model_dir, scorer, work, backend, cache=cache, engine=engine
    )
    results["audit"] = audit.to_json()
    results["backend"] = backend.describe() if backend else None
    from .report import write_reports

    atomic_write_json(work / "results.json", results)
    write_reports(results, work)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    work.rename(out_dir)
    cache.remove()
    return results


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


def _execute(
    the_plan: Plan,
    opts: RunOptions,
    model_name: str,
    model_dir: Path,
    scorer: Any,
    work: Path,
    backend: Any = None,
    cache: Any = None,
    engine: str = "transformers",
) -> dict[str, Any]:
    from .eval.evaluate import evaluate
    from .eval.measure import with_gpu_peak
    from .models import device, memory, vllm_engine
    from .probes.session import ProbeSession
    from .retrieval.embed import MiniLMEmbedder
    from .strategies.base import RunContext

    task, started = the_plan.task, time.perf_counter()
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
    )
    cfg = task.config.eval
    latency_n = QUICK_LATENCY_SAMPLES if opts.quick else cfg.latency_samples
    results: list[StrategyResult] = []
    # Hallucination/forgetting probes: SliCK before any training, probes after each fine-tune.
    probes = ProbeSession.for_plan(
        task, [s.kind for _, s in the_plan.run], opts.quick, opts.seed, cfg.bootstrap_samples
    )
    knowledge = probes.knowledge(ctx, scorer) if probes else None
    while the_plan.run:  # pop, so a tuned model is freed before the next strategy starts
        _name, strategy = the_plan.run.pop(0)
        compute = partial(evaluate, strategy, ctx, scorer, work, latency_n, cfg.bootstrap_samples)
        compute = with_gpu_peak(compute, device.current().device)
        compute = probes.wrap(compute, strategy, ctx) if probes else compute
        results.append(cache.evaluate(strategy, ctx, compute) if cache else compute())
        del strategy
        gc.collect()
    params = ctx._lm.parameters if ctx._lm else (cache and cache.model_parameters)
    prices = Prices.from_config(getattr(task.config, "cost", None))
    costs = cost_report(results, len(task.test), params, prices, remote=backend is not None)
    verdict = decide(results, seed=opts.seed, costs=costs)
    verdict.reasons += probes.verdict_notes(knowledge, results) if probes else []
    return {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "shouldtune_version": __version__,
        "task": {
            "name": task.name,
            "description": task.description,
            "n_train": len(task.train),
            "n_test": len(task.test),
            "metric": task.metric,
            "test_is_split": task.test_is_split,
            "n_docs": len(task.docs),
        },
        "model": {
            "name": model_name,
            # All strategies cached: the model was never loaded; its size was recorded.
            "parameters": params,
            "hardware": {
                **device.describe(),
                "engine": engine,
                "oom_backoffs": memory.events(),
            },
        },
        "run": {
            "seed": opts.seed,
            "quick": opts.quick,
            "wall_seconds": round(time.perf_counter() - started, 1),
        },
        "verdict": asdict(verdict),
        "strategies": [
            {**r.to_json(), "cost": costs.per_strategy[r.name].to_json()} for r in results
        ],
        "cost": costs.to_json(results, verdict.recommended),
        "skipped": [asdict(s) for s in the_plan.skipped],
        "knowledge": knowledge,
        "probes": probes.describe() if probes else None,
        "audit": None,
    }
