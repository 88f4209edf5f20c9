"""The prompt search's schedule: what the plan estimates is what the search does."""

from __future__ import annotations

import pytest

from shouldtune.core.types import Example
from shouldtune.strategies import search

pytestmark = pytest.mark.decision


@pytest.mark.parametrize("n_candidates", [1, 2, 5, 8, 10, 24])
@pytest.mark.parametrize("n_dev", [4, 6, 16, 46])
def test_the_plan_counts_the_answers_the_search_gives(n_candidates, n_dev):
    dev = [Example(f"q{i}", str(i)) for i in range(n_dev)]
    cands = [search.Candidate.of(k=k) for k in range(n_candidates)]
    # Scores differ by candidate so every round has a clear order.
    result = search.successive_halving(
        cands, dev, lambda pairs: [str(p[0].get("k")) for p in pairs], lambda p, e: float(p == e)
    )
    assert result.row_evaluations == search.halving_answers(n_candidates, n_dev)
    assert result.row_evaluations <= n_candidates * n_dev
    if n_candidates > 1:  # one candidate: nothing to choose, nothing scored
        assert max(len(s.scores) for s in result.table) == n_dev  # the winner saw every row


def test_the_best_candidate_on_dev_wins():
    dev = [Example(f"q{i}", "right") for i in range(16)]
    cands = [search.Candidate.of(k=k) for k in (4, 2, 8, 16)]

    def answer(pairs):  # k = 8 is right on every row, the others on none
        return ["right" if c.get("k") == 8 else "wrong" for c, _ in pairs]

    result = search.successive_halving(cands, dev, answer, lambda p, e: float(p == e))
    assert result.chosen.get("k") == 8 and result.default.get("k") == 4
    assert result.to_json()["table"][0]["chosen"] is True


def test_the_grid_puts_the_configured_prompt_first_and_never_twice():
    default = search.Candidate.of(k=4, selection="random", instruction="task")
    grid = search.grid(default, {"k": [4, 2], "selection": ["random"], "instruction": ["task",
                                                                                      "format"]})
    assert grid[0] == default and len(grid) == len(set(grid)) == 4
    assert [c.label for c in grid[1:]] == [
        "k = 2, selection = random, instruction = task",
        "k = 4, selection = random, instruction = format",
        "k = 2, selection = random, instruction = format",
    ]


class Clock:
    """A fake perf_counter that advances by each answered row's cost (seconds per answer)."""

    def __init__(self, cost):
        self.now, self.cost = 0.0, cost

    def __call__(self) -> float:
        return self.now

    def answer(self, pairs):
        self.now += sum(self.cost(c) for c, _ in pairs)
        return [str(c.get("k")) for c, _ in pairs]


def budget_search(monkeypatch, cost, budget, n_candidates=24, n_dev=46, seed=0):
    clock = Clock(cost)
    monkeypatch.setattr(search.time, "perf_counter", clock)
    dev = [Example(f"q{i}", "3") for i in range(n_dev)]
    cands = [search.Candidate.of(k=k) for k in range(n_candidates)]
    return search.successive_halving(cands, dev, clock.answer, lambda p, e: float(p == e),
                                     budget, seed)  # fmt: skip


def test_a_budget_that_holds_the_schedule_changes_nothing(monkeypatch):
    result = budget_search(monkeypatch, lambda c: 1.0, budget=10_000)
    assert len(result.table) == 24 and result.note == ""
    assert result.row_evaluations == search.halving_answers(24, 46)
    assert result.chosen.get("k") == 3


@pytest.mark.parametrize("budget", [30, 60, 120])
def test_a_small_budget_searches_a_seeded_draw_that_fits_it(monkeypatch, budget):
    result = budget_search(monkeypatch, lambda c: 1.0, budget)
    n = len(result.table)
    assert 2 <= n < 24 and result.to_json()["listed"] == 24
    assert result.table[0].candidate.get("k") == 0  # the configured prompt is always searched
    assert result.seconds <= budget  # one second per answer: the schedule was sized to fit
    assert search.halving_answers(n + 1, 46) > budget  # and no bigger draw would have fit
    rows = result.dev_rows  # every row when two or more candidates fit, else fewer
    assert (rows == 46) == (search.halving_answers(2, 46) <= budget)
    assert result.row_evaluations == search.halving_answers(n, rows)
    assert "fit the" in result.note and f"{budget} s budget" in result.note
    again = budget_search(monkeypatch, lambda c: 1.0, budget)
    other = budget_search(monkeypatch, lambda c: 1.0, budget, seed=1)
    keys = [[s.candidate.get("k") for s in r.table] for r in (result, again, other)]
    assert keys[0] == keys[1] and keys[0] != keys[2]


def test_a_search_that_overruns_stops_at_a_round_with_the_best_so_far(monkeypatch):
    # The configured prompt answers fast; the others take ten times as long, so the rate it
    # measured undersells the rest and the budget runs out after the first round.
    result = budget_search(monkeypatch, lambda c: 1.0 if c.get("k") == 0 else 10.0, budget=60,
                           n_candidates=5, n_dev=16)  # fmt: skip
    assert "budget spent after round 1" in result.note
    assert all(s.rounds == 1 for s in result.table)
    assert result.row_evaluations < search.halving_answers(len(result.table), 16)
    chosen = [s for s in result.table if s.candidate == result.chosen][0]
    assert chosen.mean == max(s.mean for s in result.table)


def test_a_budget_that_holds_no_second_candidate_keeps_the_configured_prompt(monkeypatch):
    # 10 s an answer: the configured prompt's 4 rows take 40 s, another 4 would pass 60 s.
    result = budget_search(monkeypatch, lambda c: 10.0, budget=60)
    assert [s.candidate.get("k") for s in result.table] == [0]
    assert result.chosen.get("k") == 0 and result.row_evaluations == search.MIN_ROWS
    assert "holds no second candidate" in result.note and result.seconds == 40.0
