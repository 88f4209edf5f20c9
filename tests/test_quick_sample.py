"""--quick reads a seeded sample of the test file, not its head (issue 30, item 3)."""

from __future__ import annotations

from collections import Counter

import pytest

from shouldtune.core.splits import quick_sample
from shouldtune.core.types import Example

pytestmark = pytest.mark.decision

# A file that lists its 40 seen (repeated) rows first, then 60 others.
SEEN = [Example(f"seen {i}", f"label{i % 4}") for i in range(40)]
OTHER = [Example(f"new {i}", f"label{i % 4}") for i in range(60)]
TEST = SEEN + OTHER


@pytest.mark.parametrize("by_label", [False, True])
def test_the_quick_sample_is_not_the_head_and_is_the_same_for_the_same_seed(by_label):
    rows = quick_sample(TEST, 30, 0, by_label)
    assert len(rows) == 30 and len(set(rows)) == 30
    assert any(r.input.startswith("new") for r in rows)  # the head would be all seen rows
    assert rows == quick_sample(TEST, 30, 0, by_label)
    assert rows != quick_sample(TEST, 30, 1, by_label)
    assert [TEST.index(r) for r in rows] == sorted(TEST.index(r) for r in rows)  # file order


def test_a_label_task_sample_is_stratified():
    skewed = [Example(f"a{i}", "common") for i in range(90)] + [
        Example(f"b{i}", f"rare{i}") for i in range(10)
    ]
    counts = Counter(r.output for r in quick_sample(skewed, 30, 0, by_label=True))
    assert all(counts[f"rare{i}"] == 1 for i in range(10)) and counts["common"] == 20


def test_a_short_file_is_kept_whole():
    assert quick_sample(TEST[:12], 30, 0) == TEST[:12]
