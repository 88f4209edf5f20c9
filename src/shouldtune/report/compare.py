"""What changed between two runs: scores, latency, the verdict, and the predictions.

When both runs scored the same test set, each strategy's score change gets a paired
bootstrap CI over the examples, and changed predictions are listed example by example.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..core.fileio import load_results
from ..core.stats import paired_difference_ci
from ..core.verdict import headline_of
from .browse import load_predictions, truncate
from .numbers import finite


@dataclass
class StrategyDelta:
    name: str
    status: str  # "both", "only in A", "only in B"
    score_a: float | None = None
    score_b: float | None = None
    delta: float | None = None
    delta_ci: tuple[float, float] | None = None  # paired bootstrap, same test set only
    p50_a: float | None = None
    p50_b: float | None = None
    changed_predictions: int = 0

    @property
    def significant(self) -> bool:
        return self.delta_ci is not None and (self.delta_ci[0] > 0 or self.delta_ci[1] < 0)


@dataclass
class ChangedExample:
    strategy: str
    index: int
    input: str
    expected: str
    predicted_a: str
    predicted_b: str
    score_a: float | None
    score_b: float | None


@dataclass
class Comparison:
    run_a: str
    run_b: str
    task_a: str
    task_b: str
    model_a: str
    model_b: str
    same_test_set: bool
    verdict_a: str
    verdict_b: str
    strategies: list[StrategyDelta] = field(default_factory=list)
    changed: list[ChangedExample] = field(default_factory=list)
    metric_a: str = "?"
    metric_b: str = "?"

    @property
    def differs(self) -> list[str]:
        """What makes the two runs' scores incomparable: "task", "metric" (both known)."""
        pairs = (("task", self.task_a, self.task_b), ("metric", self.metric_a, self.metric_b))
        return [what for what, a, b in pairs if "?" not in (a, b) and a != b]

    @property
    def comparable(self) -> bool:
        """Same task and metric: a score change (and a verdict change) means something."""
        return not self.differs

    @property
    def verdict_changed(self) -> bool | None:
        """None when the verdicts are of different tasks or metrics: not a change."""
        return self.verdict_a != self.verdict_b if self.comparable else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict_changed"] = self.verdict_changed
        data["comparable"] = self.comparable
        data["differs"] = self.differs
        for row, s in zip(data["strategies"], self.strategies, strict=True):
            row["significant"] = s.significant
        return data


def _verdict(results: dict) -> str:
    """The report's own headline, so compare and report.md never word a verdict apart."""
    return headline_of(results)


def _same_test_set(*runs: dict[str, list[dict]]) -> bool:
    """Every strategy of both runs answered the same examples, in the same order."""
    sets = [
        [(r.get("input"), r.get("expected")) for r in rows] for p in runs for rows in p.values()
    ]
    return bool(sets) and bool(sets[0]) and all(s == sets[0] for s in sets)


def _metric(results: dict) -> str:
    """The run's task metric (or, in older results, the one its scores name)."""
    name = (results.get("task") or {}).get("metric")
    if not name:
        named = {
            str((s.get("quality") or {}).get("metric"))
            for s in results["strategies"]
            if isinstance(s, dict) and (s.get("quality") or {}).get("metric")
        }
        name = named.pop() if len(named) == 1 else None
    return str(name) if name else "?"


def _by_name(results: dict) -> dict[str, dict]:
    return {str(s.get("name")): s for s in results["strategies"] if isinstance(s, dict)}


def _delta(name: str, a: dict | None, b: dict | None) -> StrategyDelta:
    status = "both" if a and b else ("only in A" if a else "only in B")
    qa, qb = (a or {}).get("quality") or {}, (b or {}).get("quality") or {}
    row = StrategyDelta(
        name,
        status,
        score_a=finite(qa.get("score")),
        score_b=finite(qb.get("score")),
        p50_a=finite(((a or {}).get("latency_ms") or {}).get("p50")),
        p50_b=finite(((b or {}).get("latency_ms") or {}).get("p50")),
    )
    if row.score_a is not None and row.score_b is not None:
        row.delta = row.score_b - row.score_a
    return row


def _changed_rows(name: str, rows_a: list[dict], rows_b: list[dict]) -> list[ChangedExample]:
    out = []
    for ra, rb in zip(rows_a, rows_b, strict=False):
        if ra.get("predicted") != rb.get("predicted"):
            out.append(
                ChangedExample(
                    strategy=name,
                    index=int(ra.get("index", len(out))),
                    input=truncate(ra.get("input"), 160),
                    expected=truncate(ra.get("expected"), 80),
                    predicted_a=truncate(ra.get("predicted"), 120),
                    predicted_b=truncate(rb.get("predicted"), 120),
                    score_a=finite(ra.get("score")),
                    score_b=finite(rb.get("score")),
                )
            )
    return out


def _paired(row: StrategyDelta, rows_a: list[dict], rows_b: list[dict]) -> None:
    sa = [finite(r.get("score")) for r in rows_a]
    sb = [finite(r.get("score")) for r in rows_b]
    if sa and len(sa) == len(sb) and None not in sa and None not in sb:
        _, lo, hi = paired_difference_ci(sb, sa)  # type: ignore[arg-type]
        row.delta_ci = (round(lo, 4), round(hi, 4))


def compare_runs(run_a: Path, run_b: Path) -> Comparison:
    """Per-strategy deltas (B minus A), the verdicts, and every changed prediction."""
    ra, rb = load_results(run_a), load_results(run_b)
    pa, pb = load_predictions(ra, run_a), load_predictions(rb, run_b)
    same = _same_test_set(pa, pb)
    comparison = Comparison(
        run_a=str(run_a),
        run_b=str(run_b),
        task_a=str((ra.get("task") or {}).get("name", "?")),
        task_b=str((rb.get("task") or {}).get("name", "?")),
        model_a=str((ra.get("model") or {}).get("name", "?")),
        model_b=str((rb.get("model") or {}).get("name", "?")),
        same_test_set=same,
        verdict_a=_verdict(ra),
        verdict_b=_verdict(rb),
        metric_a=_metric(ra),
        metric_b=_metric(rb),
    )
    sa, sb = _by_name(ra), _by_name(rb)
    for name in list(dict.fromkeys([*sa, *sb])):
        row = _delta(name, sa.get(name), sb.get(name))
        if not comparison.comparable:
            row.delta = None  # scores under different tasks or metrics: no difference to take
        if row.status == "both" and same:
            rows_a, rows_b = pa.get(name, []), pb.get(name, [])
            if comparison.comparable:
                _paired(row, rows_a, rows_b)
            changed = _changed_rows(name, rows_a, rows_b)
            row.changed_predictions = len(changed)
            comparison.changed += changed
        comparison.strategies.append(row)
    return comparison
