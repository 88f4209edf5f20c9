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
