"""What the user needs of a solution: volume, speed, control, change, a quality floor.

Plain data for the verdict (core/verdict.py). Built from task.yaml's `needs:` block
(core.config.NeedsConfig) with command-line overrides on top; the overrides are validated by
the same schema, so a bad value names the flag.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from pydantic import ValidationError

from .config import NeedsConfig, describe_validation_error
from .errors import InputError

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class Needs:
    requests_per_day: float | None = None
    horizon_days: float = 365.0
    latency_p95_ms: float | None = None
    self_hosted: bool = False
    changes_per_year: float = 0.0
    dedicated: bool = False  # a tuned model serves only this task: forgetting is no harm
    min_quality: float | None = None
    quality_margin: float = 0.0

    @property
    def retrainings(self) -> float:
        """Training runs a fine-tune pays beyond the first over the horizon: one per change."""
        return self.changes_per_year * self.horizon_days / DAYS_PER_YEAR

    @property
    def requests(self) -> float | None:
        """Requests over the horizon; None without a stated volume."""
        if self.requests_per_day is None:
            return None
        return self.requests_per_day * self.horizon_days

    def relaxed(self, **changes: Any) -> Needs:
        """The same needs with some fields changed: 'what would the verdict be if ...'."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_config(cls, config: NeedsConfig | None) -> Needs:
        if config is None:
            return cls()
        return cls(**config.model_dump())

    @classmethod
    def from_json(cls, data: Any) -> Needs:
        """Needs recorded in a results.json (older runs have none: the defaults)."""
        if not isinstance(data, dict):
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls.from_config(_validate(known, "results.json needs"))


# Command-line flag for each need, for error messages.
FLAGS = {
    "requests_per_day": "--requests-per-day",
    "horizon_days": "--horizon-days",
    "latency_p95_ms": "--latency-p95-ms",
    "self_hosted": "--self-hosted",
    "changes_per_year": "--changes-per-year",
    "dedicated": "--dedicated",
    "min_quality": "--min-quality",
    "quality_margin": "--quality-margin",
}


def _validate(data: dict[str, Any], source: str) -> NeedsConfig:
    try:
        return NeedsConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else ""
        where = FLAGS.get(key, source) if source == "command line" else source
        raise InputError(describe_validation_error(exc), where) from None


def with_overrides(base: Needs, overrides: dict[str, Any] | None) -> Needs:
    """`base` with every override that is not None applied, validated like task.yaml."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(given) - set(FLAGS))
    if unknown:
        raise ValueError(f"unknown needs: {', '.join(unknown)}")
    if not given:
        return base
    merged = {**asdict(base), **given}
    return Needs.from_config(_validate(merged, "command line"))
