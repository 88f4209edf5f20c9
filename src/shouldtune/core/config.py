"""task.yaml schema (pydantic v2, unknown keys rejected) and its error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from .errors import InputError
from .needs import NeedsConfig  # generated from the needs' one declaration (core/needs.py)
from .schema import _SHORT, Strict, describe_validation_error


class StrategyOptions(Strict):
    """Base of a strategy's options (task.yaml `options.<name>`)."""


class SplitConfig(Strict):
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    seed: int = 0


class GenerationConfig(Strict):
    max_new_tokens: int = Field(48, ge=1, le=2048)
    # Rows generated together. 32: on a 2-core CPU the test set's throughput is 6x naive
    # generate at 32 but under 4x at 8 (benchmarks/README.md); memory is not the limit there.
    batch_size: int = Field(32, ge=1, le=256)
    # Extra stop strings (EOS and <|im_end|> always stop); the answer is cut before them.
    stop: list[str] = Field(default_factory=list, max_length=16)


class CostConfig(Strict):
    """Prices that turn measured seconds and tokens into money (core/cost.py)."""

    price_per_hour: float = Field(1.0, ge=0, description="the machine running the model")
    currency: str = Field("USD", min_length=1, max_length=8)
    # A hosted model's prices, for the alternatives that need no training (a side left out: 0).
    api_input_per_million: float | None = Field(None, ge=0)
    api_output_per_million: float | None = Field(None, ge=0)
    # Deprecated: the volume is a need (needs.requests_per_day); still read, with a note.
    requests_per_day: float | None = Field(None, gt=0, description="deprecated: use needs")


class EvalConfig(Strict):
    # Single requests timed per strategy (after one warm-up): a p95 needs 20 or more.
    latency_samples: int = Field(20, ge=1, le=1000)
    bootstrap_samples: int = Field(2000, ge=100, le=100_000)
    max_test: int | None = Field(None, ge=1)
    # Label tasks: LLM strategies answer with the label set ranked by likelihood (the free
    # generation kept as a view); false: free generation only.
    label_ranking: bool = True
    # Seconds each prompting strategy's search on dev may take (the learning curve has 120 s
    # per fine-tune). On 2 AVX2 cores the demo's LoRA sweep took 63 s and its four prompting
    # searches 129 s at 45 s each, 32% of the run: 25 s keeps them near 20%. None: no limit.
    search_budget_s: float | None = Field(25.0, gt=0)


class BackendConfig(Strict):
    """A served OpenAI-compatible model for the prompting strategies. No API key, nor the name
    of a variable holding one: a task file must not choose which secret goes to which URL
    (only `shouldtune run --backend-key-env` with `--backend-url` on the same command line)."""

    base_url: str = Field(min_length=1, pattern=r"^https?://")
    model: str = Field(min_length=1)
    timeout_s: float = Field(60.0, gt=0, le=3600)
    max_retries: int = Field(4, ge=0, le=20)


class SlickConfig(Strict):
    """Known/unknown analysis of the training data (probes/slick.py)."""

    enabled: bool = True
    max_examples: int = Field(24, ge=1, le=100_000, description="seeded sample of train")
    prompts: int = Field(3, ge=1, le=20, description="few-shot prompts, greedy under each")
    shots: int = Field(4, ge=0, le=16)
    samples: int = Field(2, ge=0, le=64, description="temperature samples per example")
    temperature: float = Field(0.5, gt=0, le=2)
    warn_unknown_share: float = Field(0.5, ge=0, le=1)
    # SliCK looks for facts the base model does not know; data that teaches a format (the
    # answer is in the input, or a label) has none to find: skipped unless this is true.
    on_format: bool = False


class ProbesConfig(Strict):
    """Hallucination and forgetting probes run before and after every fine-tune."""

    enabled: bool = True
    quick: bool = False  # fewer items and SliCK queries; `shouldtune run --quick` implies it
    answerable: int = Field(40, ge=0, le=200)
    unanswerable: int = Field(40, ge=0, le=200)
    general: int = Field(60, ge=0, le=1000)
    max_new_tokens: int = Field(24, ge=1, le=256)
    # As generation's: batch 32 generated the probes' kind of short answers 1.26x faster than
    # 16 on a 2-core AVX2 CPU (benchmarks/README.md, generation.py).
    batch_size: int = Field(32, ge=1, le=256)
    slick: SlickConfig = Field(default_factory=SlickConfig)


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
    backend: BackendConfig | None = None
    probes: ProbesConfig = Field(default_factory=ProbesConfig)
    cost: CostConfig = Field(default_factory=CostConfig)
    needs: NeedsConfig = Field(default_factory=NeedsConfig)
    # The answers' shape (models/constrain.py): a JSON Schema, or a regular expression the
    # whole answer matches. Generation is constrained to it unless `constrained: false`.
    output_schema: dict[str, Any] | None = None
    output_regex: str | None = Field(None, max_length=2000)
    constrained: bool = True
    _notes: list[str] = PrivateAttr(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """One-line notes about the file (deprecated keys), shown before the run starts."""
        return list(self._notes)

    @model_validator(mode="after")
    def _volume_moved_to_needs(self) -> TaskConfig:
        old, new = self.cost.requests_per_day, self.needs.requests_per_day
        if old is None:
            return self
        if new is not None and new != old:
            raise ValueError(
                f"cost.requests_per_day ({old:g}) and needs.requests_per_day ({new:g}) disagree;"
                " keep only needs.requests_per_day"
            )
        self.needs.requests_per_day = old
        self._notes.append(
            "task.yaml: cost.requests_per_day is deprecated, read as needs.requests_per_day"
            " (move it there)"
        )
        return self

    @field_validator("output_schema")
    @classmethod
    def _schema_enforceable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        from ..models.constrain import check_schema  # plain Python: no torch

        if value is not None:
            check_schema(value)
        return value

    @field_validator("output_regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        from ..models.constrain import check_regex

        if value is not None:
            check_regex(value, "the regular expression")
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> TaskConfig:
        if self.output_schema is not None and self.output_regex is not None:
            raise ValueError("output_schema and output_regex: give one shape, not both")
        return self

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        from .metrics import check_metric_name

        check_metric_name(value)
        return value


class DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: object, line: int):
        self.key, self.line = key, line
        super().__init__(f"duplicate key {key!r}")


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping naming a key twice (PyYAML keeps the last silently).
    Keys brought in by a merge (`<<: *base`) may be overridden, as YAML intends."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base constructor reports it
                continue
            if duplicate:
                raise DuplicateKeyError(key, key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep)


def parse_task_config(path: Path) -> TaskConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("missing task.yaml (needs at least 'name')", path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    try:
        raw = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except DuplicateKeyError as exc:
        raise InputError(f"duplicate key {_SHORT.repr(exc.key)}", path, exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"invalid YAML: {problem}", path, line) from None
    except RecursionError:
        raise InputError("invalid YAML: nested too deeply", path) from None
    if not isinstance(raw, dict):
        raise InputError(f"expected a mapping of keys, got {type(raw).__name__}", path)
    try:
        return TaskConfig.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc), path) from None
