"""task.yaml schema (pydantic v2, unknown keys rejected) and its error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import InputError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StrategyOptions(Strict):
    """Base of a strategy's options (task.yaml `options.<name>`)."""


class SplitConfig(Strict):
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    seed: int = 0


class GenerationConfig(Strict):
    max_new_tokens: int = Field(48, ge=1, le=2048)
    batch_size: int = Field(8, ge=1, le=256)


class EvalConfig(Strict):
    latency_samples: int = Field(6, ge=1, le=1000)
    bootstrap_samples: int = Field(2000, ge=100, le=100_000)
    max_test: int | None = Field(None, ge=1)


class TaskConfig(Strict):
    name: str = Field(min_length=1)
    instruction: str = ""
    description: str = ""
    metric: str = "exact_match"
    model: str | None = None
    strategies: list[str] | None = None
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    split: SplitConfig = Field(default_factory=SplitConfig)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        from .metrics import check_metric_name

        check_metric_name(value)
        return value


def describe_validation_error(err: ValidationError) -> str:
    """One line: the first failing key, what is wrong, and the value received."""
    first = err.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    received = first.get("input")
    more = len(err.errors()) - 1
    tail = f" ({more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"key '{key}': {msg}; got {received!r}{tail}"


def parse_task_config(path: Path) -> TaskConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("missing task.yaml (needs at least 'name')", path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"invalid YAML: {problem}", path, line) from None
    if not isinstance(raw, dict):
        raise InputError(f"expected a mapping of keys, got {type(raw).__name__}", path)
    try:
        return TaskConfig.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc), path) from None
