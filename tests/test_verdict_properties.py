"""Properties of the verdict over random result tables (hypothesis).

Each property is one sentence a user relies on without reading the procedure: a worse, dearer,
slower strategy is never the pick; the order strategies ran in, the currency, or an added
hopeless strategy never change it; more volume never moves it to dearer requests; "fine-tune
for quality" always means better than every alternative you could use, the non-LLM baseline
included. Costs come from measured seconds at a price per hour, as in a real run.
"""

from __future__ import annotations

import dataclasses
import os
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shouldtune.core.cost import Prices, cost_report
from shouldtune.core.needs import Needs
from shouldtune.core.stats import bootstrap_ci, paired
from shouldtune.core.types import Quality, StrategyResult, Traits
from shouldtune.core.verdict import decide

pytestmark = pytest.mark.decision

N_ROWS = 24
RESAMPLES = 300  # enough for stable intervals, fast enough for many examples
# Random tables per property. The decision tier must run in a minute, so the suite tries 25;
# `make mutate` re-runs these for every mutant that survives the other tests and tries 5;
# SHOULDTUNE_PROPERTY_EXAMPLES=2000 searches longer. derandomize: the same tables every run.
EXAMPLES = int(os.environ.get("SHOULDTUNE_PROPERTY_EXAMPLES", "25"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)


@dataclasses.dataclass
class Spec:
    name: str
    scores: list[float]
    trains: bool
    uses_llm: bool
    hosted: bool
    p50: float
    p95: float
    eval_seconds: float
    train_seconds: float


def result(s: Spec) -> StrategyResult:
    mean, lo, hi = bootstrap_ci(s.scores, RESAMPLES, 0)
    kind = "fine-tuning" if s.trains else ("baseline" if not s.uses_llm else "prompting")
    return StrategyResult(
        name=s.name,
        kind=kind,
        quality=Quality("exact_match", mean, lo, hi, len(s.scores)),
        latency_ms={"p50": s.p50, "p95": s.p95},
        tokens_per_s=10.0,
        prompt_tokens_mean=50.0,
        train_seconds=s.train_seconds if s.trains else 0.0,
        eval_seconds=s.eval_seconds,
        peak_rss_mb=1.0,
        predictions_file="",
        scores=list(s.scores),
        traits=Traits(trains=s.trains, uses_llm=s.uses_llm, hosted=s.hosted),
    )


def verdict(specs: list[Spec], needs: Needs, per_hour: float = 1.0):
    results = [result(s) for s in specs]
    prices = Prices(per_hour=per_hour, requests_per_day=needs.requests_per_day)
    costs = cost_report(results, N_ROWS, None, prices)
    return decide(results, seed=0, costs=costs, needs=needs, n_resamples=RESAMPLES)


def key(v) -> tuple:
    return (v.recommended, v.fine_tune, tuple(v.drivers), v.status)


def decision(v) -> tuple:
    """What to do, without why: a strategy added as evidence may change the reasons."""
    return (v.recommended, v.fine_tune, v.status)


@st.composite
def specs(draw, n_min: int = 2, n_max: int = 5) -> list[Spec]:
    n = draw(st.integers(n_min, n_max))
    out = []
    for i in range(n):
        trains = draw(st.booleans())
        uses_llm = True if trains else draw(st.booleans())
        p50 = draw(st.floats(1, 2000))
        out.append(
            Spec(
                name=f"s{i}",
                scores=draw(
                    st.lists(st.sampled_from([0.0, 1.0]), min_size=N_ROWS, max_size=N_ROWS)
                ),
                trains=trains,
                uses_llm=uses_llm,
                hosted=False if trains or not uses_llm else draw(st.booleans()),
                p50=p50,
                p95=p50 * draw(st.floats(1, 3)),
                eval_seconds=draw(st.floats(0.5, 200)),
                train_seconds=draw(st.floats(1, 20_000)),
            )
        )
    return out


@st.composite
def needs(draw) -> Needs:
    return Needs(
        requests_per_day=draw(st.none() | st.floats(0.1, 1e6)),
        horizon_days=draw(st.sampled_from([30.0, 365.0, 1095.0])),
        latency_p95_ms=draw(st.none() | st.floats(50, 6000)),
        self_hosted=draw(st.booleans()),
        changes_per_year=draw(st.sampled_from([0.0, 4.0, 52.0])),
        min_quality=draw(st.none() | st.floats(0, 0.9)),
        quality_margin=draw(st.sampled_from([0.0, 0.05, 0.2])),
    )


def dominated_by(
    better: Spec, name: str, rng: random.Random, table: list[Spec] | None = None
) -> Spec:
    """Worse on every example it could be (never better on any), dearer, slower; trains if
    `better` does, may be hosted only where `better` may be. A fine-tune joining others in
    `table` serves at their pooled rate (core/cost.py: the same architecture at the same
    size costs the same per token, its timing only adds evidence of that rate), so its test
    seconds are the pool's mean: a slower one would make every fine-tune dearer."""
    scores = [s if rng.random() < 0.7 else 0.0 for s in better.scores]
    if scores == better.scores:  # strictly worse somewhere, unless nothing can be worse
        ones = [i for i, s in enumerate(scores) if s == 1.0]
        if ones:
            scores[ones[0]] = 0.0
    out = dataclasses.replace(
        better,
        name=name,
        scores=scores,
        trains=better.trains or rng.random() < 0.5,
        uses_llm=True,
        hosted=better.hosted,
        p50=better.p50 * (1 + rng.random()) + 1,
        p95=better.p95 * (1 + rng.random()) + 1,
        eval_seconds=better.eval_seconds * (1 + rng.random()) + 0.1,
        train_seconds=better.train_seconds * (1 + rng.random()) + 1,
    )
    pool = [t.eval_seconds for t in table or [] if t.trains and t.uses_llm]
    if pool and not better.trains:  # it would serve at the pool's rate, maybe faster than
        out = dataclasses.replace(out, trains=False)  # `better`: not dominated then
    if out.trains and pool:
        out = dataclasses.replace(out, eval_seconds=sum(pool) / len(pool))
    return out


@SETTINGS
@given(specs(), needs(), st.randoms(use_true_random=False))
def test_a_worse_dearer_slower_strategy_is_never_recommended(table, need, rng):
    victim = dominated_by(table[0], "zz_dominated", rng)
    v = verdict([*table, victim], need)
    assert v.recommended != "zz_dominated"


@SETTINGS
@given(specs(), needs(), st.randoms(use_true_random=False))
def test_the_order_strategies_ran_in_never_changes_the_verdict(table, need, rng):
    shuffled = table[:]
    rng.shuffle(shuffled)
    a, b = verdict(table, need), verdict(shuffled, need)
    assert dataclasses.asdict(a) == dataclasses.asdict(b)


@SETTINGS
@given(specs(), needs(), st.sampled_from([0.25, 2.0, 1024.0]))
def test_another_currency_never_changes_the_verdict(table, need, factor):
    # Powers of two scale every float price exactly: only the currency's size changes.
    assert key(verdict(table, need)) == key(verdict(table, need, per_hour=factor))


@SETTINGS
@given(specs(), needs(), st.randoms(use_true_random=False))
def test_adding_a_dominated_strategy_never_changes_the_verdict(table, need, rng):
    before = verdict(table, need)
    anchor = table[rng.randrange(len(table))]
    after = verdict([*table, dominated_by(anchor, "zz_dominated", rng, table)], need)
    assert decision(after) == decision(before)


@SETTINGS
@given(specs(), needs(), st.floats(0.1, 1e5), st.floats(1.01, 1000))
def test_more_volume_never_moves_the_pick_to_dearer_requests(table, need, volume, more):
    low = verdict(table, dataclasses.replace(need, requests_per_day=volume))
    high = verdict(table, dataclasses.replace(need, requests_per_day=volume * more))
    if low.recommended and high.recommended:
        costs = cost_report([result(s) for s in table], N_ROWS, None, Prices())
        per = {k: c.cost_per_1k_requests for k, c in costs.per_strategy.items()}
        assert per[high.recommended] <= per[low.recommended]


@st.composite
def rated(draw, low: int, high: int) -> list[float]:
    """N_ROWS scores with between `low` and `high` right answers, in a drawn order."""
    k = draw(st.integers(low, high))
    order = draw(st.permutations(range(N_ROWS)))
    return [1.0 if order[i] < k else 0.0 for i in range(N_ROWS)]


@st.composite
def contests(draw) -> tuple[list[Spec], Needs]:
    """A fine-tune (14-24 of 24 right) often clearly better than 1-3 alternatives and the
    TF-IDF baseline (2-14 right each), under needs without hard budgets: tables where
    fine-tuning for quality is at stake, so the properties below reach their assertions."""
    table = draw(specs(n_min=1, n_max=3))
    for s in table:
        s.scores, s.trains = draw(rated(2, 14)), False
    tune = Spec("tuned", draw(rated(14, 24)), True, True, False, 300.0, 450.0,
                draw(st.floats(0.5, 200)), draw(st.floats(1, 20_000)))  # fmt: skip
    baseline = Spec("baseline", draw(rated(2, 14)), False, False, False, 1.0, 1.5, 0.5, 0.0)
    need = Needs(requests_per_day=draw(st.none() | st.floats(0.1, 1e6)),
                 quality_margin=draw(st.sampled_from([0.0, 0.05])))  # fmt: skip
    return [*table, tune, baseline], need


@SETTINGS
@given(contests())
def test_fine_tune_for_quality_beats_every_usable_alternative_beyond_its_interval(contest):
    table, need = contest
    v = verdict(table, need)
    # Reached in most drawn tables (hypothesis fails a test whose assumptions filter nearly
    # all of them): it once held vacuously, reaching this point in 0 of 500 tables.
    assume(bool(v.fine_tune) and "quality" in v.drivers)
    results = {r.name: r for r in (result(s) for s in table)}
    chosen = results[v.recommended]
    for name, r in results.items():
        if name != v.recommended and not r.traits.trains and name not in v.steps["ruled_out"]:
            assert paired(chosen.scores, r.scores, RESAMPLES, 0).ci_low > 0, name
    assert paired(chosen.scores, results["baseline"].scores, RESAMPLES, 0).ci_low > 0


@SETTINGS
@given(contests())
def test_the_cheapest_usable_strategy_does_not_win_whatever_its_quality(contest):
    table, need = contest
    usable = [s for s in table if s.name not in verdict(table, need).steps["ruled_out"]]
    cheapest = min(usable, key=lambda s: (s.trains, s.eval_seconds, s.name), default=None)
    better = [s for s in usable if s is not cheapest and cheapest is not None
              and paired(s.scores, cheapest.scores, RESAMPLES, 0).ci_low > need.quality_margin]
    assume(bool(better))  # the cheapest is clearly worse than another usable strategy
    assert verdict(table, need).recommended != cheapest.name


def test_pooled_fine_tune_costs_do_not_depend_on_the_order_in_the_last_digit():
    """The case Hypothesis found: three fine-tunes pooled for their serving rate; a plain
    sum in run order changed cost_per_1k in its 16th digit (core/cost.py uses fsum)."""
    import itertools

    zero = [0.0] * 24
    table = [
        Spec("s0", zero, True, True, False, 1.0, 1.0, 97.0, 1.0),
        Spec("s1", zero, True, True, False, 1.0, 1.0, 1.8764113056442824, 1.0),
        Spec("s2", zero, False, False, False, 1.0, 1.0, 1.0, 1.0),
        Spec("s3", zero, True, True, False, 1.0, 1.0, 1.572441231639992, 1.0),
    ]
    need = Needs(horizon_days=30.0)
    first = verdict(table, need)
    assert all(verdict(list(p), need) == first for p in itertools.permutations(table))
