"""The cost model through a real run (tiny model): results.json carries costs and break-even.

Apart from tests/test_cost.py so that the decision tier (`pytest -m decision`) loads no model.
"""

from __future__ import annotations

import pytest


def test_results_json_carries_costs_and_break_even(tiny_model_dir, make_task_dir, tmp_path):
    from shouldtune.run import RunOptions, run_task

    train = [{"input": f"ship {i} boxes", "output": f"T{i % 3} x{i}"} for i in range(12)]
    test = [{"input": f"ship {i} crates", "output": f"T{i % 3} x{i}"} for i in range(40, 44)]
    lora_opts = {"epochs": 1, "batch_size": 4, "lr_sweep": False, "learning_curve": False}
    config = {
        "generation": {"max_new_tokens": 4, "stop": ["\n"]},
        "eval": {"latency_samples": 1, "bootstrap_samples": 200},
        "options": {"lora": lora_opts},
        "probes": {"enabled": False},
        "cost": {"price_per_hour": 2.0, "currency": "EUR", "requests_per_day": 1000},
    }
    root = make_task_dir(train, test, config)
    opts = RunOptions(
        out_dir=tmp_path / "run",
        only=["few_shot", "lora"],
        model=str(tiny_model_dir),
        allow_audit_failures=True,
    )
    results = run_task(root, opts)
    params = results["model"]["parameters"]
    by_name = {s["name"]: s for s in results["strategies"]}
    for s in by_name.values():
        c, n = s["cost"], s["details"]["new_tokens_mean"]
        assert c["flops_per_request"] == pytest.approx(
            2 * params * (s["prompt_tokens_mean"] + n), rel=1e-3
        )
        assert c["seconds_per_request"] == pytest.approx(s["eval_seconds"] / 4, rel=1e-2, abs=1e-3)
        assert c["basis"] == "machine"
    lora = by_name["lora"]["cost"]
    tokens = by_name["lora"]["details"]["training"]["train_tokens"]
    assert lora["training_flops"] == pytest.approx(6 * params * tokens, rel=1e-3)
    assert lora["training_cost"] == pytest.approx(
        by_name["lora"]["train_seconds"] * 2.0 / 3600, rel=1e-2
    )
    (b,) = results["cost"]["break_even"]
    assert b["strategy"] == "lora" and b["versus"] == "few_shot"
    assert results["cost"]["prices"]["currency"] == "EUR"
    saving = b["saving_per_1k_requests"] / 1000  # both branches checked: never, or N
    if saving > 0:
        assert b["requests"] == pytest.approx(b["training_cost"] / saving, rel=2e-2, abs=1)
        assert b["days_at_volume"] == pytest.approx(b["requests"] / 1000, rel=1e-3)
    else:
        assert b["requests"] is None and b["days_at_volume"] is None
    # The deprecated cost.requests_per_day is read as needs.requests_per_day, with a note.
    assert results["needs"]["requests_per_day"] == 1000
    assert any("cost.requests_per_day is deprecated" in n for n in results["notes"])
