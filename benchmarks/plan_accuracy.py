"""How close is `shouldtune run --plan`'s estimate to the time the run then takes?

For each task: the estimate exactly as `run` computes and prints it (calibration included,
or cached), then the run itself in the same process, with a progress sink that times every
phase (setup, SliCK, each strategy with its probes, scoring and reports) and every stage.
Prints estimated vs measured seconds per phase and per part, and writes
benchmarks/results/plan_accuracy.json.

    .venv/bin/python benchmarks/plan_accuracy.py [TASK_DIR ...] [--only a,b] [--quick]

Default tasks: examples/ticket-codes (the demo) and examples/banking77. The target is the
whole run within +-30% of the estimate. Wall-clock times depend on the machine's load: run it
on an idle machine (the load average goes into the JSON).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from benchutil import ROOT, machine, table, write_json

from shouldtune.estimate import plan_lines
from shouldtune.run import RunOptions, run_task

TARGET = 0.30
SHARED = {"probes"}  # stages that belong to the phase they run in


def part_of(stage: str) -> str:
    """A progress stage's part of a strategy, named as the estimate names it."""
    if stage.startswith("lr sweep"):
        return "learning-rate sweep"
    if stage.startswith("curve"):
        return "learning curve"
    return {"evaluating": "test set", "SliCK": "SliCK", "scoring": "scoring and reports"}.get(
        stage, stage
    )


class PhaseClock:
    """Progress sink: seconds per phase (the estimate's phases) and per (phase, part)."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.parts: dict[tuple[str, str], float] = {}
        self.phase = "plan"
        self.part = "measuring speed"
        self.since = time.perf_counter()

    def _close(self) -> None:
        now = time.perf_counter()
        took, self.since = now - self.since, now
        self.phases[self.phase] = self.phases.get(self.phase, 0.0) + took
        key = (self.phase, self.part)
        self.parts[key] = self.parts.get(key, 0.0) + took

    def planned(self, estimate: Any) -> None:
        self._close()  # the plan's own time (calibration) is kept apart from the run's
        self.phase, self.part = "setup", "loading the model"

    def stage(self, strategy: str, stage: str, total: int | None = None) -> None:
        self._close()
        if strategy in SHARED:
            self.part = "probes"
        else:
            self.phase, self.part = strategy, part_of(stage)

    def advance(self, n: int = 1) -> None:
        pass

    def log(self, message: str) -> None:
        pass

    def finish(self) -> None:
        self._close()


def measure(
    task_dir: Path, only: list[str] | None, quick: bool, keep: Path | None = None
) -> dict[str, Any]:
    """Estimate, then run, one task; phases and parts estimated vs measured."""
    clock, seen = PhaseClock(), []

    def on_estimate(est: Any) -> None:
        seen.append(est)
        print("\n".join(plan_lines(est, est.title)), flush=True)
        clock.planned(est)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        opts = RunOptions(
            out_dir=keep / Path(task_dir).name if keep else Path(tmp) / "run",
            only=only,
            quick=quick,
            progress=clock,
            on_estimate=on_estimate,
        )
        results = run_task(task_dir, opts)
    clock.finish()
    est = seen[0]
    estimated = dict(est.phases())
    run_phases = {k: v for k, v in clock.phases.items() if k != "plan"}
    parts_est = {(s.name, k): v for s in est.strategies for k, v in s.seconds.items()}
    parts_est |= {("knowledge", k): v for k, v in est.knowledge.items()}
    return {
        "task": str(task_dir),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "plan_seconds": round(clock.phases.get("plan", 0.0), 1),
        "calibration": est.basis,
        "estimated_total": round(est.total, 1),
        "measured_total": round(sum(run_phases.values()), 1),
        "phases": {
            name: {"estimated": round(estimated.get(name, 0.0), 1), "measured": round(s, 1)}
            for name, s in run_phases.items()
        },
        "parts": {
            f"{phase}: {part}": {
                "estimated": round(parts_est[(phase, part)], 1)
                if (phase, part) in parts_est
                else None,
                "measured": round(s, 1),
            }
            for (phase, part), s in clock.parts.items()
            if phase != "plan"
        },
        "verdict": results["verdict"].get("recommended"),
    }


def ratio(estimated: float | None, measured: float) -> str:
    if not estimated or measured <= 0:
        return "n/a"
    return f"{measured / estimated:.2f}"


def report(m: dict[str, Any]) -> None:
    rows = [[n, v["estimated"], v["measured"], ratio(v["estimated"], v["measured"])]
            for n, v in m["phases"].items()]  # fmt: skip
    within = abs(m["measured_total"] / m["estimated_total"] - 1) <= TARGET
    rows.append(
        ["**total**", m["estimated_total"], m["measured_total"],
         ratio(m["estimated_total"], m["measured_total"]) + (" ok" if within else " MISSED")]
    )  # fmt: skip
    print(f"\n{m['task']}: plan took {m['plan_seconds']} s; load {m['load_average_before']}")
    print(table(["phase", "estimated s", "measured s", "measured / estimated"], rows))
    parts = [[k, v["estimated"] if v["estimated"] is not None else "-", v["measured"],
              ratio(v["estimated"], v["measured"])]
             for k, v in m["parts"].items() if v["measured"] >= 1 or v["estimated"]]  # fmt: skip
    print(table(["part", "estimated s", "measured s", "measured / estimated"], parts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tasks", nargs="*", type=Path)
    ap.add_argument("--only", help="comma-separated strategies (default: the task's own)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--name", default="plan_accuracy", help="results file name")
    ap.add_argument("--keep", type=Path, help="keep each run's folder under this folder")
    args = ap.parse_args()
    tasks = args.tasks or [ROOT / "examples" / "ticket-codes", ROOT / "examples" / "banking77"]
    only = [n for n in re.split(r"[,\s]+", args.only) if n] if args.only else None
    runs = []
    for task in tasks:
        m = measure(task, only, args.quick, args.keep)
        report(m)
        runs.append(m)
    path = write_json(args.name, {"machine": machine(), "quick": args.quick, "runs": runs})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
