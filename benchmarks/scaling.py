"""How run time grows with training data: banking77 at 1x, 2x and 4x training rows, the same
test set, a fixed strategy set (baseline, few_shot_knn, lora as examples/banking77/task.yaml
configures them: lora one epoch, no sweep, no learning curve; probes off).

1x is examples/banking77 itself (6 queries per intent, 462 rows, 154 test queries). 2x and 4x
add further queries per intent from data/banking77/train.csv, seeded, nested (4x contains 2x),
none a near-duplicate of a test query (the audit's leakage check stays clean). Each size runs
as `shouldtune run` would, its plan's estimate first, so the table also shows how close the
estimate came (benchmarks/plan_accuracy.py's phase clock).

    .venv/bin/python benchmarks/scaling.py [--scales 1,2,4] [--max-test N]

Prints a table and writes benchmarks/results/scaling.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchutil import ROOT, machine, table, write_json
from plan_accuracy import measure, report

EXAMPLE = ROOT / "examples" / "banking77"
STRATEGIES = ["baseline", "few_shot_knn", "lora"]
PER_CLASS = 6  # examples/banking77's training queries per intent (1x)
SEED = 11


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("banking77_generate", EXAMPLE / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def extra_rows(scale: int, train: list[dict], test: list[dict]) -> list[dict]:
    """(scale - 1) x PER_CLASS more queries per intent, nested across scales, none already
    in train nor near a test query."""
    gen = _generator()
    conv = gen.converter()
    rows = conv.read_rows(gen.DATA / "train.csv")
    seen = {r["input"] for r in train}
    tests = [gen.grams(r["input"]) for r in test]
    by_label: dict[str, list[str]] = {}
    for text, label in rows:
        if text not in seen:
            by_label.setdefault(label, []).append(text)
    out = []
    for label in sorted(by_label):
        texts = by_label[label]
        random.Random(f"{SEED}:{label}").shuffle(texts)  # same order at every scale: nested
        picked = [t for t in texts if not gen._near_any(gen.grams(t), tests)]
        out += [{"input": t, "output": label} for t in picked[: (scale - 1) * PER_CLASS]]
    return out


def make_task(folder: Path, scale: int, max_test: int | None) -> Path:
    folder.mkdir(parents=True)
    train, test = _read(EXAMPLE / "train.jsonl"), _read(EXAMPLE / "test.jsonl")
    test = test[:max_test] if max_test else test
    train = train + (extra_rows(scale, train, test) if scale > 1 else [])
    for name, rows in (("train", train), ("test", test)):
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        (folder / f"{name}.jsonl").write_text(text, encoding="utf-8")
    shutil.copy(EXAMPLE / "task.yaml", folder / "task.yaml")
    return folder


def strategy_seconds(m: dict[str, Any]) -> dict[str, float]:
    return {n: v["measured"] for n, v in m["phases"].items() if n in STRATEGIES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", default="1,2,4")
    ap.add_argument("--max-test", type=int, default=None, help="fewer test rows (smoke runs)")
    ap.add_argument("--only", default=",".join(STRATEGIES), help="a subset (smoke runs)")
    args = ap.parse_args()
    STRATEGIES[:] = [n for n in args.only.split(",") if n]
    scales = [int(s) for s in args.scales.split(",")]
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for scale in scales:
            task = make_task(Path(tmp) / f"banking77-{scale}x", scale, args.max_test)
            n_train = len(_read(task / "train.jsonl"))
            m = measure(task, STRATEGIES, quick=False)
            report(m)  # as each size finishes: a long benchmark shows its way
            runs[scale] = {"n_train": n_train, **m}
    first = scales[0]
    rows = []
    for name in [*STRATEGIES, "total"]:
        row: list[Any] = [name]
        for scale in scales:
            m = runs[scale]
            seconds = m["measured_total"] if name == "total" else strategy_seconds(m)[name]
            est = m["estimated_total"] if name == "total" else m["phases"][name]["estimated"]
            base = (
                runs[first]["measured_total"]
                if name == "total"
                else strategy_seconds(runs[first])[name]
            )
            row += [seconds, f"{seconds / base:.2f}x" if base else "n/a", est]
        rows.append(row)
    headers = ["strategy"]
    for scale in scales:
        headers += [f"{scale}x ({runs[scale]['n_train']} rows) s", "growth", "estimated s"]
    print(table(headers, rows))
    parts = sorted({p for m in runs.values() for p in m["parts"]})
    part_rows = [
        [p, *(runs[s]["parts"].get(p, {}).get("measured", 0.0) for s in scales)] for p in parts
    ]
    print(table(["part", *(f"{s}x s" for s in scales)], part_rows))
    path = write_json(
        "scaling",
        {"machine": machine(), "strategies": STRATEGIES, "max_test": args.max_test, "runs": runs},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
