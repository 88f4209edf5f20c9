"""core/decision.py's steps on plain Options: the latency budget's edge, the preference for
strategies without a probe harm, where the volume cuts fall and what the latency flip reports
(survivors of `make mutate`, issue 22). Each test names the change it catches."""

from __future__ import annotations

import pytest

from shouldtune.core.decision import (
    Option,
    Pairs,
    decide_steps,
    hard_reasons,
    latency_flip,
    volume_segments,
)
from shouldtune.core.needs import Needs

pytestmark = pytest.mark.decision

N = 20
GOOD = [1.0] * N  # every option below scores the same: quality never decides here


def opt(name: str, score: float = 1.0, **kw) -> Option:
    return Option(name=name, score=score, ci_low=score, ci_high=score, **kw)


def same_pairs(*names: str) -> Pairs:
    return Pairs({n: GOOD for n in names}, 100, 0)


def test_a_strategy_is_no_fine_tune_so_it_pays_no_training_whatever_its_training_cost():
    # `if self.trains` -> always: a prompt's (recorded) training cost would count.
    needs = Needs(changes_per_year=1.0)
    assert opt("p", training_cost=5.0).one_off(needs) == 0.0
    assert opt("t", training_cost=5.0, trains=True).one_off(needs) == 10.0


def test_a_p95_exactly_at_the_budget_meets_it():
    # `>` -> `>=`: a strategy at the budget would be ruled out.
    assert hard_reasons(opt("a", p95_ms=200.0), Needs(latency_p95_ms=200.0)) == []
    assert hard_reasons(opt("a", p95_ms=200.1), Needs(latency_p95_ms=200.0)) != []


def test_an_acceptable_strategy_without_a_probe_harm_is_preferred_over_a_cheaper_one_with():
    # The harm-free pool dropped (`clean = None`) or inverted: the cheaper harmful one wins.
    harmful = opt("a_harmful", harms=("forgets facts",), p50_ms=10.0)
    clean = opt("b_clean", p50_ms=50.0)
    for needs in (Needs(), Needs(requests_per_day=10)):
        d = decide_steps([harmful, clean], needs, same_pairs("a_harmful", "b_clean"))
        assert d.acceptable == ["a_harmful", "b_clean"]
        assert (d.preferred, d.chosen) == (["b_clean"], "b_clean")


@pytest.fixture
def no_tie(monkeypatch):
    """Where two totals cross, without the timing-noise band (tested on its own below)."""
    from shouldtune.core import decision

    monkeypatch.setattr(decision, "COST_TIE", 0.0)


def segments(options: list[Option], needs: Needs | None = None) -> list[tuple[float, str]]:
    needs = needs or Needs(horizon_days=1.0)
    names = [o.name for o in options]
    d = decide_steps(options, needs, same_pairs(*names))
    return volume_segments(options, d, needs)


def test_a_volume_cut_is_where_the_two_totals_meet_with_both_paying_training(no_tie):
    # one_off difference `b - a` -> `b + a`: the cut would be at 120, not 100.
    cheap_start = opt("a", trains=True, training_cost=10.0, cost_per_request=1.0)
    cheap_calls = opt("b", trains=True, training_cost=110.0, cost_per_request=0.0)
    assert segments([cheap_start, cheap_calls]) == [(0.0, "a"), (100.0, "b")]


def test_the_volume_cuts_compare_every_pair_not_only_neighbours(no_tie):
    # `pool[i + 1 :]` -> `pool[i - 1 :]` skips the pair (first, third) of four.
    a = opt("a", cost_per_request=1.0)
    b = opt("b", trains=True, training_cost=1000.0, cost_per_request=1.0)
    c = opt("c", trains=True, training_cost=100.0, cost_per_request=0.0)
    d = opt("d", trains=True, training_cost=1000.0, cost_per_request=1.0)
    assert segments([a, b, c, d]) == [(0.0, "a"), (100.0, "c")]


