"""Intervals pinned against an independent reference: scipy.stats.bootstrap.

The numbers below were computed once with scipy 1.17.1 and are written here as literals, so
this test needs no scipy and fails whenever our bootstrap drifts (its level, its quantiles, its
resampling, its seed, its number of resamples):

    from scipy import stats
    stats.bootstrap((x,), np.mean, n_resamples=2000, method="percentile",
                    confidence_level=0.95, rng=np.random.default_rng(0), vectorized=True)
    stats.bootstrap((a, b), lambda p, q, axis=-1: np.mean(p - q, axis=axis), paired=True,
                    n_resamples=2000, method="percentile", confidence_level=0.95,
                    rng=np.random.default_rng(0), vectorized=True)

scipy draws its resamples as `rng.integers(0, n, (n_resamples, n))` and reads the percentile
interval with numpy's linear quantiles: the same method as core/stats.py, written by others.
With the same generator and seed both give the same interval to the last bit; a different
seed, level or quantile rule moves the bounds of the fractional scores by more than 1e-3.
"""

from __future__ import annotations

import pytest

from shouldtune.core.stats import (
    BOOTSTRAP_SAMPLES,
    CONFIDENCE,
    bootstrap_ci,
    paired,
    paired_difference_ci,
)

pytestmark = pytest.mark.decision

# Token-F1-like scores (numpy default_rng(7).random(25), rounded): every bound interpolates.
F1 = [0.63, 0.9, 0.78, 0.23, 0.3, 0.87, 0.01, 0.82, 0.8, 0.47, 0.3, 0.28, 0.25, 0.45, 0.5,
      0.55, 1.0, 0.79, 0.62, 0.99, 0.22, 0.16, 0.61, 0.04, 0.04]  # fmt: skip
# The same kind of scores for a second strategy on the same rows (default_rng(8)).
F1_B = [0.33, 0.99, 0.32, 0.79, 0.87, 0.39, 0.44, 0.37, 0.11, 0.48, 0.24, 0.26, 0.18, 0.19,
        0.81, 0.42, 0.26, 0.59, 0.6, 0.65, 0.91, 0.15, 0.37, 0.28, 0.02]  # fmt: skip
# Exact-match scores: 22 of 30 right.
RIGHT_22 = [1.0] * 22 + [0.0] * 8
# Two strategies on 30 shared rows (22 and 13 right): a alone is right on 10, b alone on 1,
# so a - b has mean +0.3.
A = [1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1]
B = [1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0]

EXACT = {"rel": 1e-12, "abs": 1e-12}


def test_the_defaults_are_the_ones_the_reference_used():
    # Said here once, so a changed default fails by name as well as by number.
    assert (CONFIDENCE, BOOTSTRAP_SAMPLES) == (0.95, 2000)


def test_bootstrap_interval_of_fractional_scores_equals_scipy():
    mean, lo, hi = bootstrap_ci(F1)
    assert mean == pytest.approx(0.5044, **EXACT)
    assert (lo, hi) == pytest.approx((0.38880000000000003, 0.6196200000000001), **EXACT)


def test_bootstrap_interval_at_another_level_equals_scipy():
    # scipy at confidence_level=0.9: the level is passed through, not fixed at 0.95.
    _, lo, hi = bootstrap_ci(F1, level=0.9)
    assert (lo, hi) == pytest.approx((0.4044, 0.5972), **EXACT)


def test_bootstrap_interval_of_exact_match_scores_equals_scipy():
    mean, lo, hi = bootstrap_ci(RIGHT_22)
    assert mean == pytest.approx(22 / 30, **EXACT)
    assert (lo, hi) == pytest.approx((17 / 30, 26 / 30), **EXACT)  # scipy: 0.5667, 0.8667


def test_paired_interval_of_exact_match_scores_equals_scipy():
    p = paired(A, B)
    assert p.diff == pytest.approx(0.3, **EXACT)
    assert (p.ci_low, p.ci_high) == pytest.approx((4 / 30, 0.5), **EXACT)  # scipy: 0.1333, 0.5
    assert p.significantly_above and not p.significantly_below and p.significant


def test_paired_interval_of_fractional_scores_equals_scipy():
    d, lo, hi = paired_difference_ci(F1, F1_B)
    assert d == pytest.approx(0.0636, **EXACT)
    assert (lo, hi) == pytest.approx((-0.07881999999999997, 0.20362000000000008), **EXACT)
    assert not paired(F1, F1_B).significant  # the interval holds 0: no difference shown


def test_the_interval_is_the_seeded_one_and_another_seed_moves_it():
    # Seed 0 is the reference; the run's seed reaches the resampling (not a fresh generator).
    assert bootstrap_ci(F1, seed=0) == bootstrap_ci(F1)
    assert bootstrap_ci(F1, seed=1)[1:] != pytest.approx(bootstrap_ci(F1)[1:], abs=1e-6)
    assert paired(F1, F1_B, seed=1) != paired(F1, F1_B)
