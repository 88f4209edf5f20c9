"""The strategy contract: a strategy written outside the package, registered with one line,
goes through run -> verdict -> cost -> report -> resume without any other file knowing it.

Two strategies from a temporary module: `echo` needs no LLM (it repeats the input), `memo`
trains (it learns a table from train) and needs no LLM either. Nothing in shouldtune names
them: traits alone tell cost, verdict, probes and report what they are.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from shouldtune import strategies
from shouldtune.run import RunOptions, run_task

MODULE = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from shouldtune.core.types import Generation, Kind
    from shouldtune.strategies.base import Strategy

    LOG = Path(os.environ["CONTRACT_LOG"])


    def _log(what):
        with LOG.open("a") as f:
            f.write(what + "\\n")


    class Echo(Strategy):
        name = "echo"
        kind = Kind.BASELINE
        uses_llm = False

        def prepare(self, ctx):
            _log("echo.prepare")
            return {"echoes": True}

        def predict(self, examples, ctx):
            if len(examples) > 1:  # the test set; single requests are latency samples
                _log("echo.predict")
            return [Generation(ex.input) for ex in examples]


    class Memo(Strategy):
        name = "memo"
        kind = Kind.FINE_TUNING
        trains = True
        uses_llm = False

        def prepare(self, ctx):
            _log("memo.prepare")
            if os.environ.get("CONTRACT_FAIL") == "memo":
                raise RuntimeError("killed mid-training")
            t0 = time.perf_counter()
            self.table = {ex.input.split()[-1]: ex.output for ex in ctx.task.train}
            time.sleep(0.05)
            return {"train_seconds": time.perf_counter() - t0, "rows": len(self.table)}

        def predict(self, examples, ctx):
            if len(examples) > 1:
                _log("memo.predict")
            return [Generation(self.table.get(ex.input.split()[-1], "?")) for ex in examples]
    """
)


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "contract_plugin.py").write_text(MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "plugin"))
    log = tmp_path / "calls.log"
    monkeypatch.setenv("CONTRACT_LOG", str(log))
    before = dict(strategies.REGISTRY)
    strategies.register("echo", "contract_plugin:Echo")
    strategies.register("memo", "contract_plugin:Memo")
    yield log
    strategies.REGISTRY.clear()
    strategies.REGISTRY.update(before)
    sys.modules.pop("contract_plugin", None)


def _task(make_task_dir) -> Path:
    colours = ["red", "blue", "green", "black", "white", "pink", "grey", "gold"]
    train = [{"input": f"code for {c}", "output": f"C-{c[:2].upper()}"} for c in colours]
    test = [{"input": f"the code of {c}", "output": f"C-{c[:2].upper()}"} for c in colours[:6]]
    config = {"eval": {"latency_samples": 1, "bootstrap_samples": 200},
              "probes": {"enabled": False}}  # fmt: skip
    return make_task_dir(train * 3, test, config)


def test_a_new_strategy_runs_end_to_end_from_its_traits(
    plugin, make_task_dir, tiny_model_dir, tmp_path, monkeypatch
):
    root = _task(make_task_dir)
    out = tmp_path / "run"
    opts = RunOptions(out_dir=out, only=["echo", "memo"], model=str(tiny_model_dir),
                      allow_audit_failures=True)  # fmt: skip
    # First attempt dies while `memo` trains: `echo` is cached, nothing is written.
    monkeypatch.setenv("CONTRACT_FAIL", "memo")
    with pytest.raises(RuntimeError, match="killed mid-training"):
        run_task(root, opts)
    assert not out.exists()
    monkeypatch.delenv("CONTRACT_FAIL")
    results = run_task(root, opts)
    # Resume: echo's answers were reused; it had not been timed yet (latency is timed
    # round-robin after the last strategy), so it is prepared again for that, not asked
    # the test set again. memo trained once more.
    log = plugin.read_text().split()
    first, resumed = ["echo.prepare", "echo.predict", "memo.prepare"], ["echo.prepare"]
    assert log == first + resumed + ["memo.prepare", "memo.predict"]
    assert sum(x == "echo.predict" for x in log) == 1  # the answers: once, never again
    by = {s["name"]: s for s in results["strategies"]}
    assert by["echo"]["traits"] == {"trains": False, "uses_llm": False, "hosted": False}
    assert by["memo"]["traits"] == {"trains": True, "uses_llm": False, "hosted": False}
    for name in ("echo", "memo"):  # both held and timed together after the last one answered
        assert by[name]["details"]["latency_timed"] == "round-robin"
        assert by[name]["latency_ms"]["n"] == 1
    assert by["memo"]["quality"]["score"] == 1.0 and by["echo"]["quality"]["score"] == 0.0
    # Cost: no LLM means no FLOPs; training is priced from its own seconds.
    assert by["memo"]["cost"]["flops_per_request"] is None
    assert by["memo"]["cost"]["training_cost"] > 0 and by["echo"]["cost"]["training_cost"] == 0
    v = results["verdict"]
    # memo trains: the verdict treats it as a fine-tune because of its trait, nothing else.
    assert v["recommended"] == "memo" and v["fine_tune"] is True and v["drivers"] == ["quality"]
    assert v["steps"]["ruled_out"]["echo"] == ["not usable: it got no test example right"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "memo" in report and v["headline"] in report
    assert json.loads((out / "raw" / "memo.json").read_text())["traits"]["trains"] is True


def test_an_unknown_strategy_lists_the_registered_ones(plugin):
    from shouldtune.core.errors import InputError

    with pytest.raises(InputError, match="valid: .*echo, memo"):
        strategies.check_name("nope")
