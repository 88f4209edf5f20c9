"""pipeline: divide and conquer. The task's pipeline.py lists steps; each is an LLM call or
plain Python, run in order over the whole test set, with the time of every step measured.

    # pipeline.py
    def total(state: dict) -> str:               # Python step: gets the state, returns a value
        return str(sum(int(n) for n in state["numbers"].split()))

    STEPS = [
        {"name": "numbers", "prompt": "List the numbers in: {input}"},   # an LLM step
        total,
    ]

The state starts as {"input": ...}; each step's result is stored under its name and may be
used by later prompts as {name}. The last step's result is the answer. A Python step that
raises or runs past `timeout_s` ends that example with an empty answer (counted per step).
"""

from __future__ import annotations

import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from ..core.errors import InputError
from ..core.prompts import chat
from ..core.types import Example, Generation, Kind, Task
from ..core.usercode import call_with_timeout, load_task_module
from .base import Options as BaseOptions
from .base import RunContext, Strategy

LLM_KEYS = {"name", "prompt", "system", "max_new_tokens"}


class PipelineOptions(BaseOptions):
    file: str = "pipeline.py"
    timeout_s: float = Field(30.0, gt=0, le=3600, description="per Python step and example")


@dataclass(frozen=True)
class Step:
    name: str
    kind: str  # "llm" or "python"
    prompt: str = ""
    system: str = ""
    max_new_tokens: int | None = None
    func: Callable[[dict[str, Any]], Any] | None = None


@dataclass
class StepStats:
    name: str
    kind: str
    seconds: float = 0.0
    examples: int = 0  # the examples still alive when the step ran
    errors: int = 0
    first_error: str = ""


@dataclass
class _Item:
    state: dict[str, Any]
    prompt_tokens: int = 0
    new_tokens: int = 0
    failed: bool = False


def _fields(template: str) -> set[str]:
    """The state names a prompt template uses ({name}, {name.attr}, {name[0]})."""
    names = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name:
            names.add(name.split(".")[0].split("[")[0])
    return names


def _llm_step(raw: dict[str, Any], known: set[str], where: Path) -> Step:
    extra = set(raw) - LLM_KEYS
    if extra:
        raise InputError(f"LLM step: unknown key(s) {sorted(extra)}; use {sorted(LLM_KEYS)}", where)
    name, prompt = raw.get("name"), raw.get("prompt")
    if not isinstance(name, str) or not name or not isinstance(prompt, str):
        raise InputError("an LLM step needs a 'name' and a 'prompt' (strings)", where)
    try:
        unknown = _fields(prompt) - known
    except ValueError as exc:
        raise InputError(f"step {name!r}: bad prompt template ({exc})", where) from None
    if unknown:
        raise InputError(
            f"step {name!r}: prompt uses {sorted(unknown)}; known so far: {sorted(known)}", where
        )
    tokens = raw.get("max_new_tokens")
    if tokens is not None and (not isinstance(tokens, int) or tokens < 1):
        raise InputError(f"step {name!r}: max_new_tokens must be a positive integer", where)
    return Step(name, "llm", prompt, str(raw.get("system") or ""), tokens)


def parse_steps(steps: Any, where: Path) -> list[Step]:
    if not isinstance(steps, list | tuple) or not steps:
        raise InputError("STEPS must be a non-empty list of steps", where)
    parsed: list[Step] = []
    known = {"input"}
    for raw in steps:
        if isinstance(raw, dict):
            step = _llm_step(raw, known, where)
        elif callable(raw):
            step = Step(getattr(raw, "__name__", "step"), "python", func=raw)
        else:
            raise InputError(f"a step is a dict (LLM) or a function, got {raw!r}", where)
        if step.name in known:
            raise InputError(f"step name {step.name!r} is used twice (or is 'input')", where)
        known.add(step.name)
        parsed.append(step)
    return parsed


class Pipeline(Strategy):
    name = "pipeline"
    kind = Kind.PIPELINE
    Options = PipelineOptions
    uses_run_model = True  # its LLM steps run on the run's chat model

    def __init__(self, options: PipelineOptions):
        super().__init__(options)
        self.options: PipelineOptions = options
        self.steps: list[Step] = []
        self.stats: list[StepStats] = []

    def skip_reason(self, task: Task) -> str | None:
        if not (task.root / self.options.file).is_file():
            return f"no {self.options.file} in the task folder"
        return None

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        module = load_task_module(ctx.task.root, self.options.file, "pipeline")
        where = ctx.task.root / self.options.file
        self.steps = parse_steps(getattr(module, "STEPS", None), where)
        return {"steps_defined": [f"{s.name} ({s.kind})" for s in self.steps]}

    def measured(self) -> dict[str, Any]:
        """Per-step time of the last predict call (the test-set pass, in evaluate)."""
        return {
            "steps": [
                {
                    "name": s.name,
                    "kind": s.kind,
                    "seconds": round(s.seconds, 3),
                    "examples": s.examples,
                    "ms_per_example": round(1000 * s.seconds / max(s.examples, 1), 1),
                    "errors": s.errors,
                    **({"first_error": s.first_error} if s.first_error else {}),
                }
                for s in self.stats
            ]
        }

    def predict(self, examples: Sequence[Example], ctx: RunContext) -> list[Generation]:
        self.stats = [StepStats(s.name, s.kind) for s in self.steps]
        items = [_Item({"input": ex.input}) for ex in examples]
        for step, stats in zip(self.steps, self.stats, strict=True):
            live = [it for it in items if not it.failed]
            stats.examples = len(live)
            started = time.perf_counter()
            if step.kind == "llm":
                self._llm(step, live, ctx)
            else:
                self._python(step, stats, live)
            stats.seconds = time.perf_counter() - started
        last = self.steps[-1].name
        ctx.progress.advance(len(examples))
        return [
            Generation(
                "" if it.failed else str(it.state[last]).strip(), it.prompt_tokens, it.new_tokens
            )
            for it in items
        ]

    def _llm(self, step: Step, items: list[_Item], ctx: RunContext) -> None:
        if not items:
            return
        convos = [chat(step.system, step.prompt.format_map(it.state)) for it in items]
        gen = ctx.generation
        outs = ctx.chat_lm.generate(
            convos, step.max_new_tokens or gen.max_new_tokens, gen.batch_size
        )
        for it, out in zip(items, outs, strict=True):
            it.state[step.name] = out.text
            it.prompt_tokens += out.prompt_tokens
            it.new_tokens += out.new_tokens

    def _python(self, step: Step, stats: StepStats, items: list[_Item]) -> None:
        assert step.func is not None
        for it in items:
            # A copy: a step that fails half-way must not leave the state half-changed.
            outcome = call_with_timeout(step.func, self.options.timeout_s, (dict(it.state),))
            if outcome.ok:
                it.state[step.name] = outcome.value
                continue
            it.failed = True
            stats.errors += 1
            stats.first_error = stats.first_error or outcome.error
