"""Racing: score a strategy only while more rows could change the decision (issue 32).

Every strategy is scored on the same seeded order of the test rows, in rounds (`ROUND` rows).
After each round a strategy may be decided out, for good, because it

- "cannot clear the usability floor" (`core.decision.quality_reasons`: the top of its interval
  below `min_quality`, or, without a floor, an interval that reaches 0), or
- "cannot reach the leader's lower bound": a strategy `p` that may lead is ahead of it, on the
  rows both saw (paired), by more than `quality_margin`.

Two stopping modes:

- `exact`: on what the rows not yet scored could still give (every one right, or every one
  wrong). The full-set mean lies in [S/N, (S + N - n)/N] (`remaining_bound`), and the run's own
  percentile-bootstrap intervals (same resamples, same seed) are nondecreasing in every row's
  score (each resampled mean is a nonnegative combination of rows; order statistics are
  monotone), so filling the unscored rows with 1 (or 0) gives the best (worst) interval the
  full evaluation could report. A stop is taken only when every completion gives the same
  decision: the verdict is provably the one the full evaluation reaches (see `_exact_out`).
- `anytime`: on a confidence sequence, valid at every number of rows at once, so stopping at a
  data-dependent time keeps its error rate: a strategy whose true mean clears the floor is
  stopped for the floor with probability at most alpha/2, and one whose true mean is within
  the margin of every rival's is stopped for the leader with probability at most alpha/2
  (a Bonferroni split over the rivals), so at most alpha in all.

Confidence sequences (two-sided, level 1 - alpha, alpha/2 a side):

- predictable plug-in empirical Bernstein, PrPl-EB (Waudby-Smith & Ramdas 2023, "Estimating
  means of bounded random variables by betting", JRSSB 86(1), Theorem 2 and eq. 13-15), for
  x_i in [0, 1]:  mu_t = (1/2 + sum x_i)/(t + 1),  s2_t = (1/4 + sum (x_i - mu_i)^2)/(t + 1),
  lam_t = min(sqrt(2 log(2/alpha) / (s2_{t-1} t log(1 + t))), 1/2),  v_t = 4 (x_t - mu_{t-1})^2,
  psi(l) = (-log(1 - l) - l)/4,
  C_t = sum lam_i x_i / sum lam_i  +-  (log(2/alpha) + sum v_i psi(lam_i)) / sum lam_i,
  intersected over time (a running max of the low ends, min of the high ends);
- stitched Hoeffding (Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric,
  nonasymptotic confidence sequences", Ann. Statist. 49(2), eq. 11 with eta = 2, s = 1.4):
  for sums of 1-sub-Gaussian increments P(exists t: S_t >= 1.7 sqrt(t (log log 2t + 0.72
  log(5.2/a)))) <= a; scores in [lo, hi] are (hi - lo)/2-sub-Gaussian, so the mean's radius
  at t rows is 0.85 (hi - lo) sqrt((log log 2t + 0.72 log(10.4/alpha)) / t).

Paired differences a_i - b_i lie in [-1, 1]: PrPl-EB runs on (d + 1)/2 and maps back.
The race itself never imports torch; it sits beside core/decision.py and reuses its rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .decision import Option, quality_reasons
from .needs import Needs
from .stats import BOOTSTRAP_SAMPLES, CONFIDENCE, bootstrap_ci, level_label, paired

ALPHA = round(1 - CONFIDENCE, 10)  # the run's 95%: 0.05
ROUND = 8  # rows revealed to every running strategy per round
EXACT, ANYTIME = "exact", "anytime"
RUNNING, OUT, DONE = "running", "out", "done"
FLOOR = "cannot clear the usability floor"
LEADER = "cannot reach the leader's lower bound"
EB_CAP = 0.5  # c in PrPl-EB: the largest bet


# --- bounds -------------------------------------------------------------------------------


def remaining_bound(total: float, seen: int, n_rows: int) -> tuple[float, float]:
    """The full-set mean whatever the unseen rows give: [S/N, (S + N - n)/N]."""
    if not 0 <= seen <= n_rows or n_rows <= 0:
        raise ValueError("need 0 <= seen <= n_rows and n_rows > 0")
    return total / n_rows, (total + n_rows - seen) / n_rows


def hoeffding_radius(t: int, alpha: float = ALPHA, width: float = 1.0) -> float:
    """Stitched Hoeffding radius of the mean of t scores spanning `width`, two-sided."""
    if t < 1:
        return math.inf
    slack = math.log(math.log(2 * t)) + 0.72 * math.log(10.4 / alpha)
    return 0.85 * width * math.sqrt(slack / t)


def hoeffding_sequence(xs: Sequence[float], alpha: float = ALPHA) -> tuple[np.ndarray, ...]:
    """(low, high) after each of the scores xs in [0, 1], intersected over time."""
    x = _unit(xs)
    t = np.arange(1, x.size + 1, dtype=float)
    radius = np.array([hoeffding_radius(int(k), alpha) for k in t])
    mean = np.cumsum(x) / t
    return _intersect(mean - radius, mean + radius)


def eb_sequence(xs: Sequence[float], alpha: float = ALPHA) -> tuple[np.ndarray, ...]:
    """PrPl-EB (low, high) after each of the scores xs in [0, 1] (module docstring)."""
    x = _unit(xs)
    t = np.arange(1, x.size + 1, dtype=float)
    mu = (0.5 + np.cumsum(x)) / (t + 1)
    s2 = (0.25 + np.cumsum((x - mu) ** 2)) / (t + 1)
    mu_prev = np.concatenate(([0.5], mu[:-1]))
    s2_prev = np.concatenate(([0.25], s2[:-1]))
    log_a = math.log(2 / alpha)
    lam = np.minimum(np.sqrt(2 * log_a / (s2_prev * t * np.log1p(t))), EB_CAP)
    psi = (-np.log1p(-lam) - lam) / 4
    v = 4 * (x - mu_prev) ** 2
    weight = np.cumsum(lam)
    centre = np.cumsum(lam * x) / weight
    radius = (log_a + np.cumsum(v * psi)) / weight
    return _intersect(centre - radius, centre + radius)


def mean_cs(xs: Sequence[float], alpha: float = ALPHA, cs: str = "eb") -> tuple[float, float]:
    """The confidence sequence's interval for the mean of [0, 1] scores after all of xs."""
    if len(xs) == 0:
        return 0.0, 1.0
    low, high = (eb_sequence if cs == "eb" else hoeffding_sequence)(xs, alpha)
    return float(low[-1]), float(high[-1])


