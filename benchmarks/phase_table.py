"""The phase table of one or more finished runs: where each strategy's time and memory went,
on which hardware and engine. Used by gpu_smoke.sh; works on any results.json.

    .venv/bin/python benchmarks/phase_table.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchutil import table


def rows(results: dict[str, Any]) -> list[list[Any]]:
    out = []
    for s in results["strategies"]:
        d = s.get("details") or {}
        gpu = d.get("peak_gpu_memory_mb") or {}
        seconds = d.get("seconds") or {}
        out.append(
            [
                s["name"],
                round(s["quality"]["score"], 3),
                round(seconds.get("lr_sweep", 0.0), 1),
                round(s.get("train_seconds", 0.0), 1),
                round(s.get("eval_seconds", 0.0), 1),
                round(s["latency_ms"].get("p50", 0.0)),
                s.get("tokens_per_s", 0.0),
                gpu.get("allocated", "-"),
                gpu.get("reserved", "-"),
                round(s.get("peak_rss_mb") or 0),
            ]
        )
    return out


HEADERS = [
    "strategy",
    "score",
    "lr sweep s",
    "train s",
    "eval s",
    "p50 ms",
    "tok/s",
    "GPU alloc MB",
    "GPU reserved MB",
    "peak RSS MB",
]


def describe(results: dict[str, Any]) -> str:
    hw = (results.get("model") or {}).get("hardware") or {}
    gpu = hw.get("gpu") or {}
    where = f"{hw.get('device', '?')} {hw.get('dtype', '?')}"
    if gpu:
        where += f" on {gpu.get('name')} ({gpu.get('memory_gb')} GB)"
    backoffs = hw.get("oom_backoffs") or []
    return (
        f"model {results['model']['name']}, {where}, engine {hw.get('engine', '?')}, "
        f"run {results['run']['wall_seconds']} s, verdict {results['verdict']['recommended']}, "
        f"out-of-memory back-offs: {backoffs or 'none'}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    for run in ap.parse_args().runs:
        results = json.loads((run / "results.json").read_text(encoding="utf-8"))
        print(f"\n{run}: {describe(results)}")
        print(table(HEADERS, rows(results)))


if __name__ == "__main__":
    main()
