"""Divide and conquer for the tool-calculator example: the model only turns the question into
an arithmetic expression (language); Python does the arithmetic (exact).

A step is a dict (an LLM call; its prompt may use {input} and earlier step names) or a plain
function that gets the state dict and returns the step's result. The last step is the answer.
"""

from __future__ import annotations

import ast
import operator
import re

_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
}


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.left), _eval(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.operand))
    raise ValueError("not an arithmetic expression")


def compute(state: dict) -> str:
    """Evaluate the first arithmetic-looking line the model wrote."""
    text = state["expression"].replace("x", "*").replace("×", "*")
    match = re.search(r"[\d(][\d\s+\-*/().]*", text)
    if not match:
        raise ValueError(f"no expression in {state['expression']!r}")
    value = _eval(ast.parse(match[0].strip().rstrip("=").strip(), mode="eval").body)
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}".rstrip("0")


STEPS = [
    {
        "name": "expression",
        "system": "Rewrite the question as one arithmetic expression. Reply with the expression"
        " only, for example: 12 * 7 + 3",
        "prompt": "{input}",
    },
    compute,
]