def paired_cs(
    a: Sequence[float], b: Sequence[float], alpha: float = ALPHA, cs: str = "eb"
) -> tuple[float, float]:
    """Interval for the mean of a_i - b_i in [-1, 1] over the same rows, in row order."""
    if len(a) != len(b):
        raise ValueError("paired scores must cover the same rows")
    shifted = (np.asarray(a, float) - np.asarray(b, float) + 1) / 2
    low, high = mean_cs(shifted, alpha, cs)
    return 2 * low - 1, 2 * high - 1


def _unit(xs: Sequence[float]) -> np.ndarray:
    x = np.asarray(xs, dtype=float)
    if x.size and (not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1):
        raise ValueError("scores must lie in [0, 1]")
    return x


def _intersect(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, ...]:
    low = np.maximum.accumulate(np.clip(low, 0.0, 1.0))
    high = np.minimum.accumulate(np.clip(high, 0.0, 1.0))
    return low, np.maximum(high, low)


# --- the race -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """What a stop is decided on. `n_resamples` and `seed` must be the run's own (exact mode
    reproduces its intervals). `leaders`: the strategies that may lead, i.e. that no hard need
    (hosted, latency) rules out; None: every strategy."""

    mode: str = EXACT
    min_quality: float | None = None
    quality_margin: float = 0.0
    alpha: float = ALPHA
    cs: str = "eb"  # anytime: "eb" (PrPl-EB) or "hoeffding" (stitched)
    n_resamples: int = BOOTSTRAP_SAMPLES
    seed: int = 0
    leaders: frozenset[str] | None = None


@dataclass(frozen=True)
class Lane:
    """One strategy's state: its rows (test-row indices, in scoring order), the interval it
    reached (exact: the full-set mean's remaining-rows bound; anytime: the confidence
    sequence), and, when out, why, against whom, and the numbers."""

    name: str
    status: str
    rows: tuple[int, ...]
    mean: float
    low: float
    high: float
    why: str = ""
    against: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Race:
    order: tuple[int, ...]  # test-row indices in the seeded order every strategy follows
    rules: Rules
    scores: Mapping[str, tuple[float, ...]]  # per strategy, in `order`
    stopped: Mapping[str, Lane] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return len(self.order)

    def running(self) -> list[str]:
        return [s for s in sorted(self.scores) if s not in self.stopped and not self.full(s)]

    def full(self, name: str) -> bool:
        return len(self.scores[name]) >= self.n_rows

    def next_rows(self, size: int = ROUND) -> dict[str, tuple[int, ...]]:
        """The rows each running strategy is scored on next."""
        return {s: self.order[len(self.scores[s]) : len(self.scores[s]) + size]
                for s in self.running()}  # fmt: skip

    def add(self, new: Mapping[str, Sequence[float]]) -> Race:
        """These strategies' scores on their next rows (in `next_rows` order), then the stops
        they allow. A strategy already out takes no more rows."""
        scores = dict(self.scores)
        for name, values in new.items():
            if name in self.stopped or len(scores[name]) + len(values) > self.n_rows:
                raise ValueError(f"{name} takes no more rows")
            scores[name] = scores[name] + tuple(float(v) for v in _unit(values))
        grown = replace(self, scores=scores)
        return replace(grown, stopped={**self.stopped, **_stops(grown)})

    def lanes(self) -> dict[str, Lane]:
        return {s: self.stopped.get(s) or _lane(self, s) for s in sorted(self.scores)}


def start(names: Sequence[str], n_rows: int, rules: Rules | None = None, seed: int = 0) -> Race:
    """A race over n_rows test rows in an order drawn from `seed`."""
    order = tuple(int(i) for i in np.random.default_rng(seed).permutation(n_rows))
    return Race(order, rules or Rules(), {s: () for s in names})


def run_race(
    table: Mapping[str, Sequence[float]],
    rules: Rules | None = None,
    seed: int = 0,
    size: int = ROUND,
) -> dict[str, Lane]:
    """Race strategies whose every test-row score is known (tests, simulations): reveal them
    round by round, as a run would score them."""
    n = len(next(iter(table.values())))
    race = start(list(table), n, rules, seed)
    while race.running():
        rows = race.next_rows(size)
        race = race.add({s: [table[s][i] for i in r] for s, r in rows.items()})
    return race.lanes()


def _lane(
    race: Race, name: str, why: str = "", against: str | None = None, detail: str = ""
) -> Lane:
    seen = race.scores[name]
    n, total = len(seen), float(np.sum(seen)) if seen else 0.0
    if race.rules.mode == EXACT:
        low, high = remaining_bound(total, n, race.n_rows)
    else:
        low, high = mean_cs(seen, race.rules.alpha, race.rules.cs)
    status = OUT if why else (DONE if n >= race.n_rows else RUNNING)
    mean = total / n if n else 0.0
    return Lane(name, status, race.order[:n], mean, low, high, why, against, detail)


def _stops(race: Race) -> dict[str, Lane]:
    decide: Callable[[Race, str], tuple[str, str | None, str] | None]
    decide = _exact_out if race.rules.mode == EXACT else _anytime_out
    out = {}
    for name in race.running():
        found = decide(race, name)
        if found:
            out[name] = _lane(race, name, *found)
    return out


def _leaders(race: Race, name: str) -> list[str]:
    pool = race.rules.leaders
    return [s for s in sorted(race.scores) if s != name and (pool is None or s in pool)]


# --- anytime ------------------------------------------------------------------------------


def _anytime_out(race: Race, name: str) -> tuple[str, str | None, str] | None:
    r, seen = race.rules, race.scores[name]
    floor = r.min_quality if r.min_quality is not None else 0.0
    low, high = mean_cs(seen, r.alpha, r.cs)
    if high < floor:
        detail = (
            f"its confidence sequence after {len(seen)} rows ({low:.3f}-{high:.3f}, level"
            f" {1 - r.alpha:.0%}) lies below the floor of {floor:.3f}"
        )
        return FLOOR, None, detail
    rivals = _leaders(race, name)
    best: tuple[float, float, str, int] | None = None
    for p in rivals:
        n = min(len(seen), len(race.scores[p]))
        if n == 0:
            continue
        lo, hi = paired_cs(race.scores[p][:n], seen[:n], r.alpha / len(rivals), r.cs)
        if lo > r.quality_margin and (best is None or lo > best[0]):
            best = (lo, hi, p, n)
    if best is None:
        return None
    lo, hi, p, n = best
    detail = (
        f"{p} leads it by {lo:+.3f} to {hi:+.3f} on the {n} rows both saw (confidence sequence,"
        f" level {1 - r.alpha / len(rivals):.2%} a rival), above the margin {r.quality_margin:.3f}"
    )
    return LEADER, p, detail


# --- exact --------------------------------------------------------------------------------


def _filled(race: Race, name: str, fill: float) -> np.ndarray:
    """The strategy's full-set scores in test-row order, unscored rows set to `fill`."""
    seen = race.scores[name]
    v = np.full(race.n_rows, fill, dtype=float)
    v[list(race.order[: len(seen)])] = seen
    return v


