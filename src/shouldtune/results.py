"""results.json, built in one place and in order, for `run` and for `rescore`.

What was generated (each strategy's `StrategyRun`: answers, timings, details) comes in; scores,
intervals, costs and the verdict are computed here from it, so re-scoring a finished run under
another metric or other needs is this same function over the saved runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from . import __version__
from .core import outdir
from .core.cost import Prices, cost_report
from .core.evidence import Evidence
from .core.fileio import atomic_write_json, atomic_write_jsonl
from .core.metrics import Metric
from .core.needs import Needs
from .core.scoring import TestSplit, score_run
from .core.types import SCHEMA_VERSION, Example, StrategyResult, StrategyRun
from .core.verdict import decide
from .probes.scored import attach_in_domain, rescore_knowledge  # pure: no model, no torch

RAW_DIR = "raw"  # each strategy's unscored run, for `shouldtune rescore`


@dataclass
class RunRecord:
    """Everything about a run that scoring does not change."""

    task: dict[str, Any]  # name, description, n_train, metric, test_is_split, n_docs, root
    test: list[Example]
    model: dict[str, Any]
    run: dict[str, Any]  # seed, quick, wall_seconds, ...
    runs: list[StrategyRun]
    audit: dict[str, Any] | None = None
    knowledge: dict[str, Any] | None = None
    probes: dict[str, Any] | None = None
    skipped: list[dict[str, Any]] = field(default_factory=list)
    backend: dict[str, Any] | None = None
    remote: bool = False  # the prompting strategies ran on a served model
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Scoring:
    """What scores and decides: changing any of it never re-runs a strategy."""

    metric: Metric
    needs: Needs
    prices: Prices
    bootstrap_samples: int = 2000


def _details_hook(name: str, n_resamples: int, seed: int) -> Any:
    """The strategy's own `score_details` (learning-curve points...), if it is registered."""
    from . import strategies

    if name not in strategies.REGISTRY:
        return None
    cls = strategies.strategy_class(name)
    return partial(_call_hook, cls.score_details, n_resamples=n_resamples, seed=seed)


def _call_hook(hook: Any, details: dict, score: Any, scores: list[float], **kw: Any) -> dict:
    return hook(details, score, scores, **kw)


def score_all(
    record: RunRecord, scoring: Scoring, out_dir: Path
) -> tuple[list[StrategyResult], TestSplit]:
    """Score every strategy's answers; write predictions/<name>.jsonl."""
    split = TestSplit.from_audit(record.audit, len(record.test))
    seed, n = record.run.get("seed", 0), scoring.bootstrap_samples
    scored = []
    for run in record.runs:
        hook = _details_hook(run.name, n, seed)
        result, rows = score_run(run, record.test, scoring.metric, split, n, seed, hook)
        atomic_write_jsonl(out_dir / result.predictions_file, rows)
        scored.append(result)
    attach_in_domain(scored, record.runs, split.clean, n, seed)
    return scored, split


def build_results(record: RunRecord, scoring: Scoring, out_dir: Path) -> dict[str, Any]:
    """Score, price and decide; write predictions and raw runs; return results.json's dict."""
    scored, split = score_all(record, scoring, out_dir)
    knowledge = rescore_knowledge(record.knowledge, scoring.metric.score_row)
    seed = record.run.get("seed", 0)
    params = record.model.get("parameters")
    costs = cost_report(scored, len(record.test), params, scoring.prices, remote=record.remote)
    evidence = Evidence.from_run(
        bool(record.run.get("quick")), record.audit, knowledge, split.n, len(split.seen),
        int(record.task.get("n_train") or 0),
    )  # fmt: skip
    verdict = decide(scored, seed, costs, scoring.needs, evidence, scoring.bootstrap_samples)
    versus = verdict.steps.get("versus")
    for run in record.runs:
        atomic_write_json(out_dir / RAW_DIR / f"{run.name}.json", run.to_json())
    return {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "shouldtune_version": __version__,
        "task": {**record.task, "n_test": split.n, "n_clean": len(split.clean)},
        "model": record.model,
        "run": record.run,
        "notes": record.notes,
        "needs": scoring.needs.to_json(),
        "audit": record.audit,
        "verdict": asdict(verdict),
        "strategies": [
            {**r.to_json(), "cost": costs.per_strategy[r.name].to_json()} for r in scored
        ],
        "cost": costs.to_json(scored, versus),
        "skipped": record.skipped,
        "knowledge": knowledge,
        "probes": record.probes,
        "backend": record.backend,
    }


def work_folder(out_dir: Path) -> Path:
    """A fresh hidden sibling of `out_dir` to build a run in: a finished folder is complete.
    A leftover one is removed only when shouldtune made it (core/outdir.py)."""
    return outdir.work_folder(out_dir, "run")


def publish(results: dict[str, Any], work: Path, out_dir: Path) -> None:
    """Write results.json and the reports into `work`, then make it `out_dir`: an earlier run
    there is renamed aside, the new one renamed in, the old removed (a crash leaves one
    complete run); a folder holding files shouldtune did not write is never replaced."""
    from .report import write_reports

    atomic_write_json(work / "results.json", results)
    write_reports(results, work)
    outdir.replace(work, out_dir, "run")
