"""The core data types: a task, its examples, and what a strategy measured."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

# Strategy kinds, cheapest to set up first; the verdict breaks ties with this order.
KINDS = ("baseline", "prompting", "retrieval", "tools", "pipeline", "fine-tuning")


@dataclass(frozen=True)
class Example:
    """One input/output pair. `source` is 'file:line' so findings can point at it."""

    input: str
    output: str
    system: str | None = None
    source: str = ""


@dataclass(frozen=True)
class Document:
    path: str
    text: str


@dataclass
class Task:
    name: str
    instruction: str
    metric: str
    train: list[Example]
    test: list[Example]
    root: Path
    description: str = ""
    docs: list[Document] = field(default_factory=list)
    test_is_split: bool = False  # True when test came from a seeded split of train.jsonl
    config: Any = None  # the validated TaskConfig


@dataclass(frozen=True)
class Generation:
    """What a model produced for one request."""

    text: str
    prompt_tokens: int = 0
    new_tokens: int = 0


@dataclass
class Quality:
    metric: str
    score: float
    ci_low: float
    ci_high: float


@dataclass
class StrategyResult:
    name: str
    kind: str
    quality: Quality
    latency_ms: dict[str, float]
    tokens_per_s: float
    prompt_tokens_mean: float
    train_seconds: float
    eval_seconds: float
    peak_rss_mb: float
    predictions_file: str
    scores: list[float] = field(default_factory=list, repr=False)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("scores")
        return data


@dataclass
class SkippedStrategy:
    name: str
    reason: str


@dataclass
class Verdict:
    fine_tune: bool
    recommended: str
    reasons: list[str]
    best: str
    not_worse_than_best: list[str]
