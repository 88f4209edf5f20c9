"""Audit wall time before and after a change, side by side, plus the docs check at scale.

    .venv/bin/python benchmarks/audit_speed.py [--reference REF] [--repeats 2]

1. The full banking77 audit (10,003 train, 3,080 test rows, data/banking77): the reference
   source (`git archive REF src`, default the commit this branch forked from main) and this
   worktree's source, each in a fresh process, alternated `--repeats` times under the same
   load. Reported as medians and their ratios, wall and CPU time (process_time, all threads):
   on a shared machine CPU time moves far less with the load than wall time.
2. This worktree's docs_support check alone on a banking77-sized docs task: 10,000 training
   questions over a 1,020-product price list built from examples/price-list/generate.py.

Writes benchmarks/results/audit_speed.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchutil import ROOT, cpu_model, table, write_json

CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from shouldtune.audit import run_audit
from shouldtune.audit.labels import is_label_like
from shouldtune.audit.run import _overlap_checks
from shouldtune.core.taskio import load_task
task = load_task(Path(sys.argv[2]))
start, cpu = time.perf_counter(), time.process_time()
report = run_audit(task.train, task.test, instruction=task.instruction)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
start = time.process_time()  # the stage this work changed: leakage, duplicates, conflicts
_overlap_checks(task.train, task.test, is_label_like(task.train))
overlap = time.process_time() - start
leak = report.get("leakage")
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "overlap_cpu_seconds": overlap,
                  "blocking": len(report.blocking), "leakage": [leak.severity, leak.count]}))
"""


def reference_src(ref: str, into: Path) -> Path:
    if ref == "merge-base":
        ref = git("merge-base", "HEAD", "main")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def git(*args: str) -> str:
    out = subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True)
    return out.stdout.decode().strip()


def banking77_task(into: Path) -> Path:
    spec = importlib.util.spec_from_file_location("to_task", ROOT / "data/banking77/to_task.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_task(into / "b77")


def audit_once(src: Path, task: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(task)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def docs_at_scale(n_train: int = 10_000, copies: int = 30) -> dict:
    """docs_support on a price list 30 times the example's, n_train distinct questions,
    30% of them answered with a stale price."""
    sys.path.insert(0, str(ROOT / "src"))
    from shouldtune.audit import docs as docs_module
    from shouldtune.audit.docs import check_docs_support

    docs_module.MAX_ROWS = n_train  # keep every flagged row, to score the check itself
    from shouldtune.core.types import Document, Example

    spec = importlib.util.spec_from_file_location(
        "price_list", ROOT / "examples/price-list/generate.py"
    )
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    rng = random.Random(0)
    words = [
        f"{a}{b}"
        for a in ("Al", "Bo", "Ce", "Da", "Ek", "Fa")
        for b in ("ra", "to", "ne", "mi", "su")
    ]
    cards, products = [], []
    for k in range(copies):
        series = words[k % len(words)] + str(k)
        for name, sku, cents, *_ in gen.CARDS + gen.TABLE:
            full = f"{series} {name}"
            cents = cents + 100 * k
            products.append((full, cents))
            cards.append(f"## {full}\n\n- SKU: {sku}-{k}\n- Price: {gen.money(cents)}\n")
    docs = [
        Document(f"prices-{i}.md", "\n".join(cards[i : i + 200])) for i in range(0, len(cards), 200)
    ]
    templates = gen.TRAIN_PRICE + gen.TEST_PRICE  # 11 wordings: ~11k distinct questions
    asked = rng.sample([(t, p) for t in templates for p in products], n_train)
    rows, stale = [], set()
    for i, (template, (name, cents)) in enumerate(asked):
        source = f"train.jsonl:{i + 1}"
        if rng.random() < 0.3:
            stale.add(source)
            cents -= 300
        rows.append(Example(template.format(p=name, P=name), gen.money(cents), source=source))
    start, cpu = time.perf_counter(), time.process_time()
    finding = check_docs_support(rows, docs)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "train_rows": n_train,
        "products": len(products),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "checked": finding.data["checked"],
        "unsupported_share": finding.data["share"],
        "contradicted": finding.data["contradicted"],
        "stale": len(stale),
        "stale_flagged": len(stale & set(finding.data["unsupported_rows"])),
        "current_flagged": len(set(finding.data["unsupported_rows"]) - stale),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference", default="merge-base", help="git ref of the 'before' src")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ref_src = reference_src(args.reference, tmp_path)
        task = banking77_task(tmp_path)
        runs: dict[str, list[dict]] = {"reference": [], "this worktree": []}
        for _ in range(args.repeats):
            runs["reference"].append(audit_once(ref_src, task))
            runs["this worktree"].append(audit_once(ROOT / "src", task))
    docs = docs_at_scale()
    medians = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r["cpu_seconds"] for r in v) for k, v in runs.items()}
    overlap = {k: statistics.median(r["overlap_cpu_seconds"] for r in v) for k, v in runs.items()}
    rows = [
        [
            name,
            f"{medians[name]:.1f}",
            " / ".join(f"{r['seconds']:.1f}" for r in v),
            f"{cpu[name]:.1f}",
            f"{overlap[name]:.1f}",
            v[-1]["leakage"],
        ]
        for name, v in runs.items()
    ]
    print(f"{cpu_model()}, {os.cpu_count()} CPUs, load average before {load_before}")
    print("full banking77 audit (10,003 train + 3,080 test), one process per run, alternated:")
    head = ["source", "wall s (median)", "wall s (runs)", "CPU s", "overlap stage CPU s", "leakage"]
    print(table(head, rows))
    ratio = medians["this worktree"] / medians["reference"]
    cpu_ratio = cpu["this worktree"] / cpu["reference"]
    print(f"ratio this worktree / reference: wall {ratio:.2f}, CPU {cpu_ratio:.2f}")
    print(
        f"docs_support alone: {docs['train_rows']} training questions over {docs['products']} "
        f"products: {docs['seconds']:.1f} s ({docs['cpu_seconds']:.1f} s CPU); "
        f"of {docs['stale']} stale answers "
        f"{docs['stale_flagged']} flagged ({docs['contradicted']} as contradicted), "
        f"{docs['current_flagged']} current answers flagged"
    )
    path = write_json(
        "audit_speed",
        {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "reference": args.reference
            if args.reference != "merge-base"
            else git("merge-base", "HEAD", "main"),
            "banking77_full_audit": runs,
            "median_seconds": medians,
            "median_cpu_seconds": cpu,
            "overlap_stage_median_cpu_seconds": overlap,
            "cpu_ratio": round(cpu_ratio, 3),
            "ratio": round(ratio, 3),
            "docs_support_at_scale": docs,
        },
    )
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
