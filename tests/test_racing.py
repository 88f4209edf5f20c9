"""Racing (core/racing.py): the bounds by hand, the race's stops, and two properties.

(a) In `exact` mode a strategy stopped early is one the full evaluation also rules out (below
the floor) or finds not acceptable (behind a usable leader), and no completion of its unscored
rows changes the decision. (b) The confidence sequences cover the true mean at every number of
rows at once, at about the stated rate; a fixed-n interval checked the same way does not.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shouldtune.core.decision import Option, Pairs, decide_steps
from shouldtune.core.needs import Needs
from shouldtune.core.racing import (
    ANYTIME,
    DONE,
    EXACT,
    FLOOR,
    LEADER,
    OUT,
    RUNNING,
    Rules,
    eb_sequence,
    hoeffding_radius,
    hoeffding_sequence,
    mean_cs,
    paired_cs,
    remaining_bound,
    run_race,
    start,
)
from shouldtune.core.stats import bootstrap_ci

pytestmark = pytest.mark.decision

RESAMPLES = 300
EXAMPLES = int(os.environ.get("SHOULDTUNE_PROPERTY_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
LOG40 = math.log(40)  # log(2/alpha) at alpha = 0.05
PSI_HALF = (math.log(2) - 0.5) / 4  # PrPl-EB's psi at the capped bet 1/2


# --- the bounds, by hand ------------------------------------------------------------------


def test_remaining_rows_bound_is_what_the_unseen_rows_could_give():
    assert remaining_bound(3, 5, 10) == (0.3, 0.8)  # 3/10 .. (3 + 5)/10
    assert remaining_bound(0, 0, 4) == (0.0, 1.0)
    assert remaining_bound(7, 10, 10) == (0.7, 0.7)
    with pytest.raises(ValueError):
        remaining_bound(1, 11, 10)


def test_stitched_hoeffding_radius_by_hand():
    # 0.85 * sqrt(log log 2 + 0.72 log(10.4 / 0.05)) = 0.85 * sqrt(-0.36651 + 3.84303)
    assert hoeffding_radius(1) == pytest.approx(1.58486, abs=1e-5)
    # t = 100: 0.85 * sqrt((log log 200 + 3.84303) / 100) = 0.85 * sqrt(5.51042 / 100)
    assert hoeffding_radius(100) == pytest.approx(0.19953, abs=1e-5)
    assert hoeffding_radius(100, width=2.0) == pytest.approx(2 * 0.19953, abs=1e-5)
    assert hoeffding_radius(0) == math.inf
    low, high = hoeffding_sequence([0.5] * 100)
    assert low[-1] == pytest.approx(0.5 - 0.19953, abs=1e-5)
    assert high[-1] == pytest.approx(0.5 + 0.19953, abs=1e-5)


def test_empirical_bernstein_by_hand_on_a_run_of_right_answers():
    # All ones: every bet is the cap 1/2, the centre is 1, mu_{i-1} = (i - 1/2)/i so
    # v_i = 4 (1/(2i))^2 = 1/i^2, and the low end after t rows is
    # 1 - (log 40 + psi(1/2) sum_{i<=t} 1/i^2) / (t/2).
    for t in (8, 16, 20):
        by_hand = 1 - (LOG40 + PSI_HALF * sum(1 / i**2 for i in range(1, t + 1))) / (t / 2)
        assert mean_cs([1.0] * t) == pytest.approx((max(by_hand, 0.0), 1.0), abs=1e-12)
    assert mean_cs([1.0] * 20)[0] == pytest.approx(0.62340, abs=1e-5)
    assert mean_cs([0.0] * 16)[1] == pytest.approx(0.47067, abs=1e-5)  # the mirror image
    assert mean_cs([]) == (0.0, 1.0)


def test_paired_sequence_maps_differences_onto_the_unit_interval():
    # a - b = 1 on 20 rows: (d + 1)/2 = 1, so the low end is 2 * 0.62340 - 1.
    low, high = paired_cs([1.0] * 20, [0.0] * 20)
    assert (low, high) == pytest.approx((2 * 0.62340 - 1, 1.0), abs=1e-5)
    assert paired_cs([0.0] * 20, [1.0] * 20) == pytest.approx((-1.0, -(2 * 0.62340 - 1)), abs=1e-5)
    with pytest.raises(ValueError):
        paired_cs([1.0], [1.0, 0.0])


def test_sequences_only_narrow_and_reject_scores_outside_the_unit_interval():
    xs = np.random.default_rng(3).random(60)
    for low, high in (eb_sequence(xs), hoeffding_sequence(xs)):
        assert np.all(np.diff(low) >= 0) and np.all(np.diff(high) <= 0) and np.all(low <= high)
    with pytest.raises(ValueError):
        eb_sequence([0.5, 1.5])


# --- the race -------------------------------------------------------------------------------


def test_exact_floor_stop_after_one_round():
    # 8 wrong of 16 with the floor at 0.9: even 8 more right rows give a mean of 0.5, whose
    # interval's top stays under 0.9. The rival, all right, runs to the end.
    lanes = run_race({"a": [0.0] * 16, "b": [1.0] * 16}, Rules(min_quality=0.9, n_resamples=300))
    a, b = lanes["a"], lanes["b"]
    assert (a.status, a.why, len(a.rows), (a.low, a.high)) == (OUT, FLOOR, 8, (0.0, 0.5))
    assert "below your floor of 0.900" in a.detail
    assert (b.status, len(b.rows), b.mean) == (DONE, 16, 1.0)
    assert a.rows == b.rows[:8]  # the same seeded order


def test_exact_leader_stop_needs_the_best_completion_behind_the_worst():
    # All wrong against all right on 40 rows: after n rows the loser scores at most
    # (40 - n)/40 and the leader at least n/40; at n = 24 (0.4 against 0.6) the paired lead,
    # +1 on 24 rows and -1 on 16, is not yet clear; at n = 32 (0.2 against 0.8) it is.
    lanes = run_race({"lead": [1.0] * 40, "o": [0.0] * 40}, Rules(n_resamples=RESAMPLES))
    o = lanes["o"]
    assert (o.status, o.why, o.against, len(o.rows)) == (OUT, LEADER, "lead", 32)
    assert "at most 0.200 against lead's 0.800" in o.detail
    # Without the floor, all-wrong rows never stop it for the floor: 8 right rows could follow.
    # And a rival that may not lead (a hard need may rule it out) stops nobody.
    only_o = Rules(n_resamples=RESAMPLES, leaders=frozenset({"o"}))
    assert run_race({"lead": [1.0] * 40, "o": [0.0] * 40}, only_o)["o"].status == DONE


def test_anytime_floor_stop_by_hand():
    # 16 wrong rows: the sequence's top is 0.47067 (by hand above), under the floor of 0.5;
    # after 8 it is 0.94066, over it.
    rules = Rules(mode=ANYTIME, min_quality=0.5)
    lanes = run_race({"a": [0.0] * 40, "b": [1.0] * 40}, rules)
    assert (lanes["a"].status, lanes["a"].why, len(lanes["a"].rows)) == (OUT, FLOOR, 16)
    assert lanes["a"].high == pytest.approx(0.47067, abs=1e-5)
    assert lanes["b"].status == DONE and lanes["b"].low == pytest.approx(0.81164, abs=1e-5)


def test_anytime_leader_stop_is_paired_with_a_bonferroni_split():
    # b - a = 1 on every row: with one rival (alpha) the low end after 16 rows is
    # 2 * (1 - 0.47067) - 1 = +0.059 > 0; with two rivals each pair is at alpha/2 and it
    # takes longer.
    two = run_race({"a": [0.0] * 40, "b": [1.0] * 40}, Rules(mode=ANYTIME))
    assert (two["a"].why, two["a"].against, len(two["a"].rows)) == (LEADER, "b", 16)
    three = run_race({"a": [0.0] * 40, "b": [1.0] * 40, "c": [1.0] * 40}, Rules(mode=ANYTIME))
    assert three["a"].why == LEADER and len(three["a"].rows) == 24


def test_race_api_rounds_and_refusals():
    race = start(["x", "y"], 20, Rules(mode=ANYTIME, min_quality=0.5), seed=4)
    assert sorted(race.order) == list(range(20))
    assert race.order == start(["x"], 20, seed=4).order  # the order is the seed's alone
    nxt = race.next_rows(8)
    assert nxt["x"] == nxt["y"] == race.order[:8]
    race = race.add({"x": [0.0] * 8, "y": [1.0] * 8}).add({"x": [0.0] * 8, "y": [1.0] * 8})
    assert race.lanes()["x"].status == OUT and race.running() == ["y"]
    with pytest.raises(ValueError):
        race.add({"x": [1.0]})  # out for good
    with pytest.raises(ValueError):
        race.add({"y": [1.0] * 5})  # only 4 rows left
    assert race.lanes()["y"].status == RUNNING


def test_racing_imports_no_torch():
    code = "import sys, shouldtune.core.racing; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- (a) exact stops agree with the full evaluation ------------------------------------------


@st.composite
def tables(draw) -> dict[str, list[float]]:
    n = draw(st.sampled_from([32, 40]))
    k = draw(st.sampled_from([2, 2, 3, 4]))  # two strategies: leader stops are settled soonest
    rng = draw(st.randoms(use_true_random=False))
    out = {}
    for i in range(k):
        # s0 is strong, so most tables have someone to fall behind
        rate = draw(st.sampled_from([0.95, 1.0] if i == 0 else [0.0, 0.05, 0.1, 0.3, 0.5, 0.9]))
        graded = draw(st.booleans())  # partial credit (token F1 and the like) or right/wrong
        row = [min(1.0, rng.random() * 2 * rate) if graded else float(rng.random() < rate)
               for _ in range(n)]  # fmt: skip
        out[f"s{i}"] = [round(x, 2) for x in row]
    return out


def full_decision(table: dict[str, list[float]], needs: Needs):
    options = [Option(s, *bootstrap_ci(v, RESAMPLES, 0)) for s, v in table.items()]
    return decide_steps(options, needs, Pairs(table, RESAMPLES, 0))


def completed(table: dict[str, list[float]], lanes, fill: float) -> dict[str, list[float]]:
    """The stopped strategies' unscored rows set to `fill`."""
    out = {}
    for s, v in table.items():
        seen = set(lanes[s].rows)
        out[s] = [x if i in seen else fill for i, x in enumerate(v)]
    return out


