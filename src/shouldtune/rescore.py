"""`shouldtune rescore`: a finished run's saved answers under another metric or other needs.

Nothing generates or trains: each strategy's unscored run (raw/<name>.json) is scored again
with the metric, then priced and decided with the needs, in the same `build_results` a run
uses. The original run folder is left as it was; the re-scored one is written beside it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core import outdir
from .core.cost import Prices
from .core.errors import InputError
from .core.fileio import load_results
from .core.metrics import check_metric_name, load_metric
from .core.needs import Needs, with_overrides
from .core.taskio import jsonl_records
from .core.types import Example, StrategyRun
from .progress import NullProgress, Progress
from .results import RAW_DIR, RunRecord, Scoring, build_results, publish, work_folder

# Files of a run that rescoring writes anew; everything else (trained weights, plots' inputs)
# is linked into the new folder unchanged.
REWRITTEN = ("results.json", "report.md", "report.html", "predictions", "plots", RAW_DIR)


@dataclass
class RescoreOptions:
    metric: str | None = None
    out_dir: Path | None = None
    task_dir: Path | None = None  # where a python: metric's file lives (default: the run's task)
    needs: dict[str, Any] = field(default_factory=dict)
    progress: Progress = field(default_factory=NullProgress)


def _raw_runs(results: dict, run_dir: Path) -> list[StrategyRun]:
    runs = []
    for s in results["strategies"]:
        name = str(s.get("name")) if isinstance(s, dict) else "?"
        path = run_dir / RAW_DIR / f"{name}.json"
        if path.resolve().parent != (run_dir / RAW_DIR).resolve():
            raise InputError(f"strategy name {name!r} leaves the run folder", run_dir)
        try:
            runs.append(StrategyRun.from_json(json.loads(path.read_text(encoding="utf-8"))))
        except FileNotFoundError:
            raise InputError(
                f"no saved answers for {name} ({RAW_DIR}/{name}.json): made by an older"
                " shouldtune, so it cannot be re-scored",
                run_dir,
            ) from None
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise InputError(f"damaged saved answers ({type(exc).__name__})", path) from None
    return runs


def _test_rows(results: dict, run_dir: Path, n: int) -> list[Example]:
    """The test rows as the run scored them, from its first predictions file."""
    first = results["strategies"][0]
    path = run_dir / str(first.get("predictions_file", ""))
    if path.resolve().parent != (run_dir / "predictions").resolve() or not path.is_file():
        raise InputError("the run's predictions are missing", run_dir)
    rows = [record for _, record in jsonl_records(path)]
    test = [
        Example(str(r.get("input", "")), str(r.get("expected", "")), None, str(r.get("source", "")))
        for r in rows
        if isinstance(r, dict)
    ]
    if len(test) != n:
        raise InputError(f"{len(test)} predictions for {n} answers", path)
    return test


def _link_tree(src: Path, dst: Path) -> None:
    """Everything of the old run that rescoring does not rewrite, hard-linked when possible."""
    for item in src.iterdir():
        if item.name in REWRITTEN or item.name in outdir.MARKERS.values():
            continue
        target = dst / item.name
        if item.is_dir():
            shutil.copytree(item, target, copy_function=_link_or_copy)
        else:
            _link_or_copy(item, target)


def _link_or_copy(src: Any, dst: Any) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def default_out(run_dir: Path) -> Path:
    n, out = 1, run_dir.with_name(f"{run_dir.name}-rescored")
    while out.exists():
        n += 1
        out = run_dir.with_name(f"{run_dir.name}-rescored-{n}")
    return out


def rescore(run_dir: Path, opts: RescoreOptions) -> tuple[dict[str, Any], Path]:
    """Re-score `run_dir` into a new folder; returns (results, folder)."""
    run_dir = Path(run_dir)
    results = load_results(run_dir)
    if not isinstance(results.get("schema_version"), int) or results["schema_version"] < 2:
        raise InputError(
            "results from an older shouldtune (schema 1): only runs made by this version can be"
            " re-scored",
            run_dir / "results.json",
        )
    task = dict(results.get("task") or {})
    metric_name = opts.metric or str(task.get("metric") or "exact_match")
    try:
        check_metric_name(metric_name)
    except ValueError as exc:
        raise InputError(f"--metric {metric_name!r}: {exc}") from None
    root = Path(opts.task_dir or task.get("root") or run_dir)
    metric = load_metric(metric_name, root)
    runs = _raw_runs(results, run_dir)
    test = _test_rows(results, run_dir, len(runs[0].generations))
    metric.preflight([e.output for e in test], [e.source for e in test])
    needs = with_overrides(Needs.from_json(results.get("needs")), opts.needs)
    prices = _prices(results, needs)
    out = Path(opts.out_dir) if opts.out_dir else default_out(run_dir)
    if out.resolve() == run_dir.resolve():
        raise InputError("--out must differ from the run folder: the original stays as it was")
    protected = [(run_dir, "run folder being re-scored")]
    if opts.out_dir and root.is_dir() and root.resolve() != run_dir.resolve():
        protected.append((root, "task folder"))
    outdir.check_output(out, "run", protected)  # before any work: nothing is deleted
    opts.progress.log(
        f"re-scoring {len(runs)} strategies' saved answers with {metric_name}: no strategy runs"
        " again"
    )
    run = dict(results.get("run") or {})
    run["rescored"] = {"from": str(run_dir), "metric_before": task.get("metric")}
    task["metric"] = metric_name
    for key in ("n_test", "n_clean"):
        task.pop(key, None)
    record = RunRecord(
        task=task,
        test=test,
        model=dict(results.get("model") or {}),
        run=run,
        runs=runs,
        audit=results.get("audit"),
        knowledge=results.get("knowledge"),
        probes=results.get("probes"),
        skipped=list(results.get("skipped") or []),
        backend=results.get("backend"),
        remote=results.get("backend") is not None,
        notes=list(results.get("notes") or []),
    )
    scoring = Scoring(metric, needs, prices, int(run.get("bootstrap_samples") or 2000))
    work = work_folder(out)
    try:
        _link_tree(run_dir, work)
        new = build_results(record, scoring, work)
        publish(new, work, out)
    except BaseException:  # nothing to resume: leave no half-written folder behind
        shutil.rmtree(work, ignore_errors=True)
        raise
    return new, out


def _prices(results: dict, needs: Needs) -> Prices:
    saved = (results.get("cost") or {}).get("prices") if isinstance(results, dict) else None
    if not isinstance(saved, dict):
        return Prices(requests_per_day=needs.requests_per_day)
    known = {k: saved[k] for k in Prices.__dataclass_fields__ if k in saved}
    known["requests_per_day"] = needs.requests_per_day
    try:
        return Prices(**known)
    except TypeError:
        return Prices(requests_per_day=needs.requests_per_day)
