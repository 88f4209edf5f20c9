"""Divide and conquer for the tool-calculator example: the model only turns the question into
an arithmetic expression (language); Python does the arithmetic (exact).

A step is a dict (an LLM call; its prompt may use {input} and earlier step names) or a plain
function that gets the state dict and returns the step's result. The last step is the answer.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

# The arithmetic is the calculator tool's own (tools.py beside this file): one evaluator.
_spec = importlib.util.spec_from_file_location(
    "tool_calculator_tools", Path(__file__).with_name("tools.py")
)
_tools = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tools)


def compute(state: dict) -> str:
    """Evaluate the first arithmetic-looking line the model wrote."""
    text = state["expression"].replace("x", "*").replace("×", "*")
    match = re.search(r"[\d(][\d\s+\-*/().]*", text)
    if not match:
        raise ValueError(f"no expression in {state['expression']!r}")
    return _tools.calculate(match[0].strip().rstrip("=").strip())


STEPS = [
    {
        "name": "expression",
        "system": "Rewrite the question as one arithmetic expression. Reply with the expression"
        " only, for example: 12 * 7 + 3",
        "prompt": "{input}",
    },
    compute,
]
