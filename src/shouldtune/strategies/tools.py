"""tools: the model may call the task's Python tools (tools.py) before it answers.

Each round generates for every unfinished example at once; replies with tool calls get the
results fed back, the rest are final answers. Malformed calls, tool errors and timeouts are
counted (results.json `details`) and told to the model, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import Field

from ..core.errors import InputError
from ..core.prompts import chat
from ..core.types import Example, Generation, Kind, Task
from ..core.usercode import call_with_timeout
from ..toolcall import protocol
from ..toolcall.parse import Parsed, ToolCall, parse_tool_calls
from ..toolcall.schema import Tool, load_tools
from .base import ChatStrategy, RunContext
from .base import Options as BaseOptions

MALFORMED_SHOWN = 5


class ToolsOptions(BaseOptions):
    file: str = "tools.py"
    max_rounds: int = Field(3, ge=1, le=10, description="tool rounds before the last answer")
    timeout_s: float = Field(5.0, gt=0, le=600, description="per tool call")
    protocol: Literal["auto", "template", "text"] = "auto"
    max_result_chars: int = Field(1000, ge=10, le=100_000)


@dataclass
class ToolStats:
    tool_calls: int = 0
    malformed_calls: int = 0
    tool_errors: int = 0
    tool_timeouts: int = 0
    rounds_exhausted: int = 0
    answered_without_tools: int = 0
    tool_seconds: float = 0.0
    malformed_examples: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Convo:
    messages: list[dict[str, Any]]
    prompt_tokens: int = 0
    new_tokens: int = 0
    answer: str | None = None


class Tools(ChatStrategy):
    name = "tools"
    kind = Kind.TOOLS
    Options = ToolsOptions

    def __init__(self, options: ToolsOptions):
        super().__init__(options)
        self.options: ToolsOptions = options
        self.tools: dict[str, Tool] = {}
        self.template = False
        self.stats = ToolStats()
        self._model: Any = None

    def skip_reason(self, task: Task) -> str | None:
        if not (task.root / self.options.file).is_file():
            return f"no {self.options.file} in the task folder"
        return None

    def check(self, ctx: RunContext) -> None:
        """Before any strategy runs: a forced template protocol needs a model that has one."""
        if self.options.protocol == "template" and not protocol.supports_tools(ctx.chat_lm):
            raise InputError(
                "options.tools.protocol: 'template' needs a local model whose chat template"
                " renders tools; this one does not (use 'auto' or 'text')"
            )

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        self.tools = {t.name: t for t in load_tools(ctx.task.root, self.options.file)}
        base = ctx.chat_lm
        native = protocol.supports_tools(base)
        self.template = self.options.protocol == "template" or (
            self.options.protocol == "auto" and native
        )
        self._model = protocol.with_tools(base, self.schemas) if self.template else base
        return {
            "tools": list(self.tools),
            "protocol": "template" if self.template else "text",
            "max_rounds": self.options.max_rounds,
            "timeout_s": self.options.timeout_s,
        }

    @property
    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema for t in self.tools.values()]

    def model(self, ctx: RunContext) -> Any:
        return self._model

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, Any]]:
        instruction = example.system or ctx.task.instruction
        if not self.template:
            instruction = protocol.text_system_prompt(instruction, self.schemas)
        return chat(instruction, example.input)

    def measured(self) -> dict[str, Any]:
        """Counts from the last predict call (evaluate reads them after the test-set pass)."""
        stats = asdict(self.stats)
        stats["tool_seconds"] = round(stats["tool_seconds"], 3)
        return stats

    def predict(self, examples: Sequence[Example], ctx: RunContext) -> list[Generation]:
        self.stats = ToolStats()
        convos = [_Convo(self.messages(ex, ctx)) for ex in examples]
        for round_no in range(self.options.max_rounds + 1):
            active = [c for c in convos if c.answer is None]
            if not active:
                break
            last = round_no == self.options.max_rounds
            self._round(active, ctx, first=round_no == 0, last=last)
        return [Generation(c.answer or "", c.prompt_tokens, c.new_tokens) for c in convos]

    def _round(self, active: list[_Convo], ctx: RunContext, first: bool, last: bool) -> None:
        gen = ctx.generation
        replies = self._model.generate(
            [c.messages for c in active], gen.max_new_tokens, gen.batch_size
        )
        for convo, reply in zip(active, replies, strict=True):
            convo.prompt_tokens += reply.prompt_tokens
            convo.new_tokens += reply.new_tokens
            parsed = parse_tool_calls(reply.text, self.tools)
            self._count_malformed(parsed)
            if not parsed.attempted or last:
                if parsed.attempted:  # still calling tools after the last round
                    self.stats.rounds_exhausted += 1
                elif first:
                    self.stats.answered_without_tools += 1
                convo.answer = parsed.text
                ctx.progress.advance()
                continue
            convo.messages.append(protocol.assistant_turn(reply.text, parsed.calls, self.template))
            for call in parsed.calls:
                result = self._run(call)
                convo.messages.append(protocol.result_turn(call, result, self.template))
            convo.messages.extend(protocol.malformed_turn(bad) for bad in parsed.malformed)

    def _count_malformed(self, parsed: Parsed) -> None:
        self.stats.malformed_calls += len(parsed.malformed)
        room = MALFORMED_SHOWN - len(self.stats.malformed_examples)
        for bad in parsed.malformed[: max(room, 0)]:
            self.stats.malformed_examples.append({"raw": bad.raw[:200], "problem": bad.problem})

    def _run(self, call: ToolCall) -> str:
        """The tool's result as text for the model; errors and timeouts are results too."""
        self.stats.tool_calls += 1
        tool = self.tools[call.name]
        outcome = call_with_timeout(tool.func, self.options.timeout_s, kwargs=call.arguments)
        self.stats.tool_seconds += outcome.seconds
        if outcome.timed_out:
            self.stats.tool_timeouts += 1
            return f"error: the tool {outcome.error}"
        if not outcome.ok:
            self.stats.tool_errors += 1
            return f"error: {outcome.error}"
        value = outcome.value
        if not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, default=str)
        return value[: self.options.max_result_chars]
