"""Bootstrap confidence intervals and the paired significance test."""

from __future__ import annotations

import numpy as np
import pytest

from shouldtune.core.stats import bootstrap_ci, paired, paired_difference_ci

pytestmark = pytest.mark.decision


def significantly_better(a, b):
    return paired(a, b).significantly_above


PATTERN = [1.0, 0.0, 1.0, 1.0, 0.0]  # mean 0.6


def test_ci_contains_the_mean():
    scores = np.random.default_rng(3).random(60).tolist()
    mean, lo, hi = bootstrap_ci(scores)
    assert mean == pytest.approx(float(np.mean(scores)))
    assert lo < mean < hi
    assert lo >= 0.0 and hi <= 1.0


def test_ci_narrows_with_more_data():
    _, lo_small, hi_small = bootstrap_ci(PATTERN * 4)
    mean, lo_big, hi_big = bootstrap_ci(PATTERN * 40)
    assert mean == pytest.approx(0.6)
    assert hi_big - lo_big < (hi_small - lo_small) / 2  # ~sqrt(10) narrower
    assert lo_big < 0.6 < hi_big


def test_ci_is_deterministic_per_seed():
    scores = np.random.default_rng(0).random(30).tolist()  # continuous: no quantile ties
    assert bootstrap_ci(scores, seed=5) == bootstrap_ci(scores, seed=5)
    assert bootstrap_ci(scores, seed=5)[1:] != bootstrap_ci(scores, seed=6)[1:]


def test_lower_level_gives_a_narrower_interval():
    scores = PATTERN * 6
    _, lo95, hi95 = bootstrap_ci(scores, level=0.95)
    _, lo50, hi50 = bootstrap_ci(scores, level=0.5)
    assert lo95 < lo50 < hi50 < hi95


def test_all_equal_scores_give_zero_width():
    assert bootstrap_ci([0.7] * 25) == pytest.approx((0.7, 0.7, 0.7))
    assert bootstrap_ci([1.0]) == (1.0, 1.0, 1.0)


def test_empty_scores():
    assert bootstrap_ci([]) == (0.0, 0.0, 0.0)


def test_paired_difference_on_hand_made_lists():
    a = [1, 1, 1, 1, 0, 0, 0, 0, 1, 1]
    b = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    d, lo, hi = paired_difference_ci(a, b)
    assert d == pytest.approx(0.4)  # 4 of 10 examples gain 1, none lose
    assert 0.0 <= lo < 0.4 < hi <= 1.0
    d_rev, lo_rev, hi_rev = paired_difference_ci(b, a)
    assert d_rev == pytest.approx(-0.4)
    assert lo_rev == pytest.approx(-hi) and hi_rev == pytest.approx(-lo)


def test_paired_difference_is_paired_not_pooled():
    # Per-example difference is always exactly +0.25, whatever the spread across examples:
    # a paired CI has zero width, an unpaired one would not.
    b = [0.0, 0.5, 0.75, 0.1, 0.3, 0.6]
    a = [x + 0.25 for x in b]
    assert paired_difference_ci(a, b) == pytest.approx((0.25, 0.25, 0.25))


def test_paired_difference_needs_equal_lengths():
    with pytest.raises(ValueError, match=r"^paired scores must cover the same examples$"):
        paired_difference_ci([1, 0], [1, 0, 1])


def test_significantly_better_clear_win():
    assert significantly_better([1.0] * 20, [0.0] * 20) is True
    assert significantly_better([1.0] * 8 + [0.0] * 12, [0.0] * 20) is True


def test_not_significantly_better_when_equal_worse_or_noisy():
    a = [1.0, 0.0] * 10
    assert significantly_better(a, a) is False
    assert significantly_better([0.0] * 20, [1.0] * 20) is False
    one_flip = a[:]
    one_flip[0] = 0.0  # a wins on a single example out of 20: mean +0.05, CI touches 0
    assert significantly_better(a, one_flip) is False
    mixed_a = [1.0] * 3 + [0.0] * 2 + [0.5] * 15
    mixed_b = [0.0] * 3 + [1.0] * 2 + [0.5] * 15
    assert significantly_better(mixed_a, mixed_b) is False


def test_the_seed_reaches_the_paired_difference_tuple():
    # `paired(a, b, n_resamples, seed)` -> `paired(a, b, n_resamples)`: every seed gives seed 0's.
    a, b = [1.0, 0.0, 1.0, 1.0, 0.0] * 4, [0.0, 0.0, 1.0, 0.0, 1.0] * 4
    p = paired(a, b, 500, 7)
    assert paired_difference_ci(a, b, 500, 7) == (p.diff, p.ci_low, p.ci_high)
    assert paired_difference_ci(a, b, 500, 7) != paired_difference_ci(a, b, 500, 0)
