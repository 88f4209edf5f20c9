"""Workload x measured speed = estimated seconds: plain arithmetic, testable with fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .speed import Speeds
from .workload import FineTuneWork, GenJob, ProbeWork, TrainJob, Workload

# Rules of thumb, not measured (each is small next to what is measured):
BASELINE_S_PER_ROW = 0.004  # TF-IDF + logistic regression, per row, when not calibrated
FINISH_S = 2.0  # scoring (bootstrap CIs), verdict, report and plots
FINISH_S_PER_STRATEGY = 0.5
BASIS_KEYS = ("when", "load_average", "load_band", "cached")


def gen_seconds(job: GenJob, sp: Speeds) -> float:
    """Prefill of every batch's padded prompt tokens plus `steps` decode steps per batch;
    a shared prefix is computed once, alone. Single requests: batch 1 each."""
    if job.single:
        seconds = sum(w * sp.prefill_single + job.steps * sp.decode_step(1) for _, w in job.batches)
    else:
        seconds = job.prefix * sp.prefill_single + sum(
            rows * w * sp.prefill_batch + job.steps * sp.decode_step(rows)
            for rows, w in job.batches
        )
    seconds *= job.scale
    return seconds if job.cap_s is None else min(seconds, job.cap_s)


def train_seconds(job: TrainJob, sp: Speeds) -> float:
    t = sp.train[job.method]
    return (
        t.fit_overhead_s
        + job.padded_tokens * t.seconds_per_token
        + job.dev_evals * job.dev_padded_tokens * t.dev_seconds_per_token
    )


def embed_seconds(work: Workload, sp: Speeds) -> float:
    return work.embed_texts * sp.embed_per_text + work.embed_calls * sp.embed_per_call


@dataclass
class StrategyEstimate:
    name: str
    kind: str
    seconds: dict[str, float] = field(default_factory=dict)  # part -> seconds
    train_tokens: int = 0  # real tokens over every training run (sweep and curve included)
    train_batches: int = 0
    prompt_tokens: int = 0
    new_tokens: int = 0  # generated tokens, at most (answers may stop sooner)
    requests: int = 0  # generation requests (test set, latency, curve, probes)
    assumptions: list[str] = field(default_factory=list)
    not_estimated: str | None = None

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


@dataclass
class Estimate:
    strategies: list[StrategyEstimate]
    skipped: list[tuple[str, str]]
    setup: dict[str, float]  # before the first stage: loading the model
    knowledge: dict[str, float]  # SliCK, before any strategy
    finish: dict[str, float]  # scoring, verdict, reports
    basis: dict[str, Any]
    knowledge_tokens: int = 0
    assumptions: list[str] = field(default_factory=list)
    title: str = ""  # "TASK on MODEL"

    @property
    def total(self) -> float:
        return (
            sum(self.setup.values())
            + sum(self.knowledge.values())
            + sum(s.total for s in self.strategies)
            + sum(self.finish.values())
        )

    @property
    def complete(self) -> bool:
        return all(s.not_estimated is None for s in self.strategies)

    def phases(self) -> list[tuple[str, float]]:
        """Run order: (phase, seconds). A phase is 'setup', 'knowledge', a strategy's name,
        'latency' or 'verdict' — the names run.py's progress stages carry."""
        out = [("setup", sum(self.setup.values()))]
        if self.knowledge:
            out.append(("knowledge", sum(self.knowledge.values())))
        # Latency is timed after every strategy answered, round-robin (eval/latency.py).
        out += [(s.name, s.total - s.seconds.get("latency", 0.0)) for s in self.strategies]
        timed = sum(s.seconds.get("latency", 0.0) for s in self.strategies)
        if timed:
            out.append(("latency", timed))
        out.append(("verdict", sum(self.finish.values())))
        return out

    def summary(self) -> dict[str, Any]:
        """What results.json keeps (run.estimate): to compare with what the run measured."""
        return {
            "total_seconds": round(self.total, 1),
            "complete": self.complete,
            "phases": {name: round(s, 1) for name, s in self.phases()},
            "basis": {k: self.basis.get(k) for k in BASIS_KEYS},
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "total_seconds": round(self.total, 1),
            "complete": self.complete,
            "phases": [[name, round(s, 1)] for name, s in self.phases()],
            "strategies": [
                {
                    **asdict(s),
                    "total": round(s.total, 1),
                    "seconds": {k: round(v, 1) for k, v in s.seconds.items()},
                }
                for s in self.strategies
            ],  # fmt: skip
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
            "setup": self.setup,
            "knowledge": self.knowledge,
            "knowledge_tokens": self.knowledge_tokens,
            "finish": self.finish,
            "basis": self.basis,
            "assumptions": self.assumptions,
        }


