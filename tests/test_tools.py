"""tools: schemas from typed functions, tool-call parsing (incl. malformed), calls with a time
limit, and the strategy's rounds with a scripted model and the tiny random model."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Literal

import pytest

from shouldtune import strategies
from shouldtune.core.errors import InputError
from shouldtune.core.taskio import load_task
from shouldtune.core.types import Generation
from shouldtune.core.usercode import call_with_timeout, load_task_module
from shouldtune.strategies.base import RunContext
from shouldtune.toolcall import protocol
from shouldtune.toolcall.parse import parse_tool_calls
from shouldtune.toolcall.schema import Tool, function_schema, load_tools

TOOLS_PY = '''
import time


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first number
        b (int): the second number
    """
    return a + b


def explode(reason: str = "boom") -> str:
    """Always raises."""
    raise RuntimeError(reason)


def hang(seconds: float = 30.0) -> str:
    """Never answers in time."""
    time.sleep(seconds)
    return "late"


def _helper() -> None:
    pass
'''
TRAIN = [{"input": f"What is {i} plus {i}?", "output": str(2 * i)} for i in range(1, 7)]
TEST = [
    {"input": "What is 2 plus 3?", "output": "5"},
    {"input": "Please explode.", "output": "x"},
    {"input": "Please hang.", "output": "y"},
    {"input": "Say hi.", "output": "hi"},
]


def call(name: str, **arguments) -> str:
    return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</tool_call>"


@pytest.fixture
def tools() -> dict[str, Tool]:
    def add(a: int, b: int) -> int:
        return a + b

    def echo(text: str, times: int = 1) -> str:
        return text * times

    return {f.__name__: Tool(f.__name__, f, function_schema(f)) for f in (add, echo)}


@pytest.fixture
def task(make_task_dir):
    root = make_task_dir(
        TRAIN,
        test=TEST,
        config={
            "instruction": "Answer with the number.",
            "generation": {"max_new_tokens": 6, "batch_size": 2},
            "options": {"tools": {"max_rounds": 2, "timeout_s": 0.3}},
        },
    )
    (root / "tools.py").write_text(TOOLS_PY, encoding="utf-8")
    return load_task(root)


# --- schemas ---------------------------------------------------------------------------


def test_schema_from_type_hints_and_docstring():
    def convert(
        value: float, unit: Literal["km", "mi"], tags: list[str], note: str | None = None
    ) -> str:
        """Convert a distance.

        More text that is not the summary.

        Args:
            value: how far
            unit: the unit of value
        Returns:
            the converted distance
        """
        return ""

    fn = function_schema(convert)["function"]
    assert fn["name"] == "convert"
    assert fn["description"] == "Convert a distance."
    params = fn["parameters"]
    assert params["required"] == ["value", "unit", "tags"]
    assert params["properties"] == {
        "value": {"type": "number", "description": "how far"},
        "unit": {"enum": ["km", "mi"], "type": "string", "description": "the unit of value"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string"},
    }


def test_schema_rejects_untyped_and_varargs():
    def untyped(x):  # noqa: ANN001
        return x

    def star(*args: int) -> int:
        return 0

    with pytest.raises(InputError, match="parameter x: needs a type annotation"):
        function_schema(untyped)
    with pytest.raises(InputError, match=r"\*args and \*\*kwargs"):
        function_schema(star)


def test_load_tools_takes_public_functions_defined_in_the_file(tmp_path):
    (tmp_path / "tools.py").write_text("from os.path import join\n" + TOOLS_PY, encoding="utf-8")
    loaded = load_tools(tmp_path)
    assert [t.name for t in loaded] == ["add", "explode", "hang"]  # not join, not _helper
    add = loaded[0].schema["function"]
    assert add["parameters"]["properties"]["b"]["description"] == "the second number"


def test_tools_file_must_lie_inside_the_task_folder(tmp_path):
    (tmp_path / "evil.py").write_text("def f(x: int) -> int:\n    return x\n")
    task = tmp_path / "task"
    task.mkdir()
    with pytest.raises(InputError, match="must lie inside the task folder"):
        load_task_module(task, "../evil.py", "tools")
    (task / "broken.py").write_text("raise SystemError('nope')\n")
    with pytest.raises(InputError, match="importing the tools file failed"):
        load_task_module(task, "broken.py", "tools")


# --- parsing ---------------------------------------------------------------------------


def test_parse_tool_call_blocks(tools):
    reply = "Let me add.\n" + call("add", a=2, b=3) + call("echo", text="x")
    parsed = parse_tool_calls(reply, tools)
    assert [(c.name, c.arguments) for c in parsed.calls] == [
        ("add", {"a": 2, "b": 3}),
        ("echo", {"text": "x"}),
    ]
    assert parsed.malformed == [] and parsed.text == "Let me add."


@pytest.mark.parametrize(
    "reply",
    [
        '{"name": "add", "arguments": {"a": 1, "b": 2}}',  # bare (Llama 3.1 style)
        '{"name": "add", "parameters": {"a": 1, "b": 2}}',
        '```json\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n```',
        '[TOOL_CALLS] [{"name": "add", "arguments": {"a": 1, "b": 2}}]',  # Mistral
        '<tool_call>{"type": "function", "function": {"name": "add",'
        ' "arguments": "{\\"a\\": 1, \\"b\\": 2}"}}',  # OpenAI shape, closing tag cut off
    ],
)
def test_parse_other_call_formats(tools, reply):
    parsed = parse_tool_calls(reply, tools)
    assert [(c.name, c.arguments) for c in parsed.calls] == [("add", {"a": 1, "b": 2})]
    assert not parsed.malformed


@pytest.mark.parametrize(
    "reply, problem",
    [
        ('<tool_call>{"name": "add", "arguments": {"a": 1,</tool_call>', "invalid JSON"),
        ('{"name": "add", "arguments": {a: 1}}', "invalid JSON"),
        ("<tool_call>[]</tool_call>", "an empty list of calls"),
        ('<tool_call>"add"</tool_call>', "expected a JSON object, got str"),
        ('<tool_call>{"arguments": {}}</tool_call>', "no tool name"),
        ('<tool_call>{"name": "sub", "arguments": {}}</tool_call>', "unknown tool 'sub'"),
        ('<tool_call>{"name": "add", "arguments": {"a": 1}}</tool_call>', "bad arguments for add"),
        ('<tool_call>{"name": "add", "arguments": [1, 2]}</tool_call>', "must be an object"),
        ('<tool_call>{"name": "add", "arguments": "{oops"}</tool_call>', "not valid JSON"),
    ],
)
def test_malformed_calls_are_reported_not_raised(tools, reply, problem):
    parsed = parse_tool_calls(reply, tools)
    assert parsed.attempted and not parsed.calls
    assert len(parsed.malformed) == 1
    assert problem in parsed.malformed[0].problem


def test_plain_answers_are_not_tool_calls(tools):
    for reply in ["42", "The answer is {5}.", '{"answer": 42}', "name: add"]:
        parsed = parse_tool_calls(reply, tools)
        assert not parsed.attempted and parsed.text == reply


# --- calls with a time limit -------------------------------------------------------------


def test_call_with_timeout_outcomes():
    ok = call_with_timeout(lambda a, b: a + b, 1.0, kwargs={"a": 1, "b": 2})
    assert ok.ok and ok.value == 3 and not ok.timed_out

    def boom() -> None:
        raise ValueError("bad input")

    failed = call_with_timeout(boom, 1.0)
    assert not failed.ok and failed.error == "ValueError: bad input"
    started = time.perf_counter()
    hung = call_with_timeout(time.sleep, 0.2, args=(30,))
    assert hung.timed_out and not hung.ok and "timed out after 0.2 s" in hung.error
    assert time.perf_counter() - started < 2  # the run is not held up by the hung call


# --- the strategy ------------------------------------------------------------------------


class ScriptedLM:
    """Replies by the last user message; records every conversation it was given."""

    def __init__(self, script):
        self.script = script
        self.seen: list[list[dict]] = []

    def generate(self, conversations, max_new_tokens=48, batch_size=8, on_batch=None):
        self.seen += [list(c) for c in conversations]
        return [Generation(self.script(c), 10, 3) for c in conversations]


def script(convo: list[dict]) -> str:
    last = convo[-1]["content"]
    if last.startswith("Tool result for add:"):
        return last.rsplit(" ", 1)[-1]  # answer with the tool's result
    if last.startswith("Tool result") or last.startswith("Tool call error"):
        return "gave up"
    return {
        "What is 2 plus 3?": call("add", a=2, b=3),
        "Please explode.": call("explode", reason="kaboom"),
        "Please hang.": call("hang") + "<tool_call>{not json</tool_call>",
        "Say hi.": "hi",
    }[last]


def make_ctx(task, model) -> RunContext:
    return RunContext(task=task, lm_loader=lambda: model)


def test_tools_strategy_runs_calls_and_feeds_results_back(task):
    strategy = strategies.create("tools", task.config.options["tools"])
    assert strategy.kind == "tools" and strategy.skip_reason(task) is None
    lm = ScriptedLM(script)
    ctx = make_ctx(task, lm)
    details = strategy.prepare(ctx)
    assert details["tools"] == ["add", "explode", "hang"] and details["protocol"] == "text"
    system = strategy.messages(task.test[0], ctx)[0]["content"]
    assert system.startswith("Answer with the number.") and '"name": "add"' in system
    started = time.perf_counter()
    gens = strategy.predict(task.test, ctx)
    assert time.perf_counter() - started < 5  # the hanging tool cost its 0.3 s limit only
    assert [g.text for g in gens] == ["5", "gave up", "gave up", "hi"]
    assert gens[0].prompt_tokens == 20 and gens[0].new_tokens == 6  # two rounds summed
    assert gens[3].prompt_tokens == 10
    m = strategy.measured()
    assert m["tool_calls"] == 3
    assert m["tool_errors"] == 1 and m["tool_timeouts"] == 1
    assert m["malformed_calls"] == 1 and "invalid JSON" in m["malformed_examples"][0]["problem"]
    assert m["answered_without_tools"] == 1 and m["rounds_exhausted"] == 0
    # What the model saw after each call: the result, the error, the timeout, the bad JSON.
    followups = [c[-1]["content"] for c in lm.seen if len(c) > 2]
    assert "Tool result for add: 5" in followups
    explode = next(c for c in lm.seen if c[1]["content"] == "Please explode." and len(c) > 2)
    assert explode[-1]["content"] == "Tool result for explode: error: RuntimeError: kaboom"
    hang = next(c for c in lm.seen if c[1]["content"] == "Please hang." and len(c) > 2)
    assert "error: the tool timed out after 0.3 s" in hang[-2]["content"]
    assert hang[-1]["content"].startswith("Tool call error: invalid JSON")


def test_tools_strategy_stops_after_max_rounds(task):
    strategy = strategies.create("tools", {"max_rounds": 2})
    lm = ScriptedLM(lambda c: "thinking " + call("add", a=1, b=1))  # calls forever
    ctx = make_ctx(task, lm)
    strategy.prepare(ctx)
    gens = strategy.predict(task.test[:1], ctx)
    assert len(lm.seen) == 3  # two tool rounds, then the last answer is taken as it is
    assert gens[0].text == "thinking"
    assert strategy.measured()["rounds_exhausted"] == 1
    assert strategy.measured()["tool_calls"] == 2


def test_tools_strategy_skips_without_tools_py(make_task_dir):
    task = load_task(make_task_dir(TRAIN, test=TEST))
    assert strategies.create("tools").skip_reason(task) == "no tools.py in the task folder"


TOOL_TEMPLATE = (
    "{% if tools %}<|im_start|>system\nTOOLS:{% for t in tools %} {{ t.function.name }}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m.role }}\n"
    "{% if m.tool_calls %}{% for c in m.tool_calls %}<tool_call>{{ c.function | tojson }}"
    "</tool_call>{% endfor %}{% else %}{{ m.content }}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_template_protocol_renders_tools_through_the_chat_template(task, tiny_lm):
    import copy

    lm = copy.copy(tiny_lm)
    lm.tokenizer = copy.copy(tiny_lm.tokenizer)
    lm.tokenizer.chat_template = TOOL_TEMPLATE
    assert protocol.supports_tools(lm) and not protocol.supports_tools(tiny_lm)
    forced = strategies.create("tools", {"protocol": "template"})
    with pytest.raises(InputError, match="'template' needs a local model"):
        forced.check(make_ctx(task, tiny_lm))  # before anything runs: one line, no crash
    strategy = strategies.create("tools")
    ctx = make_ctx(task, lm)
    assert strategy.prepare(ctx)["protocol"] == "template"
    wrapped = strategy.model(ctx)
    messages = strategy.messages(task.test[0], ctx)
    assert messages[0]["content"] == "Answer with the number."  # no text protocol needed
    prompt = wrapped.render(messages)
    assert prompt.startswith("<|im_start|>system\nTOOLS: add explode hang<|im_end|>")
    calls = parse_tool_calls(call("add", a=1, b=2), strategy.tools).calls
    turn = protocol.assistant_turn("", calls, template=True)
    rendered = wrapped.render([*messages, turn, {"role": "tool", "content": "3"}])
    assert '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>' in rendered
    assert rendered.endswith("<|im_start|>tool\n3<|im_end|>\n<|im_start|>assistant\n")
    assert tiny_lm.tokenizer.chat_template != TOOL_TEMPLATE  # the base model is untouched


def test_tools_strategy_with_the_tiny_model(task, tiny_lm, monkeypatch):
    strategy = strategies.create("tools", {"max_rounds": 1})
    ctx = make_ctx(task, tiny_lm)
    strategy.prepare(ctx)
    rounds: list[int] = []
    real = tiny_lm.generate
    monkeypatch.setattr(
        tiny_lm, "generate", lambda c, *a, **k: rounds.append(len(c)) or real(c, *a, **k)
    )
    gens = strategy.predict(task.test, ctx)
    assert len(gens) == len(task.test) and all(isinstance(g, Generation) for g in gens)
    assert all(g.prompt_tokens > 100 for g in gens)  # the schemas are in the prompt
    m, n = strategy.measured(), len(task.test)
    # Only the examples that tried a call in round 0 get a second round.
    assert rounds == [n] + (
        [n - m["answered_without_tools"]] if m["answered_without_tools"] < n else []
    )


def test_example_calculator_tool_is_exact():
    root = Path(__file__).resolve().parents[1] / "examples" / "tool-calculator"
    (calculate,) = [t for t in load_tools(root) if t.name == "calculate"]
    assert calculate.func(expression="(478 * 52) - 6") == "24850"
    assert calculate.func(expression="10 / 4") == "2.5"
    outcome = call_with_timeout(calculate.func, 1.0, kwargs={"expression": "__import__('os')"})
    assert not outcome.ok and "not allowed" in outcome.error
    assert textwrap.dedent(calculate.schema["function"]["description"]).startswith("Evaluate")


def test_tools_tokenizer_wrapper_survives_copies(tiny_tokenizer):
    import copy

    wrapped = protocol.ToolsTokenizer(tiny_tokenizer, [{"type": "function"}])
    clone = copy.deepcopy(wrapped)
    assert clone.eos_token_id == tiny_tokenizer.eos_token_id
    assert len(clone) == len(tiny_tokenizer)
    assert (
        clone("hi", add_special_tokens=False)["input_ids"]
        == tiny_tokenizer("hi", add_special_tokens=False)["input_ids"]
    )
