"""Leakage in a whole run: seen rows scored apart, contrastive rows never block, and a test set
that is mostly leaked still stops — saying how many clean rows remain."""

from __future__ import annotations

import pytest

from shouldtune.core.errors import AuditBlocked
from shouldtune.run import RunOptions, run_task

CITIES = ["Oslo", "Lima", "Rome", "Cairo", "Quito", "Seoul", "Tunis", "Dakar", "Hanoi", "Sofia",
          "Minsk", "Riga", "Baku", "Doha", "Male", "Apia", "Suva", "Bern", "Kyiv", "Lome",
          "Accra", "Delhi", "Paris", "Dhaka", "Tokyo", "Perth", "Nairobi", "Havana", "Muscat",
          "Vaduz", "Warsaw", "Lisbon", "Prague", "Vienna", "Dublin", "Athens", "Manila",
          "Taipei", "Beirut", "Amman"]  # fmt: skip
FAST = {"probes": {"enabled": False}, "eval": {"latency_samples": 1, "bootstrap_samples": 200}}


def _rows(cities: list[str], offset: int = 0) -> list[dict]:
    return [
        {"input": f"Which warehouse ships orders for {c}?", "output": f"W-{i + offset:03d}"}
        for i, c in enumerate(cities)
    ]


def _opts(tmp_path, tiny_model_dir, **kw) -> RunOptions:
    return RunOptions(out_dir=tmp_path / "run", only=["baseline"], model=str(tiny_model_dir), **kw)


def test_repeated_training_questions_are_scored_apart_and_the_verdict_uses_the_rest(
    make_task_dir, tiny_model_dir, tmp_path
):
    train = _rows(CITIES[:30])
    # 10 test questions repeat training ones (same answer); 20 are new cities.
    test = (
        train[:10]
        + _rows(CITIES[30:], offset=100)
        + _rows([f"{c}burg" for c in CITIES[:10]], offset=200)
    )
    root = make_task_dir(train, test, FAST)
    results = run_task(root, _opts(tmp_path, tiny_model_dir))
    (s,) = results["strategies"]
    assert s["quality"]["n"] == 20 and s["quality"]["score"] == 0.0  # the lookup knows no new row
    assert s["subsets"]["seen"] == {"metric": "exact_match", "score": 1.0, "ci_low": 1.0,
                                    "ci_high": 1.0, "n": 10}  # fmt: skip
    assert s["subsets"]["all"]["score"] == pytest.approx(1 / 3, abs=1e-4)
    assert results["task"]["n_clean"] == 20 and results["task"]["n_test"] == 30
    leak = next(f for f in results["audit"]["findings"] if f["check"] == "leakage")
    assert leak["severity"] == "warning"
    v = results["verdict"]
    assert v["recommended"] is None  # 0.70-style "no LLM needed" from memorised rows: gone
    assert "20 clean held-out examples (10 of 30 test rows repeat" in v["reasons"][0]
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "## Scores by test rows and metric" in report and "memorisation" in report


def test_a_near_duplicate_with_another_answer_is_contrastive_and_does_not_block(
    make_task_dir, tiny_model_dir, tmp_path
):
    train = _rows(CITIES[:30])
    # "unit 3" vs "unit 4": a near duplicate whose answer differs — not answer leakage.
    long = "in the north wing of the main office building to twenty one degrees tonight"
    train.append({"input": f"Set the thermostat of unit 3 {long}", "output": "T3=21"})
    other = [{"input": f"Which depot takes returns from {c}?", "output": f"D-{i}"}
             for i, c in enumerate(CITIES[:15])]  # fmt: skip
    test = _rows(CITIES[30:], 100) + [
        {"input": f"Set the thermostat of unit 4 {long}", "output": "T4=21"}
    ] + other  # fmt: skip
    root = make_task_dir(train, test, FAST)
    results = run_task(root, _opts(tmp_path, tiny_model_dir))  # no --allow-audit-failures
    assert results["task"]["n_clean"] == results["task"]["n_test"] == 26
    checks = {f["check"]: f for f in results["audit"]["findings"]}
    # The thermostat pair and the templated city questions: near inputs, other answers.
    contrastive = checks["contrastive_pairs"]
    assert contrastive["severity"] == "info" and contrastive["count"] >= 1
    assert 10 in results["audit"]["test_rows"]["contrastive"]  # the thermostat row
    assert checks["leakage"]["count"] == 0 and results["audit"]["test_rows"]["seen"] == []


def test_a_mostly_leaked_test_set_still_stops_and_says_how_many_clean_rows_remain(
    make_task_dir, tiny_model_dir, tmp_path
):
    train = _rows(CITIES[:30])
    test = train[:25] + _rows(CITIES[30:35], 100)
    root = make_task_dir(train, test, FAST)
    with pytest.raises(
        AuditBlocked, match="5 of 30 test rows are clean; a verdict needs at least 20"
    ):
        run_task(root, _opts(tmp_path, tiny_model_dir))
