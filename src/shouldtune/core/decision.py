"""The decision procedure, as plain steps over plain numbers (README: "The verdict").

1. Rule out what breaks a hard need: p95 latency clearly over the budget (the low end of its
   bootstrap interval over it), a hosted model when nothing
   may leave the machine, quality whose CI lies below the floor (`min_quality`; without one, a
   strategy that cannot be told from getting nothing right), a lookup that only repeats
   training answers.
2. Leader: the most accurate of the rest.
3. Acceptable: the rest whose paired CI against the leader, and against every other usable
   strategy, does not show them worse by more than `quality_margin` (margin 0: "not
   significantly worse"), counting as equal what a fine-tune's other seeds make equal: a lead
   that one seed in three reverses is not a lead, nor a deficit.
4. Prefer acceptable strategies without a significant probe harm, when there is one.
5. Choose the cheapest: with a stated volume, the lowest total cost over the horizon
   (training x (1 + changes over the horizon) + cost per request x volume x horizon), totals
   within COST_TIE of it being a tie (costs come from timings) that goes to the better score,
   then the cheaper training; without one, no training first, then cheaper training, then
   lower latency.

Every step is a function of `Option`s and `Needs`, so "what would the verdict be if ..." is the
same procedure with other needs (`decide_steps(options, needs.relaxed(...), pairs)`). Ties are
broken by name last: the order in which strategies ran never matters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .needs import Needs
from .stats import Paired, level_label, paired

# A lookup baseline (it returns a training answer) is ruled out when it scores at most this on
# the clean test rows whose answer never appears in train: its score then only measures how
# many test answers repeat training answers.
LOOKUP_UNSEEN_MAX = 0.05
# Latency samples a p95 needs (eval/measure.py keeps the same number; this module stays
# free of numpy's measuring code).
P95_MIN_SAMPLES = 20
# Total costs within this share of the cheapest are a tie: they come from timings, and the
# same strategy's test-set seconds differed by up to 11% between two runs of the demo on one
# machine (benchmarks/results/demo.json and demo_before.json). A tie goes to the better score,
# then the cheaper training.
COST_TIE = 0.10


@dataclass(frozen=True)
class Option:
    """One strategy as the decision sees it: quality, speed, price, control, evidence."""

    name: str
    score: float
    ci_low: float
    ci_high: float
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    cost_per_request: float = 0.0  # money per request at your prices
    training_cost: float = 0.0  # money for one training run
    train_seconds: float = 0.0
    trains: bool = False
    uses_llm: bool = True
    hosted: bool = False
    harms: tuple[str, ...] = ()  # significant probe harms, as phrases
    lookup_unseen: float | None = None  # a lookup's score on unseen-answer rows (else None)
    still_learning: bool = False
    seed_scores: tuple[float, ...] = ()  # a fine-tune's scores on its other seeds (seeds.py)
    latency_n: int = 0  # single requests timed (0: unknown, older results)
    p95_ci: tuple[float, float] | None = None  # the p95's bootstrap interval

    @property
    def p95_floor(self) -> float:
        """The p95 a latency budget is decided on: the low end of its interval (a strategy
        breaks a budget only when it is clearly over it), else the point estimate."""
        return self.p95_ci[0] if self.p95_ci else self.p95_ms

    def over_budget(self, budget: float | None) -> bool:
        """Clearly over a p95 budget (None: no budget)."""
        return budget is not None and self.p95_floor > budget

    def near_budget(self, budget: float | None) -> bool:
        """Kept, but its p95 point estimate is over the budget: the interval still reaches
        under it. The reasons say so."""
        return budget is not None and not self.over_budget(budget) and self.p95_ms > budget

    def one_off(self, needs: Needs) -> float:
        """Training over the horizon: the first run plus one per change of the task."""
        return self.training_cost * (1 + needs.retrainings) if self.trains else 0.0

    def per_request_day(self, needs: Needs) -> float:
        """Cost of one request a day over the whole horizon (the slope against volume)."""
        return self.cost_per_request * needs.horizon_days

    def total_cost(self, needs: Needs) -> float | None:
        if needs.requests is None:
            return None
        return self.one_off(needs) + self.cost_per_request * needs.requests


class Pairs:
    """Paired comparisons over the scored test rows, computed once per pair."""

    def __init__(self, scores: dict[str, Sequence[float]], n_resamples: int, seed: int):
        self.scores, self.n_resamples, self.seed = scores, n_resamples, seed
        self._done: dict[tuple[str, str], Paired] = {}

    def diff(self, a: str, b: str) -> Paired:
        """a minus b."""
        if (a, b) not in self._done:
            self._done[(a, b)] = paired(self.scores[a], self.scores[b], self.n_resamples, self.seed)
        return self._done[(a, b)]


@dataclass
class Decision:
    ruled_out: dict[str, list[str]] = field(default_factory=dict)
    leader: str | None = None
    acceptable: list[str] = field(default_factory=list)
    preferred: list[str] = field(default_factory=list)
    totals: dict[str, float] | None = None
    chosen: str | None = None
    order: str = ""  # how the cheapest was chosen

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def hard_reasons(o: Option, needs: Needs) -> list[str]:
    """Why an option cannot serve these needs, whatever it costs."""
    why = []
    if needs.self_hosted and o.hosted:
        why.append("runs on a hosted model, and nothing may leave this machine (self_hosted)")
    budget = needs.latency_p95_ms
    if budget is not None and o.over_budget(budget):
        ci = f" ({level_label()} CI {o.p95_ci[0]:,.0f}-{o.p95_ci[1]:,.0f})" if o.p95_ci else ""
        few = (
            f"; from only {o.latency_n} requests, too few for a p95 (20), so it is nearly the"
            " slowest of them"
            if 0 < o.latency_n < P95_MIN_SAMPLES
            else ""
        )
        why.append(f"p95 latency {o.p95_ms:,.0f} ms{ci} is over the {budget:,.0f} ms budget{few}")
    return why


def quality_reasons(o: Option, needs: Needs) -> list[str]:
    """Why an option is not usable: below your floor, no better than nothing (whatever floor
    you set: a floor of 0 still means better than nothing), or a lookup of training answers."""
    why = []
    if needs.min_quality is not None and o.ci_high < needs.min_quality:
        why.append(
            f"even the top of its {level_label()} CI ({o.ci_high:.3f}) is below your floor"
            f" of {needs.min_quality:.3f} (min_quality)"
        )
    elif o.score <= 0:
        why.append("not usable: it got no test example right")
    elif o.ci_low <= 0:
        why.append(
            f"not usable: its {level_label()} CI ({o.ci_low:.3f}-{o.ci_high:.3f}) reaches 0, so it"
            " cannot be told from getting nothing right"
        )
    if o.lookup_unseen is not None and o.lookup_unseen <= LOOKUP_UNSEEN_MAX:
        why.append(
            f"a lookup: it can only repeat training answers, and it scores {o.lookup_unseen:.3f}"
            " on the test rows whose answer never appears in train"
        )
    return why


def _by_quality(o: Option) -> tuple:
    return (-o.score, o.trains, o.training_cost, o.cost_per_request, o.p50_ms, o.name)


def cost_tied(total: float, low: float) -> bool:
    """A total within COST_TIE of the lowest: inside the timing noise."""
    return total <= low * (1 + COST_TIE)


def volume_key(o: Option, totals: dict[str, float], low: float) -> tuple:
    """With a stated volume: the totals tied with the lowest first, by score, then training
    cost; then total cost, latency, name."""
    tied = cost_tied(totals[o.name], low)
    return (not tied, -o.score if tied else 0.0, o.training_cost if tied else 0.0,
            totals[o.name], o.p50_ms, o.name)  # fmt: skip


def no_volume_key(o: Option) -> tuple:
    """Without a stated volume: no training first, then cheaper training, then latency."""
    return (o.trains, o.training_cost, o.p50_ms, o.cost_per_request, o.name)


def decide_steps(options: Sequence[Option], needs: Needs, pairs: Pairs) -> Decision:
    """The five steps (module docstring) for these needs."""
    options = sorted(options, key=lambda o: o.name)
    d = Decision()
    for o in options:
        why = hard_reasons(o, needs) + quality_reasons(o, needs)
        if why:
            d.ruled_out[o.name] = why
    rest = [o for o in options if o.name not in d.ruled_out]
    if not rest:
        return d
    leader = min(rest, key=_by_quality)
    d.leader = leader.name
    margin = needs.quality_margin
    # Not worse than the leader, nor than any other usable strategy: paired intervals are
    # not transitive (a runner-up that shares more right rows with `o` can show it worse where
    # the leader cannot), and the cheapest of the acceptable must not be clearly worse than
    # anything you could use instead.
    ok = [
        o
        for o in rest
        if o is leader
        or all(
            p is o or pairs.diff(p.name, o.name).ci_low <= margin or seeds_reverse(p, o, margin)
            for p in rest
        )
    ]
    d.acceptable = [o.name for o in ok]
    clean = [o for o in ok if not o.harms]
    pool = clean or ok
    d.preferred = [o.name for o in pool]
    if needs.requests is not None:
        totals = {o.name: o.total_cost(needs) for o in ok}
        d.totals = {k: v for k, v in totals.items() if v is not None}
        low = min(d.totals[o.name] for o in pool)
        d.chosen = min(pool, key=lambda o: volume_key(o, d.totals or {}, low)).name
        d.order = "lowest total cost over the horizon"
    else:
        d.chosen = min(pool, key=no_volume_key).name
        d.order = "no training first, then cheaper training, then lower latency"
    return d


def seeds_reverse(leader: Option, other: Option, margin: float = 0.0) -> bool:
    """Another seed of the leader scores no better than `other` (within the margin), or
    another seed of `other` scores at least the leader's: the gap is the seed's, not the
    method's."""
    if leader.seed_scores and min(leader.seed_scores) <= other.score + margin:
        return True
    return bool(other.seed_scores) and max(other.seed_scores) + margin >= leader.score


