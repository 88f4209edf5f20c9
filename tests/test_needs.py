"""The needs block: validated like the rest of task.yaml, overridable on the command line."""

from __future__ import annotations

import pytest

from shouldtune.core.config import TaskConfig
from shouldtune.core.errors import InputError
from shouldtune.core.needs import Needs, with_overrides
from shouldtune.core.taskio import load_task

pytestmark = pytest.mark.decision


def test_every_need_is_optional_with_documented_defaults():
    needs = Needs.from_config(TaskConfig.model_validate({"name": "t"}).needs)
    assert needs == Needs(horizon_days=365.0)
    assert needs.requests is None and needs.retrainings == 0


def test_horizon_and_changes_give_the_retrainings_and_requests():
    n = Needs(requests_per_day=100, horizon_days=730, changes_per_year=4)
    assert n.requests == 73_000 and n.retrainings == pytest.approx(8.0)


@pytest.mark.parametrize(
    ("needs", "fragment"),
    [
        ({"requests_per_day": 0}, "key 'needs.requests_per_day'"),
        ({"latency_p95_ms": -5}, "key 'needs.latency_p95_ms'"),
        ({"min_quality": 1.5}, "got 1.5"),
        ({"quality_margin": 1}, "key 'needs.quality_margin'"),
        ({"self_hosted": "maybe"}, "got 'maybe'"),
        ({"volume": 3}, "key 'needs.volume': unknown key"),
    ],
)
def test_bad_needs_name_the_file_the_key_and_the_value(make_task_dir, needs, fragment):
    root = make_task_dir([{"input": "a", "output": "b"}], config={"needs": needs})
    with pytest.raises(InputError) as err:
        load_task(root)
    assert "task.yaml" in str(err.value) and fragment in str(err.value)


def test_command_line_overrides_are_validated_and_name_the_flag():
    base = Needs(requests_per_day=10)
    assert with_overrides(base, {"requests_per_day": 5000, "self_hosted": None}) == Needs(
        requests_per_day=5000
    )
    assert with_overrides(base, {}) is base
    with pytest.raises(InputError, match="--min-quality: key 'min_quality'"):
        with_overrides(base, {"min_quality": 3})


def test_the_deprecated_cost_volume_is_read_as_a_need_with_a_note(make_task_dir):
    rows = [{"input": "a", "output": "b"}]
    root = make_task_dir(rows, rows, config={"cost": {"requests_per_day": 7}})
    task = load_task(root)
    assert task.config.needs.requests_per_day == 7
    assert task.config.notes == [
        "task.yaml: cost.requests_per_day is deprecated, read as needs.requests_per_day"
        " (move it there)"
    ]
    both = make_task_dir(
        rows,
        rows,
        config={"cost": {"requests_per_day": 7}, "needs": {"requests_per_day": 8}},
    )
    with pytest.raises(InputError, match="disagree"):
        load_task(both)


def test_unknown_overrides_are_named_and_results_json_needs_name_their_source():
    # `unknown` dropped or its message changed; a flag named for a results.json value.
    with pytest.raises(ValueError, match=r"^unknown needs: bogus, zzz$"):
        with_overrides(Needs(), {"zzz": 1, "bogus": 2, "horizon_days": None})
    assert Needs.from_json({"horizon_days": 30, "old_key": 1}) == Needs(horizon_days=30.0)
    assert Needs.from_json(None) == Needs() and Needs.from_json([1]) == Needs()
    with pytest.raises(InputError) as err:
        Needs.from_json({"horizon_days": -1})
    assert err.value.file == "results.json needs"
