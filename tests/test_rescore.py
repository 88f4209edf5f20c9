"""A metric is user code, scoring is separate from generation, and `rescore` never runs a
strategy: the metric issue's behaviour end to end, with a fast strategy that needs no model.

`wordy` answers right but in a sentence ("The code is C-RE."), so exact_match scores it 0 and
contains scores it 1: the same saved answers, two verdicts.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shouldtune import strategies
from shouldtune.cli.main import app
from shouldtune.core.errors import InputError
from shouldtune.rescore import RescoreOptions, rescore
from shouldtune.run import RunOptions, run_task

MODULE = textwrap.dedent(
    """
    import os
    from pathlib import Path

    from shouldtune.core.types import Generation, Kind
    from shouldtune.strategies.base import Strategy


    class Wordy(Strategy):
        name = "wordy"
        kind = Kind.BASELINE
        uses_llm = False

        def prepare(self, ctx):
            with Path(os.environ["WORDY_LOG"]).open("a") as f:
                f.write("prepare\\n")
            self.table = {ex.input.split()[-1]: ex.output for ex in ctx.task.train}
            return {}

        def predict(self, examples, ctx):
            return [
                Generation(f"The code is {self.table.get(ex.input.split()[-1], '?')}.")
                for ex in examples
            ]
    """
)
COLOURS = ["red", "blue", "green", "black", "white", "pink", "grey", "gold", "teal", "navy"]


@pytest.fixture
def wordy(tmp_path, monkeypatch):
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "wordy_plugin.py").write_text(MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "plugin"))
    log = tmp_path / "wordy.log"
    monkeypatch.setenv("WORDY_LOG", str(log))
    before = dict(strategies.REGISTRY)
    strategies.register("wordy", "wordy_plugin:Wordy")
    yield log
    strategies.REGISTRY.clear()
    strategies.REGISTRY.update(before)
    sys.modules.pop("wordy_plugin", None)


def _task(make_task_dir, metric: str = "exact_match", scorer: str | None = None) -> Path:
    train = [{"input": f"code for {c}", "output": f"C-{c[:2].upper()}{i}"}
             for i, c in enumerate(COLOURS)]  # fmt: skip
    test = [{"input": f"the code of {c}", "output": f"C-{c[:2].upper()}{i}"}
            for i, c in enumerate(COLOURS)]  # fmt: skip
    config = {"metric": metric, "eval": {"latency_samples": 1, "bootstrap_samples": 200}}
    root = make_task_dir(train * 2, test, config)
    if scorer is not None:
        (root / "score.py").write_text(scorer, encoding="utf-8")
    return root


def _opts(tmp_path: Path, tiny_model_dir: Path, name: str = "run") -> RunOptions:
    return RunOptions(out_dir=tmp_path / name, only=["wordy"], model=str(tiny_model_dir),
                      allow_audit_failures=True)  # fmt: skip


RAISES_ON_GOLD = """
def score(predicted, expected):
    if expected == "C-GO7":
        raise ValueError("cannot parse " + expected)
    return float(expected in predicted)
