"""Know the cost before paying it: what a planned run will compute, and how long that takes on
this machine, from a short measurement of the run's own model and code here.

    est = estimate_run(plan, model_name, model_dir, Settings(quick, seed, latency_samples))
    print("\\n".join(plan_lines(est)))

`workload` counts (tokens, batches, requests; tokenizer only), `speed` measures (cached),
`timing` multiplies. The estimate says what it measured and what it assumed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..contract import Strategy
from .speed import Request, Speeds, speeds_for
from .timing import Estimate, StrategyEstimate, combine
from .workload import (
    FineTuneWork,
    Settings,
    Tokens,
    Workload,
    baseline,
    candidate,
    fine_tune,
    knn_few_shot,
    probes_work,
    prompting,
    retrieval,
    tools_or_pipeline,
)

__all__ = ["Estimate", "Settings", "StrategyEstimate", "estimate_run", "plan_lines"]


def workload_for(
    strategy: Strategy, task: Any, tok: Tokens, s: Settings, model_bytes: int
) -> Workload | FineTuneWork:
    """The work of one planned strategy, by what it is (the contract has no workload hook),
    with the prompting strategies' search on dev."""
    from ..strategies.few_shot import FewShot
    from ..strategies.rag import Rag
    from ..strategies.zero_shot import ZeroShot

    work = _work(strategy, task, tok, s, model_bytes)
    if isinstance(work, Workload) and isinstance(strategy, ZeroShot | FewShot | Rag):
        from .search_work import search_job

        return search_job(strategy, work, task, tok, s)
    return work


def _work(
    strategy: Strategy, task: Any, tok: Tokens, s: Settings, model_bytes: int
) -> Workload | FineTuneWork:
    from ..core.prompts import chat, few_shot
    from ..strategies.baseline import Baseline
    from ..strategies.candidate import Candidate
    from ..strategies.few_shot import FewShot
    from ..strategies.finetuned import FineTuneStrategy
    from ..strategies.pipeline import Pipeline
    from ..strategies.rag import Rag
    from ..strategies.tools import Tools
    from ..strategies.zero_shot import ZeroShot

    name, kind = strategy.name, str(strategy.kind)
    if isinstance(strategy, FineTuneStrategy):
        return fine_tune(strategy, task, tok, s)
    if isinstance(strategy, Baseline):
        return baseline(name, kind, task)
    if isinstance(strategy, Candidate):
        return candidate(strategy, model_bytes, task, tok, s)
    if isinstance(strategy, ZeroShot):
        convos = [chat(task.instruction, ex.input, ex.system) for ex in task.test]
        return prompting(name, kind, convos, task, tok, s)
    if isinstance(strategy, FewShot) and strategy.options.selection == "random":
        import random

        k = min(strategy.options.k, len(task.train))
        shots = random.Random(s.seed).sample(list(task.train), k)  # as FewShot.prepare draws
        convos = [few_shot(task.instruction, shots, ex) for ex in task.test]
        return prompting(name, kind, convos, task, tok, s, demonstrated=k > 0)
    if isinstance(strategy, FewShot):
        return knn_few_shot(name, kind, strategy.options.k, task, tok, s)
    if isinstance(strategy, Rag):
        return retrieval(name, kind, strategy.options, task, tok, s)
    if isinstance(strategy, Tools | Pipeline):
        return tools_or_pipeline(name, kind, task, tok, s)
    return Workload(name, kind, not_estimated="no workload model for this kind of strategy")


def _uses_lm(work: Workload | FineTuneWork) -> bool:
    w = work.workload if isinstance(work, FineTuneWork) else work
    return bool(w.gen or w.train)


def build_request(
    model_name: str,
    model_dir: Path,
    works: Sequence[Workload | FineTuneWork],
    strategies: dict[str, Any],
    task: Any,
    tok: Tokens,
    seed: int,
) -> Request:
    """What to time: real test prompts at the task's batch size, one batch of each
    fine-tune's own training samples, the embedder when a strategy embeds."""
    from ..core.prompts import chat

    gen = task.config.generation
    convos = [chat(task.instruction, ex.input, ex.system) for ex in task.test[: gen.batch_size]]
    req = Request(model_name, Path(model_dir), tok.lengths(convos), gen.batch_size, seed=seed)
    for work in works:
        if isinstance(work, FineTuneWork) and work.calibration_batch:
            name = work.workload.name
            req.train[name] = (strategies[name], work.calibration_batch)
        w = work.workload if isinstance(work, FineTuneWork) else work
        if (w.embed_texts or w.embed_calls) and not req.embed_texts:
            req.embed_texts = [ex.input for ex in task.train[:64]] or ["a query"]
        if w.baseline_rows and req.baseline is None:
            req.baseline = (strategies[w.name], task)
    return req


