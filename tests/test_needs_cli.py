"""The needs flags through the CLI and a run on the tiny model.

Apart from tests/test_needs.py so that the decision tier (`pytest -m decision`) loads no model.
"""

from __future__ import annotations


def test_cli_needs_flags_reach_the_verdict(make_task_dir, tiny_model_dir, tmp_path):
    from typer.testing import CliRunner

    from shouldtune.cli.main import app

    root = make_task_dir(
        [{"input": f"q{i}", "output": f"a{i % 2}"} for i in range(10)],
        [{"input": f"q{i}", "output": f"a{i % 2}"} for i in range(20, 26)],
        config={"probes": {"enabled": False}, "eval": {"latency_samples": 1}},
    )
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["run", str(root), "--only", "baseline", "--model", str(tiny_model_dir), "--out",
         str(out), "--requests-per-day", "1234", "--self-hosted", "--latency-p95-ms", "50"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    import json

    needs = json.loads((out / "results.json").read_text())["needs"]
    assert needs["requests_per_day"] == 1234 and needs["self_hosted"] is True
    assert needs["latency_p95_ms"] == 50
    bad = CliRunner().invoke(app, ["run", str(root), "--min-quality", "7"])
    assert bad.exit_code == 2 and "--min-quality" in bad.output