"""


def test_a_metric_that_raises_on_one_row_names_it_and_the_fix_only_rescores(
    wordy, make_task_dir, tiny_model_dir, tmp_path
):
    root = _task(make_task_dir, "python:score.py:score", RAISES_ON_GOLD)
    opts = _opts(tmp_path, tiny_model_dir)
    with pytest.raises(InputError) as err:
        run_task(root, opts)
    message = str(err.value)
    assert "metric python:score.py:score raised ValueError: cannot parse C-GO7" in message
    assert "on test.jsonl:8" in message and "expected 'C-GO7'" in message
    assert "predicted 'The code is C-GO7.'" in message
    assert wordy.read_text().split() == ["prepare"]
    (root / "score.py").write_text(
        "def score(predicted, expected):\n    return float(expected in predicted)\n"
    )
    results = run_task(root, opts)
    assert wordy.read_text().split() == ["prepare"]  # the answers were reused, not generated
    assert results["strategies"][0]["quality"]["score"] == 1.0


@pytest.mark.parametrize(
    ("returned", "shown"),
    [("float('nan')", "nan"), ("2.0", "2.0"), ("'yes'", "'yes'"), ("None", "None")],
)
def test_a_score_that_is_not_a_number_in_0_1_is_refused_naming_the_row(
    wordy, make_task_dir, tiny_model_dir, tmp_path, returned, shown
):
    scorer = f"def score(p, e):\n    return {returned} if e == 'C-BL3' else 1.0\n"
    root = _task(make_task_dir, "python:score.py:score", scorer)
    with pytest.raises(InputError) as err:
        run_task(root, _opts(tmp_path, tiny_model_dir))
    message = str(err.value)
    assert f"returned {shown}" in message and "on test.jsonl:4" in message
    assert "a metric must return a real number between 0 and 1" in message


def test_a_metric_that_always_raises_fails_before_any_strategy(
    wordy, make_task_dir, tiny_model_dir, tmp_path
):
    root = _task(make_task_dir, "python:score.py:score", "def score(p, e):\n    return 1 / 0\n")
    with pytest.raises(InputError, match="pre-flight check"):
        run_task(root, _opts(tmp_path, tiny_model_dir))
    assert not wordy.exists()  # nothing ran


def test_cli_prints_one_line_and_exits_2(wordy, make_task_dir, tiny_model_dir, tmp_path):
    root = _task(make_task_dir, "python:score.py:score", RAISES_ON_GOLD)
    result = CliRunner().invoke(
        app, ["run", str(root), "--only", "wordy", "--model", str(tiny_model_dir),
              "--out", str(tmp_path / "r"), "--allow-audit-failures"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "raised ValueError: cannot parse C-GO7 on test.jsonl:8" in result.output


def test_rescore_into_contains_changes_scores_and_verdict_without_a_model(
    wordy, make_task_dir, tiny_model_dir, tmp_path, monkeypatch
):
    root = _task(make_task_dir)
    run = tmp_path / "run"
    first = run_task(root, _opts(tmp_path, tiny_model_dir))
    assert first["strategies"][0]["quality"]["score"] == 0.0
    assert first["verdict"]["status"] == "no_recommendation"
    assert any(r.startswith("Metric check: wordy scores 0.00 exact_match, but 1.00")
               for r in first["verdict"]["reasons"])  # fmt: skip

    def no_model(*args, **kwargs):
        raise AssertionError("rescore loaded a model")

    monkeypatch.setattr("shouldtune.models.lm.LanguageModel.load", no_model)
    new, folder = rescore(run, RescoreOptions(metric="contains"))
    assert folder == tmp_path / "run-rescored"
    assert wordy.read_text().split() == ["prepare"]  # no strategy ran again
    (s,) = new["strategies"]
    assert s["quality"] == {"metric": "contains", "score": 1.0, "ci_low": 1.0, "ci_high": 1.0,
                            "n": 10}  # fmt: skip
    assert new["verdict"]["recommended"] == "wordy"
    assert new["run"]["rescored"] == {"from": str(run), "metric_before": "exact_match"}
    rows = [json.loads(x) for x in (folder / "predictions" / "wordy.jsonl").read_text().split("\n")
            if x]  # fmt: skip
    assert {r["score"] for r in rows} == {1.0}
    assert json.loads((run / "results.json").read_text())["task"]["metric"] == "exact_match"
    # compare works between the original and the re-scored run: both scores side by side,
    # and no score change between two metrics (issue 28)
    out = CliRunner().invoke(app, ["compare", str(run), str(folder)])
    text = " ".join(out.output.split())
    assert out.exit_code == 0 and "different metrics (exact_match vs contains)" in text
    assert "0.000 │ 1.000" in text and "+1.000" not in text


def test_rescore_with_other_needs_recomputes_the_verdict_only(
    wordy, make_task_dir, tiny_model_dir, tmp_path
):
    root = _task(make_task_dir, "contains")
    run = tmp_path / "run"
    run_task(root, _opts(tmp_path, tiny_model_dir))
    new, _ = rescore(run, RescoreOptions(needs={"min_quality": 0.999}, out_dir=tmp_path / "hi"))
    assert new["needs"]["min_quality"] == 0.999
    assert new["verdict"]["recommended"] == "wordy"  # its CI top is 1.0
    with pytest.raises(InputError, match="min_quality"):
        rescore(run, RescoreOptions(needs={"min_quality": 2.0}, out_dir=tmp_path / "bad"))


def test_rescore_refuses_an_older_run(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.json").write_text(json.dumps({"strategies": []}))
    with pytest.raises(InputError, match="older shouldtune"):
        rescore(tmp_path / "old", RescoreOptions(metric="contains"))