def estimate_run(
    plan: Any,
    model_name: str,
    model_dir: str | Path,
    settings: Settings,
    backend: Any = None,
    measure: Callable[[Request], Speeds] | None = None,
) -> Estimate:
    """The plan's workload, timed with this machine's measured speed (cached per model,
    machine, code and load band). `measure`: replaces the calibration (tests)."""
    from transformers import AutoTokenizer

    task = plan.task
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
    tok = Tokens(tokenizer, model_name)
    model_bytes = sum(p.stat().st_size for p in Path(model_dir).glob("*.safetensors"))
    strategies = dict(plan.run)
    works = [workload_for(s, task, tok, settings, model_bytes) for _, s in plan.run]
    probes = probes_work(task, [s.trains for _, s in plan.run], tok, settings)
    served = [n for n, s in plan.run if backend is not None and s.uses_run_model]
    local = [w for w in works if _uses_lm(w) and _name(w) not in served]
    if not local and probes.base is None and not probes.slick:
        speeds = Speeds(0.0, 0.0, {1: 0.0}, 0.0, basis={"measured": [], "cached": False})
        # (a no-LLM plan: nothing worth a calibration; the baseline's rule of thumb stands)
    else:
        folder = Path(model_dir)
        req = build_request(model_name, folder, works, strategies, task, tok, settings.seed)
        speeds = measure(req) if measure else speeds_for(req)
    skipped = [(s.name, s.reason) for s in plan.skipped]
    first_lm = _name(local[0]) if local else None
    estimate = combine(works, probes, speeds, skipped, served, first_lm)
    estimate.title = f"{task.name} on {model_name}"
    estimate.assumptions.insert(0, _dev_line(task, settings.seed))
    return estimate


def _dev_line(task: Any, seed: int) -> str:
    """The one dev split, as the plan states it."""
    from ..core.splits import DEV_FRACTION, dev_split

    _, dev = dev_split(task.train, DEV_FRACTION, seed)
    return (
        f"every strategy tunes on one dev split: {len(dev)} of {len(task.train)} training rows"
        f" (seed {seed}): the prompt search and the fine-tunes' sweep and early stopping; the"
        " test set is read once, for the scores"
    )


def _name(work: Workload | FineTuneWork) -> str:
    return work.workload.name if isinstance(work, FineTuneWork) else work.name


# ---- rendering -------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """'45 s', '3 min 05 s', '1 h 02 min'."""
    s = round(seconds)
    if s < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def plan_lines(est: Estimate, title: str = "") -> list[str]:
    """The plan as plain text: strategies, their tokens and time, what was skipped, the basis
    of the estimate and its assumptions. No markup: the CLI prints it as is."""
    head = f"Plan{' for ' + title if title else ''}: {len(est.strategies)} strategies, "
    head += f"about {duration(est.total)} on this machine"
    head += "" if est.complete else " (plus what could not be estimated, below)"
    lines = [head] + [f"  {part}: {duration(sec)}" for part, sec in est.setup.items()]
    if est.knowledge:
        lines.append(
            f"  knowledge (SliCK): {duration(sum(est.knowledge.values()))},"
            f" up to {est.knowledge_tokens:,} generated tokens"
        )
    for s in est.strategies:
        lines += _strategy_lines(s)
    for part, seconds in est.finish.items():
        lines.append(f"  {part}: {duration(seconds)}")
    for name, reason in est.skipped:
        lines.append(f"  not run: {name}: {reason}")
    lines += basis_lines(est)
    return lines


def _strategy_lines(s: StrategyEstimate) -> list[str]:
    if s.not_estimated:
        return [f"  {s.name} ({s.kind}): not estimated: {s.not_estimated}"]
    out = [f"  {s.name} ({s.kind}): {duration(s.total)}"]
    if s.train_tokens:
        out.append(
            f"      trains on {s.train_tokens:,} tokens in {s.train_batches:,} batches"
            " (every epoch, sweep and learning curve included)"
        )
    if s.requests:
        out.append(
            f"      generates up to {s.new_tokens:,} tokens for {s.requests:,} requests"
            f" ({s.prompt_tokens:,} prompt tokens)"
        )
    parts = ", ".join(f"{k} {duration(v)}" for k, v in s.seconds.items() if v >= 0.05)
    if parts and len(s.seconds) > 1:
        out.append(f"      {parts}")
    return out


def basis_lines(est: Estimate) -> list[str]:
    b = est.basis
    machine = b.get("machine") or {}
    if not b.get("measured"):
        return ["Basis: nothing to measure (no language model runs)."]
    where = (
        f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores,"
        f" {machine.get('torch_threads', '?')} torch threads, load average"
        f" {b.get('load_average', '?')}"
    )
    when = "cached from " + str(b.get("when")) if b.get("cached") else "just now"
    lines = [f"Basis: measured on this machine ({where}), {when}:"]
    lines += [f"  - {m}" for m in b["measured"]]
    lines.append("  Not measured (a rule of thumb, small): scoring and reports.")
    every = est.assumptions + [a for s in est.strategies for a in s.assumptions]
    assumptions = list(dict.fromkeys(every))
    if assumptions:
        lines.append("Assumed:")
        lines += [f"  - {a}" for a in assumptions]
    lines.append(
        "Times scale with the machine's load: this estimate holds while the load stays as it"
        " was measured."
    )
    return lines