def test_exact_stops_never_change_the_full_evaluations_decision():
    reach: Counter[str] = Counter()

    @SETTINGS
    @given(
        tables(),
        st.sampled_from([None, None, 0.5, 0.7, 0.9]),
        st.sampled_from([0.0, 0.05]),
        st.integers(0, 3),
        st.sampled_from([4, 8]),
    )
    def check(table, floor, margin, seed, size):
        needs = Needs(min_quality=floor, quality_margin=margin)
        rules = Rules(EXACT, floor, margin, n_resamples=RESAMPLES)
        lanes = run_race(table, rules, seed, size)
        full = full_decision(table, needs)
        leader_out = {s for s, lane in lanes.items() if lane.why == LEADER}
        for s, lane in lanes.items():
            if lane.why == FLOOR:
                assert s in full.ruled_out
            if lane.why == LEADER:
                assert s not in full.acceptable and s != full.leader
            reach[lane.why or "kept"] += 1
        for fill in (0.0, 1.0):  # any completion: the same decision
            other = full_decision(completed(table, lanes, fill), needs)
            assert (other.leader, other.acceptable, other.chosen) == (
                full.leader,
                full.acceptable,
                full.chosen,
            )
            assert set(other.ruled_out) - leader_out == set(full.ruled_out) - leader_out
        reach["examples"] += 1
        reach["some stop"] += any(lane.status == OUT for lane in lanes.values())

    check()
    # Not vacuous: most tables stop something, and both kinds of stop occur.
    # Not vacuous: a good share of tables stop something, and each kind of stop is reached.
    # (Hypothesis draws differ with the modules loaded — the whole suite drew 18 of 40 tables
    # with a stop and 4 leader stops where this file alone draws 26 and 17 — so the bars are
    # set below both; `make mutate` draws only 5 tables.)
    assert reach["some stop"] >= reach["examples"] // 4, reach
    least = 3 if EXAMPLES >= 40 else 1
    assert reach[FLOOR] >= least and reach[LEADER] >= 1, reach


