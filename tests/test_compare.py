"""`shouldtune compare RUN_A RUN_B`: score and latency deltas, verdict change, changed answers."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shouldtune.cli.main import app
from shouldtune.report.compare import compare_runs

INPUTS = [f"ticket {i} [bold]x[/bold] \x1b[31mred" for i in range(40)]


def _run(root: Path, scores: dict[str, list[float]], p50: dict[str, float], pick: str) -> Path:
    (root / "predictions").mkdir(parents=True)
    strategies = []
    for name, values in scores.items():
        rows = [
            {"index": i, "input": INPUTS[i], "expected": "A", "score": s,
             "predicted": "A" if s == 1 else f"wrong-{name}"}
            for i, s in enumerate(values)
        ]  # fmt: skip
        (root / "predictions" / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows)
        )
        mean = sum(values) / len(values)
        strategies.append(
            {
                "name": name,
                "quality": {"metric": "accuracy", "score": mean, "ci_low": 0, "ci_high": 1},
                "latency_ms": {"p50": p50[name], "p95": p50[name]},
                "predictions_file": f"predictions/{name}.jsonl",
            }
        )
    results = {
        "task": {"name": "t"},
        "model": {"name": "m"},
        "verdict": {"fine_tune": pick == "lora", "recommended": pick},
        "strategies": strategies,
    }
    (root / "results.json").write_text(json.dumps(results))
    return root


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    a = _run(
        tmp_path / "a",
        {"zero_shot": [0.0] * 40, "lora": [1.0] * 20 + [0.0] * 20},
        {"zero_shot": 100, "lora": 120},
        "zero_shot",
    )
    b = _run(
        tmp_path / "b",
        {"zero_shot": [0.0] * 40, "lora": [1.0] * 38 + [0.0] * 2, "rag": [1.0] * 40},
        {"zero_shot": 90, "lora": 150, "rag": 300},
        "lora",
    )
    return a, b


def test_deltas_verdict_and_changed_answers(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    c = compare_runs(a, b)
    assert c.same_test_set and c.verdict_changed
    # Results without a headline (schema 1) get the sentence they were shown with, marked.
    assert c.verdict_a == "Verdict: don't fine-tune — use zero_shot (older results)"
    assert c.verdict_b == "Verdict: fine-tune — use lora (older results)"
    rows = {r.name: r for r in c.strategies}
    assert rows["rag"].status == "only in B" and rows["rag"].delta is None
    assert rows["zero_shot"].delta == 0 and not rows["zero_shot"].significant
    assert rows["zero_shot"].changed_predictions == 0
    lora = rows["lora"]
    assert abs(lora.delta - 0.45) < 1e-9 and lora.significant and lora.delta_ci[0] > 0
    assert lora.p50_b - lora.p50_a == 30
    assert lora.changed_predictions == 18
    assert [e.index for e in c.changed] == list(range(20, 38))
    assert c.changed[0].predicted_a == "wrong-lora" and c.changed[0].predicted_b == "A"
    assert json.loads(json.dumps(c.to_json()))["strategies"][1]["significant"] is True


def test_different_test_sets_are_not_paired(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    rows = (b / "predictions" / "lora.jsonl").read_text().splitlines()
    (b / "predictions" / "lora.jsonl").write_text("\n".join(rows[:30]) + "\n")
    c = compare_runs(a, b)
    assert not c.same_test_set and c.changed == []
    assert all(r.delta_ci is None for r in c.strategies)


def test_cli_prints_the_diff_safely(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    out = tmp_path / "diff.json"
    result = CliRunner().invoke(
        app, ["compare", str(a), str(b), "--examples", "3", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Verdict changed" in text and "use zero_shot" in text and "use lora" in text
    assert "+0.450" in text and "+30" in text
    assert "Changed answers (first 3 of 18)" in text
    assert "[bold]x[/bold]" in text  # dataset text shown literally, not as markup
    assert "\x1b" not in result.output and "\\x1b[31mred" in text
    assert json.loads(out.read_text())["verdict_changed"] is True


def test_cli_bad_run_folders_exit_2(tmp_path: Path) -> None:
    a, _ = _pair(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text('{"strategies": [')
    for bad, message in (
        (tmp_path / "missing", "run folder not found"),
        (tmp_path / "empty", "no results.json"),
        (tmp_path / "broken", "unreadable results.json"),
    ):
        result = CliRunner().invoke(app, ["compare", str(a), str(bad)])
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output
