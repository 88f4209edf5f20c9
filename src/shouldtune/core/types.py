"""The core data types: a task, its examples, and what a strategy measured."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

# 2: traits, scores on clean/seen test rows, needs-aware verdict with headline and steps.
SCHEMA_VERSION = 2


class Kind(StrEnum):
    """What family a strategy belongs to: a label for people. Behaviour reads `Traits`."""

    BASELINE = "baseline"
    PROMPTING = "prompting"
    RETRIEVAL = "retrieval"
    TOOLS = "tools"
    PIPELINE = "pipeline"
    FINE_TUNING = "fine-tuning"


@dataclass(frozen=True)
class Traits:
    """What a strategy *is*, for everything that decides or prices: cost, verdict, probes.

    trains:   pays a one-off training run (training cost, break-even, probes before/after,
              one more training per change of the task);
    uses_llm: runs a language model per request (FLOPs; without one: "no LLM needed");
    hosted:   its requests leave this machine (a served model elsewhere): ruled out by
              `needs.self_hosted`.
    """

    trains: bool = False
    uses_llm: bool = True
    hosted: bool = False

    @classmethod
    def from_kind(cls, kind: str) -> Traits:
        """Results written before traits existed (schema 1) only name a kind."""
        return cls(trains=kind == Kind.FINE_TUNING, uses_llm=kind != Kind.BASELINE)

    @classmethod
    def from_json(cls, data: Any, kind: str) -> Traits:
        if not isinstance(data, dict):
            return cls.from_kind(kind)
        return cls(**{k: bool(data[k]) for k in ("trains", "uses_llm", "hosted") if k in data})


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
    """What a model produced for one request. `meta`: JSON-safe facts a strategy records per
    request for diagnosis (rag: the retrieved context), never used to score."""

    text: str
    prompt_tokens: int = 0
    new_tokens: int = 0
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class Quality:
    metric: str
    score: float
    ci_low: float
    ci_high: float
    n: int | None = None  # test rows scored (None: older results)


@dataclass
class StrategyRun:
    """What running one strategy produced, before any scoring: the answers, timings and
    details. This is what the resume cache keeps and `shouldtune rescore` reads, so a changed
    metric or changed needs never generate or train again."""

    name: str
    kind: str
    traits: Traits
    generations: list[Generation]  # one per test example, in test order
    latency_ms: dict[str, float]
    tokens_per_s: float
    prompt_tokens_mean: float
    train_seconds: float
    eval_seconds: float
    peak_rss_mb: float
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StrategyRun:
        gens = [Generation(**g) for g in data["generations"]]
        traits = Traits.from_json(data.get("traits"), data["kind"])
        return cls(**{**data, "generations": gens, "traits": traits})


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
    scores: list[float] = field(default_factory=list, repr=False)  # per clean test row
    details: dict[str, Any] = field(default_factory=dict)
    traits: Traits | None = None  # None: derived from kind (hand-made or older results)
    # Scores on other row sets: "all" test rows, "seen" (leaked) rows; and lenient views
    # of the same answers ("contains", "token_f1") for the metric-sanity check.
    subsets: dict[str, Quality] = field(default_factory=dict)
    lenient: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.traits is None:
            self.traits = Traits.from_kind(self.kind)

    @property
    def trains(self) -> bool:
        return bool(self.traits and self.traits.trains)

    @property
    def uses_llm(self) -> bool:
        return bool(self.traits and self.traits.uses_llm)

    @property
    def hosted(self) -> bool:
        return bool(self.traits and self.traits.hosted)

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
    """The decision. `fine_tune` None: undecided (nothing usable, only fine-tunes ran, or the
    fine-tune that could change it was still learning). `recommended` None: nothing usable."""

    fine_tune: bool | None
    recommended: str | None
    reasons: list[str]
    best: str | None
    not_worse_than_best: list[str]
    headline: str = ""
    status: str = "recommend"  # "recommend" | "no_recommendation"
    drivers: list[str] = field(default_factory=list)  # why fine-tune (or why not)
    indicative: bool = False  # a --quick run: a first look, not a decision
    steps: dict[str, Any] = field(default_factory=dict)  # each step's outcome
    flips: list[dict[str, Any]] = field(default_factory=list)  # what would change it
    next_steps: list[str] = field(default_factory=list)
    needs: dict[str, Any] = field(default_factory=dict)
