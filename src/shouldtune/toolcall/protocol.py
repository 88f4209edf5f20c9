"""How tools are offered to a model and how results go back.

`template`: the model's chat template has a tool format: schemas go in as `tools=`, calls
come back as assistant `tool_calls` and results as `tool` messages. `text`: any other model
(or a served one) gets the schemas and the `<tool_call>` format in the system prompt, and
results as user messages starting "Tool result".
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from .parse import Malformed, ToolCall

TEXT_PROTOCOL = """You can use these tools (JSON schemas):
{schemas}

To use a tool, reply with only a tool call and nothing else, like this:
<tool_call>{{"name": "{example}", "arguments": {{...}}}}</tool_call>
The result comes back in a message that starts with "Tool result".
When you know the answer, reply with the answer only."""


def supports_tools(lm: Any) -> bool:
    """Whether the model's chat template renders a `tools` list (a local model only)."""
    template = getattr(getattr(lm, "tokenizer", None), "chat_template", None)
    return isinstance(template, str) and "tools" in template and dataclasses.is_dataclass(lm)


def text_system_prompt(instruction: str, schemas: list[dict[str, Any]]) -> str:
    lines = "\n".join(json.dumps(s["function"], ensure_ascii=False) for s in schemas)
    name = schemas[0]["function"]["name"]
    protocol = TEXT_PROTOCOL.format(schemas=lines, example=name)
    return f"{instruction}\n\n{protocol}" if instruction else protocol


class ToolsTokenizer:
    """A tokenizer whose chat template is always rendered with the tools list."""

    def __init__(self, inner: Any, schemas: list[dict[str, Any]]):
        self._inner = inner
        self._schemas = schemas

    def __getattr__(self, name: str) -> Any:
        inner = self.__dict__.get("_inner")  # absent while copy/pickle rebuilds the object
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner(*args, **kwargs)

    def __len__(self) -> int:
        return len(self._inner)

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("tools", self._schemas)
        return self._inner.apply_chat_template(conversation, **kwargs)


def with_tools(lm: Any, schemas: list[dict[str, Any]]) -> Any:
    """A copy of a LanguageModel (same weights) that renders prompts with `tools=`."""
    return dataclasses.replace(lm, tokenizer=ToolsTokenizer(lm.tokenizer, schemas))


def assistant_turn(reply: str, calls: list[ToolCall], template: bool) -> dict[str, Any]:
    if not template or not calls:
        return {"role": "assistant", "content": reply}
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls
        ],
    }


def result_turn(call: ToolCall, result: str, template: bool) -> dict[str, Any]:
    if template:
        return {"role": "tool", "name": call.name, "content": result}
    return {"role": "user", "content": f"Tool result for {call.name}: {result}"}


def malformed_turn(bad: Malformed) -> dict[str, Any]:
    return {
        "role": "user",
        "content": f"Tool call error: {bad.problem}. Reply with a valid tool call or the answer.",
    }