# --- (b) coverage at all times ----------------------------------------------------------------


def misses_at_any_time(sequence, mean: float, streams: np.ndarray) -> int:
    missed = 0
    for xs in streams:
        low, high = sequence(xs)
        missed += bool(np.any((low > mean) | (high < mean)))
    return missed


def naive_sequence(xs):
    """A fixed-n 95% normal interval read after every row: not valid at all times."""
    t = np.arange(1, len(xs) + 1)
    mean = np.cumsum(xs) / t
    sd = np.sqrt(np.maximum(np.cumsum(np.square(xs)) / t - mean**2, 1e-12))
    return mean - 1.96 * sd / np.sqrt(t), mean + 1.96 * sd / np.sqrt(t)


def test_confidence_sequences_cover_the_true_mean_at_all_times():
    tally: Counter[str] = Counter()

    @SETTINGS
    @given(st.floats(0.05, 0.95), st.booleans(), st.integers(0, 2**32 - 1))
    def check(mean, graded, seed):
        rng = np.random.default_rng(seed)
        shape = (40, 154)
        draws = rng.beta(4 * mean, 4 * (1 - mean), shape) if graded else rng.random(shape) < mean
        streams = draws.astype(float)
        tally["streams"] += len(streams)
        tally["eb"] += misses_at_any_time(eb_sequence, mean, streams)
        tally["hoeffding"] += misses_at_any_time(hoeffding_sequence, mean, streams)
        tally["naive"] += misses_at_any_time(naive_sequence, mean, streams)
        diffs = (rng.random(shape) < mean).astype(float) - (rng.random(shape) < 0.5)
        for d in diffs:  # the last interval is the intersection over all rows
            low, high = paired_cs(d, np.zeros_like(d))
            tally["paired"] += not low <= mean - 0.5 <= high

    check()
    n, alpha = tally["streams"], 0.05
    slack = 3 * math.sqrt(alpha * (1 - alpha) / n)
    for cs in ("eb", "hoeffding", "paired"):
        assert tally[cs] / n <= alpha + slack, tally
    assert tally["naive"] / n > alpha + slack, tally  # the check can fail: a fixed-n CI does
