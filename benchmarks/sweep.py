"""Does today's learning-rate sweep choose a rate that scores at least as well as the former one?

Issue 15 replaced the sweep. Former: one short run per candidate rate, each a whole schedule
squeezed into `sweep_max_steps` batches (warm-up and decay included), the lowest final dev loss
wins, then a fresh full run at that rate. Today (finetune/sweep.py): every candidate starts the
real run and pauses after a round; a close call gets a second round; the winner's run resumes
from its pause. Both arms here run the real pipeline (`run_task`, the same task, options, seed
and grid), the former through a copy of its code from git (428590e^) patched in for that arm
only; each arm scores its model on the same test set, so the paired difference is meaningful.

    .venv/bin/python benchmarks/sweep.py [TASK_DIR ...] [--strategy lora] [--set KEY=VALUE]

Default tasks: the demo (examples/ticket-codes) and examples/banking77, whose task.yaml turns
the sweep off for time: `--set` options apply to every task, and banking77 gets
`lr_sweep=true` here. Probes and SliCK are switched off (they do not depend on the sweep).
Writes benchmarks/results/sweep.json.
"""

from __future__ import annotations

import argparse
import gc
import math
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from benchutil import ROOT, machine, table, write_json

from shouldtune.core import stats
from shouldtune.core.scoring import prediction_file
from shouldtune.finetune import sweep as ft_sweep
from shouldtune.report.browse import read_jsonl
from shouldtune.run import RunOptions, run_task
from shouldtune.strategies import finetuned as ft_strategy

TASKS = [ROOT / "examples" / "ticket-codes", ROOT / "examples" / "banking77"]


# ---- the former sweep, as it was before 428590e ---------------------------------------


def former_sweep(self: Any, ctx: Any, data: Any) -> tuple[list[dict[str, Any]], float]:
    """Short runs per candidate learning rate; the lowest dev loss wins."""
    opts = self.options
    if ctx.quick or not opts.lr_sweep or not data.dev_s:
        return [], opts.learning_rate
    rows = [_former_point(self, ctx, data, lr) for lr in opts.candidates()]
    extra = 0 if opts.lr_candidates else opts.sweep_extend
    while extra > 0 and (lr := ft_sweep._beyond_edge(rows)) is not None:
        rows.append(_former_point(self, ctx, data, lr))
        extra -= 1
    rows.sort(key=lambda r: r["learning_rate"])
    best = ft_sweep.best(rows)
    return rows, best["learning_rate"] if best else opts.learning_rate


def _former_point(self: Any, ctx: Any, data: Any, lr: float) -> dict[str, Any]:
    # The former sweep_config: one epoch at most, no early stop, dev loss at the end.
    cfg = self.options.train_config(ctx.seed, quick=True, learning_rate=lr)
    cfg.max_steps, cfg.evals_per_epoch, cfg.patience = self.options.sweep_max_steps, 1, 10**9
    model, report = self._fit(ctx, data.train_s, data.dev_s, cfg, f"lr sweep {lr:g}")
    loss = report.final_dev_loss
    del model
    gc.collect()
    return {
        "learning_rate": lr,
        "dev_loss": round(loss, 4) if math.isfinite(loss) else None,
        "steps": report.steps,
        "seconds": round(report.seconds, 2),
    }


@contextmanager
def former() -> Iterator[None]:
    today = ft_strategy.FineTuneStrategy._sweep
    ft_strategy.FineTuneStrategy._sweep = former_sweep  # type: ignore[method-assign]
    try:
        yield
    finally:
        ft_strategy.FineTuneStrategy._sweep = today  # type: ignore[method-assign]


# ---- one arm: the real run on a copy of the task --------------------------------------


def task_copy(task_dir: Path, strategy: str, sets: dict[str, Any], dest: Path) -> Path:
    """The task with only `strategy`, its sweep on (plus `sets`), probes and SliCK off."""
    shutil.copytree(task_dir, dest)
    path = dest / "task.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg["strategies"] = [strategy]
    opts = cfg.setdefault("options", {}).setdefault(strategy, {}) or {}
    opts.update({"lr_sweep": True, "learning_curve": False, **sets})
    cfg["options"] = {strategy: opts}
    cfg["probes"] = {"enabled": False, "slick": {"enabled": False}}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


def arm(task_dir: Path, strategy: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        results = run_task(task_dir, RunOptions(out_dir=out))
        s = next(x for x in results["strategies"] if x["name"] == strategy)
        per_example = _per_example(out, strategy)
    d = s.get("details") or {}
    q = s["quality"]
    return {
        "learning_rate_chosen": d.get("learning_rate_chosen"),
        "lr_sweep": d.get("lr_sweep"),
        "sweep_seconds": (d.get("seconds") or {}).get("lr_sweep"),
        "training_seconds": (d.get("seconds") or {}).get("training"),
        "training_steps": (d.get("training") or {}).get("steps"),
        "best_dev_loss": (d.get("training") or {}).get("best_dev_loss"),
        "score": q["score"],
        "ci": [q.get("ci_low"), q.get("ci_high")],
        "n_test": q.get("n"),
        "predictions": per_example,
    }


def _per_example(out: Path, strategy: str) -> list[dict[str, Any]]:
    """predictions/<strategy>.jsonl: per test row the answer and its score."""
    keep = ("index", "expected", "predicted", "score", "seen")
    return [{k: r[k] for k in keep} for r in read_jsonl(out / prediction_file(strategy))]


def paired(today: list[dict], former: list[dict]) -> dict[str, Any]:
    """Today minus former over the same unseen test rows, with the report's paired bootstrap."""
    rows = [(t["score"], f["score"]) for t, f in zip(today, former, strict=True) if not t["seen"]]
    p = stats.paired([t for t, _ in rows], [f for _, f in rows])
    return {
        "mean": round(p.diff, 4),
        "ci": [round(p.ci_low, 4), round(p.ci_high, 4)],
        "differ": sum(1 for t, f in rows if t != f),
    }


def compare(task_dir: Path, strategy: str, sets: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = task_copy(task_dir, strategy, sets, Path(tmp) / task_dir.name)
        today = arm(copy, strategy)
        gc.collect()
        with former():
            before = arm(copy, strategy)
    return {
        "task": task_dir.name,
        "strategy": strategy,
        "options": sets,
        "today": today,
        "former": before,
        "today_minus_former": paired(today["predictions"], before["predictions"]),
    }


def _rows(results: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for r in results:
        for label in ("former", "today"):
            a = r[label]
            ci = a["ci"]
            rows.append(
                [
                    r["task"],
                    label,
                    ", ".join(f"{x['learning_rate']:g}" for x in a["lr_sweep"] or []),
                    f"{a['learning_rate_chosen']:g}",
                    a["sweep_seconds"],
                    a["training_seconds"],
                    f"{a['score']:.3f} ({ci[0]:.3f}-{ci[1]:.3f})" if None not in ci else a["score"],
                ]
            )
    return rows


HEADERS = ["task", "sweep", "rates tried", "chosen", "sweep s", "training s", "score (CI)"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tasks", nargs="*", type=Path)
    ap.add_argument("--strategy", default="lora")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    sets = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    info = machine()
    results = []
    for task in args.tasks or TASKS:
        results.append(compare(task, args.strategy, sets))
        print(table(HEADERS, _rows(results[-1:])), flush=True)  # a long run's first answer
    print(table(HEADERS, _rows(results)))
    for r in results:
        print(f"{r['task']}: today - former {r['today_minus_former']}")
    path = write_json("sweep", {"machine": info, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
