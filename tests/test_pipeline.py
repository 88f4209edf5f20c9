"""pipeline: steps from pipeline.py (LLM calls and plain Python), per-step times, failures."""

from __future__ import annotations

import time

import pytest

from shouldtune import strategies
from shouldtune.core.errors import InputError
from shouldtune.core.metrics import load_scorer
from shouldtune.core.taskio import load_task
from shouldtune.core.types import Generation
from shouldtune.eval.evaluate import evaluate_scored as evaluate
from shouldtune.strategies.base import RunContext
from shouldtune.strategies.pipeline import parse_steps

PIPELINE_PY = """
import time


def compute(state):
    if "hang" in state["input"]:
        time.sleep(30)
    if "bad" in state["expr"]:
        raise ValueError("cannot compute " + state["expr"])
    return str(eval(state["expr"], {"__builtins__": {}}))


def shout(state):
    return state["compute"] + "!"


STEPS = [
    {"name": "expr", "system": "Write the expression.", "prompt": "Q: {input}"},
    compute,
    {"name": "final", "prompt": "Result {compute} for {input}", "max_new_tokens": 3},
    shout,
]
"""
TEST = [
    {"input": "two times three", "output": "6!"},
    {"input": "something bad", "output": "0!"},
    {"input": "please hang", "output": "1!"},
    {"input": "one plus one", "output": "2!"},
]


class ExprLM:
    """Answers 'Q: ...' prompts with an expression; records the prompts and token budgets."""

    EXPR = {
        "two times three": "2*3",
        "something bad": "bad",
        "please hang": "1",
        "one plus one": "1+1",
    }

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], int]] = []

    def generate(self, conversations, max_new_tokens=48, batch_size=8, on_batch=None):
        users = [c[-1]["content"] for c in conversations]
        self.calls.append((users, max_new_tokens))
        return [Generation(self.EXPR.get(u.removeprefix("Q: "), "ok"), 5, 2) for u in users]


@pytest.fixture
def task(make_task_dir):
    root = make_task_dir(
        [{"input": "x", "output": "y"}],
        test=TEST,
        config={"options": {"pipeline": {"timeout_s": 0.3}}, "generation": {"max_new_tokens": 9}},
    )
    (root / "pipeline.py").write_text(PIPELINE_PY, encoding="utf-8")
    return load_task(root)


def test_pipeline_runs_steps_in_order_and_times_each(task, tmp_path):
    strategy = strategies.create("pipeline", task.config.options["pipeline"])
    assert strategy.kind == "pipeline" and strategy.skip_reason(task) is None
    lm = ExprLM()
    ctx = RunContext(task=task, lm_loader=lambda: lm, work_dir=tmp_path)
    started = time.perf_counter()
    result = evaluate(strategy, ctx, load_scorer("exact_match", task.root), tmp_path, 1, 200)
    assert time.perf_counter() - started < 10  # the hanging step only cost its time limit
    assert result.scores == [1.0, 0.0, 0.0, 1.0]
    steps = result.details["steps"]
    assert [(s["name"], s["kind"]) for s in steps] == [
        ("expr", "llm"),
        ("compute", "python"),
        ("final", "llm"),
        ("shout", "python"),
    ]
    compute = steps[1]
    assert compute["errors"] == 2 and "ValueError: cannot compute bad" in compute["first_error"]
    assert compute["seconds"] >= 0.3  # includes the hung call's time limit
    # Both are rounded from the same seconds: 3 decimals of s (/4 examples) and 1 of ms.
    assert compute["ms_per_example"] == pytest.approx(1000 * compute["seconds"] / 4, abs=0.2)
    assert all(s["errors"] == 0 for s in steps if s["name"] != "compute")
    # Per example of those the step ran on: 2 of 4 failed in compute, so later steps ran on 2.
    assert [s["examples"] for s in steps] == [4, 4, 2, 2]
    final = steps[2]
    assert final["ms_per_example"] == pytest.approx(1000 * final["seconds"] / 2, abs=0.2)
    # LLM steps: batched over the examples still alive, with the step's own token budget.
    (first, n1), (second, n2) = lm.calls[:2]
    assert first == ["Q: two times three", "Q: something bad", "Q: please hang", "Q: one plus one"]
    assert second == ["Result 6 for two times three", "Result 2 for one plus one"] and n2 == 3
    assert n1 == 9
    assert result.prompt_tokens_mean == pytest.approx((10 + 5 + 5 + 10) / 4)