def _reasons(v: np.ndarray, r: Rules) -> list[str]:
    """The run's quality rule on these full-set scores."""
    mean, lo, hi = bootstrap_ci(v, r.n_resamples, r.seed)
    return quality_reasons(Option("", mean, lo, hi), Needs(min_quality=r.min_quality))


def _ahead(p: np.ndarray, o: np.ndarray, r: Rules) -> tuple[bool, float]:
    """p's paired lead over o shows o worse by more than the margin (decision step 3)."""
    low = paired(p, o, r.n_resamples, r.seed).ci_low
    return low > r.quality_margin, low


def _exact_out(race: Race, name: str) -> tuple[str, str | None, str] | None:
    """Out only when no completion of the unscored rows changes the full evaluation's
    decision: for the floor, even all-right rows leave it unusable; for the leader, a rival
    `p` that stays usable even with all-wrong rows (1) outscores its best mean, so it is never
    the leader, (2) stays ahead of it in the paired comparison beyond the margin, so it is
    never acceptable, and (3) its own part in the others' comparisons is settled: for every
    other strategy q, q is unusable whatever comes, or it shows q worse under no completion,
    or it is usable and shows q worse under every completion."""
    r, n_left = race.rules, race.n_rows - len(race.scores[name])
    best = _filled(race, name, 1.0)
    why = _reasons(best, r)
    if why:
        return FLOOR, None, f"with all {n_left} unscored rows right: " + "; ".join(why)
    for p in _leaders(race, name):
        worst_p = _filled(race, p, 0.0)
        if not worst_p.mean() > best.mean() or _reasons(worst_p, r):
            continue
        ahead, low = _ahead(worst_p, best, r)
        if ahead and _settled(race, name):
            detail = (
                f"with its {n_left} unscored rows right and {p}'s wrong, it scores at most"
                f" {best.mean():.3f} against {p}'s {worst_p.mean():.3f}, and the low end of"
                f" {p}'s paired {level_label()} CI over it is {low:+.3f}, above the margin"
                f" {r.quality_margin:.3f}"
            )
            return LEADER, p, detail
    return None


def _settled(race: Race, name: str) -> bool:
    """Condition (3) of `_exact_out`."""
    r = race.rules
    best, worst = _filled(race, name, 1.0), _filled(race, name, 0.0)
    for q in race.scores:
        if q == name or _reasons(_filled(race, q, 1.0), r):
            continue
        if not _ahead(best, _filled(race, q, 0.0), r)[0]:
            continue  # never shows q worse
        if _reasons(worst, r) or not _ahead(worst, _filled(race, q, 1.0), r)[0]:
            return False
    return True