def learning_ceiling(scores: Sequence[float], unreachable: Iterable[int]) -> list[float]:
    """The best a fine-tune could score with more training: every scored row right (1.0, the
    metrics' top) except those whose answer occurs in no training output (`unreachable`: a
    closed-answer task; no training teaches an answer it never sees), which keep their score."""
    blocked = set(unreachable)
    return [float(s) if i in blocked else 1.0 for i, s in enumerate(scores)]


def ceiling_flips(
    options: Sequence[Option], needs: Needs, pairs: Pairs, unreachable: Iterable[int] = ()
) -> dict[str, float]:
    """Still-learning fine-tunes whose training could still change the decision: at their
    ceiling (`learning_ceiling`), a fine-tune would be chosen. {name: ceiling score}. One that
    already ties the leader at the ceiling, or loses on the needs even there, is not listed."""
    from .stats import bootstrap_ci

    blocked, out = list(unreachable), {}
    for o in options:
        if not (o.trains and o.still_learning) or hard_reasons(o, needs):
            continue
        best = learning_ceiling(pairs.scores[o.name], blocked)
        if best == [float(x) for x in pairs.scores[o.name]]:
            continue  # already at its ceiling: more training changes nothing
        mean, lo, hi = bootstrap_ci(best, pairs.n_resamples, pairs.seed)
        top = replace(o, score=mean, ci_low=lo, ci_high=hi)
        swapped = [top if x.name == o.name else x for x in options]
        at = Pairs({**pairs.scores, o.name: best}, pairs.n_resamples, pairs.seed)
        chosen = decide_steps(swapped, needs, at).chosen
        if chosen is not None and by_name(swapped)[chosen].trains:
            out[o.name] = mean
    return out


