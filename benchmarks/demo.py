"""Wall time of `shouldtune demo` by stage.

Runs what `shouldtune demo` runs (run_task on examples/ticket-codes, the strategies its task.yaml
lists) with a progress sink that timestamps each stage, and wrappers around the steps that report
no progress (model resolution, data audit, the plan's estimate, model load, reports). Only the
CLI's table printing is left out. The estimate measures this machine's speed the first time
(then it is cached per model, machine, code and load band): `--no-plan` leaves it out.

    .venv/bin/python benchmarks/demo.py [--quick]

Prints a table and writes benchmarks/results/demo.json (or demo_quick.json).
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path
from typing import Any

from benchutil import machine, table, write_json

import shouldtune.models.bundled
import shouldtune.report
import shouldtune.run
from shouldtune.examples import demo_task_dir
from shouldtune.models.lm import LanguageModel
from shouldtune.run import RunOptions, run_task


class Timeline:
    """Progress sink: seconds spent under each label; a new label closes the previous one."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.label = "load task, validate plan"
        self.since = time.perf_counter()

    def mark(self, label: str) -> str:
        now = time.perf_counter()
        self.totals[self.label] = self.totals.get(self.label, 0.0) + now - self.since
        previous, self.label, self.since = self.label, label, now
        return previous

    def stage(self, strategy: str, stage: str, total: int | None = None) -> None:
        self.mark(f"{strategy}: {stage}")

    def advance(self, n: int = 1) -> None:
        pass

    def log(self, message: str) -> None:
        pass


def instrument(timeline: Timeline, owner: Any, attr: str, label: str) -> None:
    """Time `owner.attr` under `label`, then return to the stage that called it."""
    real = getattr(owner, attr)

    @functools.wraps(real)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        previous = timeline.mark(label)
        try:
            return real(*args, **kwargs)
        finally:
            timeline.mark(previous)

    setattr(owner, attr, wrapper)


def summary(s: dict[str, Any]) -> dict[str, Any]:
    """What the demo's README table shows of one strategy, plus its probe changes."""
    q = s["quality"]
    probes = (s.get("details") or {}).get("probes") or {}
    return {
        "score": round(q["score"], 3),
        "ci": f"{q['ci_low']:.3f}-{q['ci_high']:.3f}",
        "p50_ms": round(s["latency_ms"].get("p50", 0)),
        "prompt_tokens": round(s["prompt_tokens_mean"]),
        "train_s": round(s["train_seconds"]),
        "eval_seconds": s["eval_seconds"],
        "tokens_per_s": s["tokens_per_s"],
        "peak_rss_mb": round(s.get("peak_rss_mb") or 0),
        "probes": {
            k: {x: m.get(x) for x in ("before", "after", "diff", "ci_low", "ci_high")}
            for k, m in probes.items()
            if isinstance(m, dict) and "diff" in m
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="as `shouldtune run --quick`")
    ap.add_argument("--task", type=Path, help="another task folder (default: the demo's)")
    ap.add_argument("--no-plan", action="store_true", help="skip the estimate `demo` prints first")
    args = ap.parse_args()

    timeline = Timeline()
    instrument(timeline, shouldtune.models.bundled, "resolve_model", "resolve model (cached)")
    instrument(timeline, shouldtune.run, "audit_task", "data audit")
    instrument(timeline, shouldtune.report, "write_reports", "write reports")
    instrument(timeline, shouldtune.run, "estimate_plan", "plan: estimate (speed calibration)")
    load = LanguageModel.load.__func__

    def timed_load(cls: type, *a: Any, **kw: Any) -> LanguageModel:
        previous = timeline.mark("load language model")
        try:
            return load(cls, *a, **kw)
        finally:
            timeline.mark(previous)

    LanguageModel.load = classmethod(timed_load)  # type: ignore[method-assign]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results = run_task(
            args.task or demo_task_dir(),
            RunOptions(
                out_dir=Path(tmp) / "run",
                quick=args.quick,
                progress=timeline,
                on_estimate=None if args.no_plan else (lambda estimate: None),
            ),
        )
    timeline.mark("done")
    wall = time.perf_counter() - started
    rows = [[label, round(s, 2), f"{100 * s / wall:.1f}%"] for label, s in timeline.totals.items()]
    rows.append(["total", round(wall, 2), "100%"])
    print(table(["stage", "seconds", "share"], rows))
    info = machine()
    keys = ["score", "ci", "p50_ms", "prompt_tokens", "train_s", "peak_rss_mb"]
    sums = {s["name"]: summary(s) for s in results["strategies"]}
    print(table(["strategy", *keys], [[n, *(v[k] for k in keys)] for n, v in sums.items()]))
    print(f"\nverdict: {results['verdict']['recommended']}; machine: {info}")
    path = write_json(
        "demo_quick" if args.quick else "demo",
        {
            "machine": info,
            "quick": args.quick,
            "plan": not args.no_plan,
            "wall_seconds": round(wall, 2),
            "stages": {label: round(s, 2) for label, s in timeline.totals.items()},
            "strategies": {s["name"]: summary(s) for s in results["strategies"]},
            "knowledge": results.get("knowledge"),
            "verdict": results["verdict"]["reasons"],
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