@pytest.mark.parametrize(
    "steps, problem",
    [
        ([], "non-empty list"),
        (None, "non-empty list"),
        ([{"name": "a"}], "needs a 'name' and a 'prompt'"),
        ([{"name": "a", "prompt": "{b}"}], "prompt uses ['b']"),
        ([{"name": "a", "prompt": "{input", "x": 1}], "unknown key(s) ['x']"),
        ([{"name": "a", "prompt": "{input"}], "bad prompt template"),
        ([{"name": "input", "prompt": "x"}], "used twice (or is 'input')"),
        ([{"name": "a", "prompt": "x", "max_new_tokens": 0}], "positive integer"),
        ([42], "a step is a dict (LLM) or a function"),
    ],
)
def test_bad_pipelines_are_input_errors(tmp_path, steps, problem):
    with pytest.raises(InputError) as err:
        parse_steps(steps, tmp_path / "pipeline.py")
    assert problem in str(err.value)


def test_pipeline_without_file_is_skipped_and_missing_steps_is_an_error(make_task_dir):
    root = make_task_dir([{"input": "x", "output": "y"}], test=[{"input": "x", "output": "y"}])
    task = load_task(root)
    assert strategies.create("pipeline").skip_reason(task) == "no pipeline.py in the task folder"
    (root / "pipeline.py").write_text("STEP = []\n")
    with pytest.raises(InputError, match="STEPS must be a non-empty list"):
        strategies.create("pipeline").prepare(RunContext(task=task))


def test_pipeline_with_the_tiny_model(task, tiny_lm):
    strategy = strategies.create("pipeline", {"timeout_s": 0.3})
    ctx = RunContext(task=task, lm_loader=lambda: tiny_lm)
    strategy.prepare(ctx)
    gens = strategy.predict(task.test[:2], ctx)
    # An example whose compute step failed has an empty answer; the others end with "!".
    failed = sum(g.text == "" for g in gens)
    assert all(g.text == "" or g.text.endswith("!") for g in gens)
    assert all(g.prompt_tokens > 0 and g.new_tokens > 0 for g in gens)
    assert strategy.measured()["steps"][1]["errors"] == failed


def test_cli_notes_show_tool_counts_and_step_times():
    from io import StringIO

    from rich.console import Console

    from shouldtune.cli.notes import print_notes

    buffer = StringIO()
    tools = {
        "tool_calls": 7,
        "malformed_calls": 2,
        "tool_errors": 1,
        "tool_timeouts": 1,
        "rounds_exhausted": 0,
    }
    steps = [
        {"name": "expr", "kind": "llm", "ms_per_example": 412.4, "errors": 0},
        {"name": "compute", "kind": "python", "ms_per_example": 0.4, "errors": 3},
    ]
    print_notes(
        Console(file=buffer, width=200),
        {
            "strategies": [
                {"name": "tools", "details": tools},
                {"name": "pipeline", "details": {"steps": steps}},
                {"name": "zero_shot", "details": {}},
            ],
            "backend": {"model": "m", "base_url": "http://h/v1", "stats": {"requests": 9}},
        },
    )
    assert buffer.getvalue().splitlines() == [
        "  tools: 7 tool calls, 2 malformed, 1 raised, 1 timed out, 0 out of rounds",
        "  pipeline: steps: expr (llm) 412 ms/example; compute (python) 0 ms/example, 3 failed",
        "  backend m at http://h/v1: 9 requests, 0 retries, 0 failed",
    ]
