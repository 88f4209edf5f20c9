"""Find tool calls in a model's reply, in the formats chat templates teach.

Accepted: `<tool_call>{json}</tool_call>` blocks (Hermes/Qwen, and shouldtune's text protocol;
the closing tag may be cut off), `[TOOL_CALLS] [...]` (Mistral), and a reply that is only a
JSON call object or list (Llama 3.1 style, optionally in a ``` fence). A call object is
{"name", "arguments"|"parameters"} or OpenAI's {"function": {"name", "arguments"}};
arguments may be an object or a JSON string of one.

A reply that tries to call a tool but gets it wrong (bad JSON, unknown tool, arguments that do
not fit the function) yields `Malformed` entries: the run counts them and tells the model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .schema import Tool

_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_MISTRAL = re.compile(r"\[TOOL_CALLS\]\s*(.*)$", re.S)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*(?:```)?\s*$", re.S)
_BARE = re.compile(r'^\[?\s*\{\s*"(?:name|function|type)"\s*:')


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Malformed:
    raw: str
    problem: str


@dataclass
class Parsed:
    calls: list[ToolCall] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    text: str = ""  # the reply without tool-call markup

    @property
    def attempted(self) -> bool:
        return bool(self.calls or self.malformed)


def parse_tool_calls(reply: str, tools: Mapping[str, Tool]) -> Parsed:
    bodies, rest = _bodies(reply)
    parsed = Parsed(text=rest.strip())
    for body in bodies:
        _parse_body(body, tools, parsed)
    return parsed


def _bodies(reply: str) -> tuple[list[str], str]:
    """(JSON texts that claim to be tool calls, what is left of the reply)."""
    blocks = _BLOCK.findall(reply)
    if blocks:
        return blocks, _BLOCK.sub("", reply)
    mistral = _MISTRAL.search(reply)
    if mistral:
        return [mistral[1]], reply[: mistral.start()]
    text = reply.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced[1]
    if _BARE.match(text):
        return [text], ""
    return [], reply


def _parse_body(body: str, tools: Mapping[str, Tool], out: Parsed) -> None:
    raw = body.strip()
    try:
        value, _end = json.JSONDecoder().raw_decode(raw)
    except json.JSONDecodeError as exc:
        out.malformed.append(Malformed(raw, f"invalid JSON: {exc.msg} (column {exc.colno})"))
        return
    for item in value if isinstance(value, list) else [value]:
        call = _call(item, tools)
        if isinstance(call, ToolCall):
            out.calls.append(call)
        else:
            out.malformed.append(Malformed(raw, call))
    if isinstance(value, list) and not value:
        out.malformed.append(Malformed(raw, "an empty list of calls"))


def _call(item: Any, tools: Mapping[str, Tool]) -> ToolCall | str:
    """The call an object describes, or why it is malformed."""
    if not isinstance(item, dict):
        return f"expected a JSON object, got {type(item).__name__}"
    inner = item.get("function") if isinstance(item.get("function"), dict) else item
    name = inner.get("name")
    if not isinstance(name, str):
        return "no tool name"
    args = inner.get("arguments", inner.get("parameters", {}))
    if isinstance(args, str):  # OpenAI sends arguments as a JSON string
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            return f"arguments are not valid JSON: {exc.msg}"
    if not isinstance(args, dict):
        return f"arguments must be an object, got {type(args).__name__}"
    if name not in tools:
        return f"unknown tool {name!r}; tools: {', '.join(tools)}"
    problem = tools[name].bind_error(args)
    if problem:
        return f"bad arguments for {name}: {problem}"
    return ToolCall(name, args)