def estimate_strategy(
    work: Workload | FineTuneWork,
    sp: Speeds,
    probes: ProbeWork,
    first_tune: bool,
    served: bool = False,
) -> StrategyEstimate:
    """Seconds per part of one strategy. `first_tune`: the base model's probe pass comes with
    it; `served`: its generation runs on a served model whose speed is not measured here."""
    ft = work if isinstance(work, FineTuneWork) else None
    w = ft.workload if ft else work
    est = StrategyEstimate(w.name, w.kind, assumptions=list(w.assumptions))
    if w.not_estimated or (served and not ft):
        est.not_estimated = w.not_estimated or "generates on the served model (not measured)"
        return est
    parts = est.seconds
    if w.baseline_rows:
        per_row = sp.baseline_per_row or BASELINE_S_PER_ROW
        parts["fit and predict"] = w.baseline_rows * per_row
    if w.embed_texts or w.embed_calls:
        parts["embedding"] = embed_seconds(w, sp)
    for job in w.train:
        key = "learning-rate sweep" if job.label == "lr sweep" else job.label
        parts[key] = parts.get(key, 0.0) + train_seconds(job, sp)
    for job in w.gen:
        parts[job.label] = parts.get(job.label, 0.0) + gen_seconds(job, sp)
    train_jobs, gen_jobs = list(w.train), list(w.gen)
    if ft and ft.curve_train:
        training = parts.get("training", 0.0)
        projected = ft.curve_fractions * training
        if ft.auto_budget_s is not None and projected > ft.auto_budget_s:
            est.assumptions.append(
                f"learning curve skipped: about {projected:.0f} s projected, over its"
                f" {ft.auto_budget_s:.0f} s budget (the run decides on the measured training time)"
            )
        else:
            curve = [train_seconds(j, sp) for j in ft.curve_train]
            curve += [gen_seconds(j, sp) for j in ft.curve_gen]
            parts["learning curve"] = sum(curve)
            train_jobs += ft.curve_train
            gen_jobs += ft.curve_gen
    if ft and probes.tuned is not None:
        probe_jobs = [probes.tuned] + ([probes.base] if first_tune and probes.base else [])
        parts["probes"] = sum(gen_seconds(j, sp) for j in probe_jobs)
        gen_jobs += probe_jobs
    est.train_tokens = sum(j.real_tokens for j in train_jobs)
    est.train_batches = sum(j.batches for j in train_jobs)
    est.prompt_tokens = sum(j.prompt_tokens for j in gen_jobs)
    est.new_tokens = sum(j.new_tokens for j in gen_jobs)
    est.requests = sum(j.rows for j in gen_jobs)
    return est


def knowledge_seconds(probes: ProbeWork, sp: Speeds) -> dict[str, float]:
    if not probes.slick:
        return {}
    return {"SliCK": sum(gen_seconds(j, sp) for j in probes.slick)}


def finish_seconds(n_strategies: int) -> dict[str, float]:
    return {"scoring and reports": FINISH_S + FINISH_S_PER_STRATEGY * n_strategies}


def combine(
    works: Sequence[Workload | FineTuneWork],
    probes: ProbeWork,
    sp: Speeds,
    skipped: Sequence[tuple[str, str]],
    served: Sequence[str] = (),
    first_lm: str | None = None,
) -> Estimate:
    """The whole plan: setup, SliCK, each strategy in run order, finishing. The model loads
    when first used: before SliCK when there is SliCK, else in `first_lm`, the first
    strategy that runs it."""
    knowledge = knowledge_seconds(probes, sp)
    setup = {"loading the model": sp.model_load_s} if knowledge else {}
    strategies, first_tune = [], True
    embedder_loaded = False
    for work in works:
        est = estimate_strategy(work, sp, probes, first_tune, served=_name(work) in served)
        if isinstance(work, FineTuneWork):
            first_tune = False
        if "embedding" in est.seconds and not embedder_loaded:
            est.seconds["embedding"] += sp.embed_load_s
            embedder_loaded = True
        if not knowledge and est.name == first_lm and est.not_estimated is None:
            est.seconds = {"loading the model": sp.model_load_s, **est.seconds}
        strategies.append(est)
    return Estimate(
        strategies=strategies,
        skipped=list(skipped),
        setup=setup,
        knowledge=knowledge,
        knowledge_tokens=sum(j.new_tokens for j in probes.slick),
        finish=finish_seconds(len(strategies)),
        basis=sp.basis,
        assumptions=list(probes.assumptions),
    )


def _name(work: Workload | FineTuneWork) -> str:
    return work.workload.name if isinstance(work, FineTuneWork) else work.name