def test_each_segment_is_named_by_the_winner_just_after_its_cut(no_tie):
    # The winner read at 2x the cut, at cut + 1, or at no volume (the fastest) names the
    # wrong strategy: cuts at 100 and 101, and the cheapest per request is the slowest.
    a = opt("a", cost_per_request=1.0, p50_ms=1.0)
    b = opt("b", trains=True, training_cost=50.0, cost_per_request=0.5, p50_ms=2.0)
    c = opt("c", trains=True, training_cost=100.5, cost_per_request=0.0, p50_ms=3.0)
    assert segments([a, b, c]) == [(0.0, "a"), (100.0, "b"), (101.0, "c")]


def test_a_cut_below_a_thousandth_of_a_request_a_day_is_still_found(no_tie):
    # The winner read at cut - 1e-12 instead of + 1e-12 misses a cut that close to 0.
    a = opt("a", cost_per_request=1.0)
    b = opt("b", trains=True, training_cost=1e-6, cost_per_request=0.0)
    assert segments([a, b]) == [(0.0, "a"), (1e-6, "b")]


def test_totals_within_the_timing_noise_tie_and_the_tie_goes_to_quality_then_training():
    # a: 10 + v, b: 110 (v requests, horizon 1 day). b is cheaper above v = 100, but within
    # 10% of a's total until a's reaches 110 x 1.1 = 121 (v = 111): a tie, to the cheaper
    # training (a) while the scores are equal ...
    a = opt("a", trains=True, training_cost=10.0, cost_per_request=1.0)
    b = opt("b", trains=True, training_cost=110.0, cost_per_request=0.0)
    assert segments([a, b]) == [(0.0, "a"), (pytest.approx(111.0), "b")]
    # ... and to the better score when they differ: b from where a's total comes within 10%
    # of b's (10 + v >= 110 / 1.1, v = 90).
    worse = opt("a", score=0.9, trains=True, training_cost=10.0, cost_per_request=1.0)
    needs = Needs(horizon_days=1.0)
    d = decide_steps([worse, b], needs, same_pairs("a", "b"))
    assert volume_segments([worse, b], d, needs) == [(0.0, "a"), (pytest.approx(90.0), "b")]
    at = decide_steps([worse, b], needs.relaxed(requests_per_day=95.0), same_pairs("a", "b"))
    assert at.chosen == "b" and at.totals == {"a": 105.0, "b": 110.0}


def test_equal_training_costs_give_no_cut_at_volume_zero():
    # `v > 0` -> `v >= 0`: "up to 0 requests a day ..." would become a flip.
    fast = opt("a", cost_per_request=1.0, p50_ms=1.0)
    cheap = opt("b", cost_per_request=0.5, p50_ms=9.0)
    assert [cut for cut, _ in segments([fast, cheap])] == [0.0]


def three_by_latency() -> tuple[list[Option], Pairs]:
    """best (p95 800 ms) and good (600) are significantly more accurate than mid (300) and
    fast (100)."""
    best = Option("best", 1.0, 0.9, 1.0, p95_ms=800.0)
    good = Option("good", 1.0, 0.9, 1.0, p95_ms=600.0)
    mid = Option("mid", 0.5, 0.3, 0.7, p95_ms=300.0, p50_ms=5.0)
    fast = Option("fast", 0.5, 0.3, 0.7, p95_ms=100.0, p50_ms=50.0)
    half = [1.0, 0.0] * (N // 2)
    scores = {"best": GOOD, "good": GOOD, "mid": half, "fast": half}
    return [best, good, mid, fast], Pairs(scores, 200, 0)


def test_the_latency_flip_looks_only_below_the_current_budget():
    # `current = None`, or `continue` -> `break` on a p95 over the budget: the flip would be
    # "good under 800 ms" (a looser budget than 500) or none at all.
    options, pairs = three_by_latency()
    needs = Needs(latency_p95_ms=500.0)
    chosen = decide_steps(options, needs, pairs).chosen
    assert chosen == "mid"
    assert latency_flip(options, needs, pairs, chosen) == (300.0, "fast")


def test_a_latency_flip_to_nothing_usable_names_no_strategy():
    # `other or ""` -> `other or "XXXX"`: the report would name a strategy that does not exist.
    only = [opt("a", p95_ms=100.0)]
    pairs = same_pairs("a")
    assert latency_flip(only, Needs(), pairs, "a") == (100.0, "")
