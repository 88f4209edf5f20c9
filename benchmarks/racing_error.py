"""How often `anytime` racing stops a strategy it should have kept, and how many rows it saves.

Strategies with known true means answer rows right with that probability (Bernoulli scores,
seeded); `core/racing.py` races them with `anytime` stopping, as a run would, in rounds of 8
rows. A stop is wrong when the strategy's true mean clears the floor but it was stopped for
the floor, or when it was stopped behind a rival whose true mean is not more than the margin
above its own. The confidence sequences promise at most alpha/2 for each kind (alpha = 0.05),
at most alpha in all; this measures it, with the binomial standard error of the rate.

    .venv/bin/python benchmarks/racing_error.py [--runs 300] [--cs eb hoeffding]

No torch: numpy and the racing module only. Writes benchmarks/results/racing_error.json.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import cpu_model, table, write_json  # noqa: E402

from shouldtune.core.racing import ALPHA, FLOOR, LEADER, OUT, Rules, run_race  # noqa: E402


@dataclass(frozen=True)
class Scenario:
    name: str
    means: tuple[float, ...]
    floor: float | None = None
    margin: float = 0.0


SCENARIOS = (
    # the hardest case for both stops: every strategy exactly at the floor and tied
    Scenario("all tied at the floor", (0.5, 0.5, 0.5), floor=0.5),
    Scenario("two tied leaders, one behind", (0.7, 0.7, 0.4)),
    Scenario("spread, floor 0.5", (0.85, 0.8, 0.6, 0.2), floor=0.5),
    Scenario("close behind, margin 0.05", (0.8, 0.76, 0.5), floor=0.3, margin=0.05),
)
SIZES = (40, 154)  # the demo's test set and banking77's


def one_config(s: Scenario, n_rows: int, runs: int, rules: Rules, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    names = [f"s{i}" for i in range(len(s.means))]
    true = dict(zip(names, s.means, strict=True))
    floor = s.floor if s.floor is not None else 0.0
    count = {"floor_at_risk": 0, "floor_wrong": 0, "leader_at_risk": 0, "leader_wrong": 0}
    count.update({"any_wrong": 0, "strategies": 0, "rows": 0, "stops": 0})
    for run in range(runs):
        scores = rng.random((len(names), n_rows)) < np.array(s.means)[:, None]
        lanes = run_race(dict(zip(names, scores.astype(float).tolist(), strict=True)), rules,
                         seed=run)  # fmt: skip
        for name, lane in lanes.items():
            mu = true[name]
            at_risk = any(true[p] <= mu + s.margin for p in names if p != name)
            wrong_floor = lane.why == FLOOR and mu >= floor
            wrong_leader = lane.why == LEADER and true[lane.against or ""] <= mu + s.margin
            count["floor_at_risk"] += mu >= floor
            count["leader_at_risk"] += at_risk
            count["floor_wrong"] += wrong_floor
            count["leader_wrong"] += wrong_leader
            count["any_wrong"] += wrong_floor or wrong_leader
            count["strategies"] += 1
            count["rows"] += len(lane.rows)
            count["stops"] += lane.status == OUT
    return count


def rate(wrong: int, at_risk: int, z: float = 1.645) -> tuple[float, float]:
    """The rate and the top of its one-sided 95% Wilson score interval (Wilson 1927)."""
    if not at_risk:
        return 0.0, 0.0
    p, n = wrong / at_risk, at_risk
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, centre + half


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=300, help="races per configuration")
    ap.add_argument("--cs", nargs="+", default=["eb", "hoeffding"], choices=["eb", "hoeffding"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows, records = [], []
    for cs in args.cs:
        for s in SCENARIOS:
            for n in SIZES:
                rules = Rules(mode="anytime", min_quality=s.floor, quality_margin=s.margin, cs=cs)
                c = one_config(s, n, args.runs, rules, args.seed)
                floor_rate, floor_se = rate(c["floor_wrong"], c["floor_at_risk"])
                lead_rate, lead_se = rate(c["leader_wrong"], c["leader_at_risk"])
                saved = 1 - c["rows"] / (c["strategies"] * n)
                means = "/".join(f"{m:g}" for m in s.means)
                floor = "-" if s.floor is None else f"{s.floor:g}"
                rows.append([cs, s.name, means, floor, f"{s.margin:g}", n, args.runs,
                             f"{c['floor_wrong']}/{c['floor_at_risk']} (≤ {floor_se:.4f})",
                             f"{c['leader_wrong']}/{c['leader_at_risk']} (≤ {lead_se:.4f})",
                             f"{c['stops'] / c['strategies']:.1%}", f"{saved:.1%}"])  # fmt: skip
                records.append({"cs": cs, "scenario": s.name, "means": s.means,
                                "floor": s.floor, "margin": s.margin, "rows": n,
                                "runs": args.runs, **c, "floor_wrong_rate": floor_rate,
                                "leader_wrong_rate": lead_rate, "floor_wrong_upper95": floor_se,
                                "leader_wrong_upper95": lead_se, "rows_saved": saved})  # fmt: skip
    seconds = time.perf_counter() - t0
    headers = ["cs", "scenario", "true means", "floor", "margin", "N", "runs",
               "wrong floor stops", "wrong leader stops", "stopped", "rows saved"]  # fmt: skip
    print(table(headers, rows))
    print(f"wrong stops / strategies at risk (top of the one-sided 95% Wilson interval);"
          f" alpha = {ALPHA}, each kind held to {ALPHA / 2}; {seconds:.1f} s")  # fmt: skip
    bad = [r for r in records if max(r["floor_wrong_rate"], r["leader_wrong_rate"]) > ALPHA]
    machine = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu": cpu_model(),
               "cores": os.cpu_count(), "python": platform.python_version(),
               "numpy": np.__version__,
               "load_average": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    path = write_json("racing_error", {"machine": machine, "alpha": ALPHA, "seconds": seconds,
                                       "configs": records})  # fmt: skip
    print(f"wrote {path}")
    if bad:
        sys.exit(f"error rate over alpha in {len(bad)} configurations")


if __name__ == "__main__":
    main()
