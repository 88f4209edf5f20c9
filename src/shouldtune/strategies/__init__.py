"""The strategy registry: adding a strategy is a new module plus one line here (or, outside
this package, `register(name, "module:Class")` / a `shouldtune.strategies` entry point)."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import ValidationError

from ..contract import Strategy
from ..core.config import describe_validation_error
from ..core.errors import InputError

REGISTRY: dict[str, str] = {
    "baseline": "shouldtune.strategies.baseline:Baseline",
    "zero_shot": "shouldtune.strategies.zero_shot:ZeroShot",
    "few_shot": "shouldtune.strategies.few_shot:FewShot",
    "few_shot_knn": "shouldtune.strategies.few_shot:KnnFewShot",
    "rag": "shouldtune.strategies.rag:Rag",
    "tools": "shouldtune.strategies.tools:Tools",
    "pipeline": "shouldtune.strategies.pipeline:Pipeline",
    "lora": "shouldtune.strategies.lora:Lora",
    "full": "shouldtune.strategies.full:Full",
    "layerwise": "shouldtune.strategies.layerwise:Layerwise",
}


ENTRY_POINTS = "shouldtune.strategies"


def register(name: str, target: str) -> None:
    """Add a strategy class by import path ("package.module:Class"): one line, no other file."""
    if ":" not in target:
        raise ValueError(f"register({name!r}, {target!r}): expected 'module:Class'")
    REGISTRY[name] = target


def _load_entry_points() -> None:
    """Strategies other packages declare under the `shouldtune.strategies` entry point."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINTS):
        REGISTRY.setdefault(ep.name, ep.value)


_load_entry_points()


def names() -> list[str]:
    return list(REGISTRY)


def check_name(name: str, source: str = "") -> None:
    if name not in REGISTRY:
        where = f" in {source}" if source else ""
        raise InputError(f"unknown strategy {name!r}{where}; valid: {', '.join(REGISTRY)}")


def strategy_class(name: str) -> type[Strategy]:
    check_name(name)
    module_name, cls_name = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), cls_name)


def create(name: str, options: dict[str, Any] | None = None, source: str = "task.yaml") -> Strategy:
    """Instantiate a strategy with validated options; bad options raise InputError."""
    cls = strategy_class(name)
    try:
        opts = cls.Options.model_validate(options or {})
    except ValidationError as exc:
        raise InputError(f"options.{name}: {describe_validation_error(exc)}", source) from None
    return cls(opts)
