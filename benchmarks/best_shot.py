"""Before/after of the best-shot work (issue 29): the same task, the same strategies, run by an
earlier commit of shouldtune and by this checkout, one after the other on this machine.

    .venv/bin/python benchmarks/best_shot.py examples/banking77 --before c7ebed0 \
        [--only baseline,zero_shot,few_shot,few_shot_knn,lora] [--name banking77] [--keep DIR]

The earlier commit is checked out into a temporary git worktree and run with this venv (its
`src/` first on PYTHONPATH). Prints per strategy: score and CI before/after, the chosen prompt,
how many free answers fell outside the label set, the search's and the LR sweep's seconds, and
the run's wall time and verdict; writes benchmarks/results/best_shot_<name>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchutil import machine, table, write_json

ROOT = Path(__file__).resolve().parents[1]


def run(src: Path, task: Path, out: Path, only: str | None, extra: list[str]) -> float:
    """One `shouldtune run` with `src` first on the import path; its wall seconds."""
    cmd = [sys.executable, "-c", "from shouldtune.cli.main import main; main()", "run",
           str(task), "--out", str(out), *(["--only", only] if only else []), *extra]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=out.parent)
    if done.returncode != 0:
        raise SystemExit(f"run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def facts(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for s in results["strategies"]:
        d, q = s.get("details") or {}, s["quality"]
        search = d.get("search") or {}
        labels = d.get("label_answers") or {}
        out[s["name"]] = {
            "score": round(q["score"], 3),
            "ci": [round(q["ci_low"], 3), round(q["ci_high"], 3)],
            "chosen": search.get("chosen_label")
            or (f"lr {d['learning_rate_chosen']:g}" if "learning_rate_chosen" in d else ""),
            "search_s": search.get("seconds"),
            "search_answers": search.get("row_evaluations"),
            "lr_sweep_s": (d.get("seconds") or {}).get("lr_sweep"),
            "outside_labels": f"{labels['free_outside_labels']}/{labels['free_checked']}"
            if labels
            else None,
            "p50_ms": round(s["latency_ms"].get("p50", 0)),
        }
    return out


def outside_before(run_dir: Path, labels: set[str]) -> dict[str, str]:
    """Free answers outside the label set in a run that generated freely."""
    out = {}
    for path in sorted((run_dir / "predictions").glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        answers = [str(r.get("predicted", "")).strip().splitlines()[:1] for r in rows]
        miss = sum(1 for a in answers if (a[0] if a else "") not in labels)
        out[path.stem] = f"{miss}/{len(rows)}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("task", type=Path)
    ap.add_argument("--before", required=True, help="the earlier commit")
    ap.add_argument("--only", default=None)
    ap.add_argument("--name", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="copy both runs' folders here")
    args = ap.parse_args()
    task = args.task.resolve()
    extra = ["--quick"] if args.quick else []
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree),
                        args.before], check=True, capture_output=True)  # fmt: skip
        try:
            walls = {
                "before": run(tree / "src", task, Path(tmp) / "run-before", args.only, extra),
                "after": run(ROOT / "src", task, Path(tmp) / "run-after", args.only, extra),
            }
            res = {
                k: json.loads((Path(tmp) / f"run-{k}" / "results.json").read_text())
                for k in walls
            }
            train = [json.loads(x) for x in (task / "train.jsonl").read_text().splitlines() if x]
            labels = {str(r.get("output", "")).strip() for r in train}
            free_before = outside_before(Path(tmp) / "run-before", labels)
            if args.keep:  # to read the predictions, not only the scores
                for k in walls:
                    shutil.copytree(Path(tmp) / f"run-{k}", args.keep / k, dirs_exist_ok=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)  # fmt: skip
    before, after = facts(res["before"]), facts(res["after"])
    rows = []
    for name in after:
        b, a = before.get(name, {}), after[name]
        rows.append([name, b.get("score"), a["score"], a["chosen"], free_before.get(name),
                     a["outside_labels"], a["search_s"] or a["lr_sweep_s"], b.get("p50_ms"),
                     a["p50_ms"]])  # fmt: skip
    print(table(["strategy", "score before", "score after", "chosen on dev",
                 "outside labels before", "free outside labels after", "tuning s",
                 "p50 ms before", "p50 ms after"], rows))  # fmt: skip
    verdicts = {k: res[k]["verdict"]["headline"] for k in res}
    print(f"\nwall: before {walls['before']:.0f} s, after {walls['after']:.0f} s")
    print(f"verdict before: {verdicts['before']}\nverdict after:  {verdicts['after']}")
    info = machine()
    path = write_json(
        f"best_shot_{args.name or task.name}",
        {
            "machine": info,
            "task": str(args.task),
            "before_commit": args.before,
            "only": args.only,
            "quick": args.quick,
            "wall_seconds": {k: round(v, 1) for k, v in walls.items()},
            "before": before,
            "after": after,
            "free_outside_labels_before": free_before,
            "verdict": verdicts,
            "reasons_after": res["after"]["verdict"]["reasons"],
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