def without_harms(options: Iterable[Option]) -> list[Option]:
    """The same options as if no probe had found a harm: what step 4 changed."""
    return [replace(o, harms=()) for o in options]


def by_name(options: Iterable[Option]) -> dict[str, Option]:
    return {o.name: o for o in options}


# --- what would change the verdict ------------------------------------------------------


def volume_segments(
    options: Sequence[Option], decision: Decision, needs: Needs
) -> list[tuple[float, str]]:
    """How the cheapest preferred option changes with the volume (requests a day): a list of
    (from this volume on, name), starting at 0. Quality steps do not depend on volume."""
    pool = [o for o in options if o.name in decision.preferred]
    if not pool:
        return []

    def winner(volume: float) -> str:
        at = needs.relaxed(requests_per_day=volume)
        totals = {o.name: o.total_cost(at) or 0.0 for o in pool}
        low = min(totals.values())
        return min(pool, key=lambda o: volume_key(o, totals, low)).name

    cuts = set()  # where two totals cross, or one enters the other's tie band
    for a in pool:
        for b in pool:
            for f in (1.0, 1.0 + COST_TIE):
                slope = a.per_request_day(needs) - f * b.per_request_day(needs)
                if a is not b and slope != 0:
                    v = (f * b.one_off(needs) - a.one_off(needs)) / slope
                    if v > 0:
                        cuts.add(v)
    segments = [(0.0, winner(0.0))]
    for v in sorted(cuts):
        name = winner(v * (1 + 1e-9) + 1e-12)
        if name != segments[-1][1]:
            segments.append((v, name))
    return segments


def latency_flip(
    options: Sequence[Option], needs: Needs, pairs: Pairs, chosen: str | None
) -> tuple[float, str] | None:
    """The largest latency budget, below the current one, under which another strategy would
    be chosen: (budget, name); None when no budget changes the choice."""
    current = needs.latency_p95_ms
    budgets = sorted({o.p95_floor for o in options}, reverse=True)
    for p95 in budgets:
        budget = p95 * (1 - 1e-9)  # just under this strategy's p95 (its floor): it is out
        if current is not None and budget >= current:
            continue
        other = decide_steps(options, needs.relaxed(latency_p95_ms=budget), pairs).chosen
        if other != chosen:
            return p95, other or ""
    return None
