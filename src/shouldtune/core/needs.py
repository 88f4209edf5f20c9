"""What the user needs of a solution: volume, speed, control, change, a quality floor.

The `Needs` dataclass below is the needs' one declaration: each field's name, type and
default, and in its `need(...)` its validation bounds, command-line flag, help text and report
label. Everything else derives from it: the task.yaml schema (`NeedsConfig`, generated here),
the `run` and `rescore` options (cli/main.py), the flag a bad override names (`FLAGS`), the
report's "Your needs" table (report/decision.py). To add a need, add a field here; then teach
the verdict (core/decision.py) what it means. tests/test_needs_fields.py checks a field
reaches every one of those places.

Plain data for the verdict (core/verdict.py). Built from task.yaml's `needs:` block with
command-line overrides on top; the overrides are validated by the same schema, so a bad value
names the flag.
"""

from __future__ import annotations

import types
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, Field, ValidationError, create_model

from .errors import InputError
from .schema import Strict, describe_validation_error

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class Need:
    """How one need is asked for, checked and shown; its name, type and default are those of
    its field in `Needs`."""

    help: str  # the option's help and the schema's description
    label: str  # the report's "Your needs" table
    flag: str | None = None  # typer's declaration; None: --the-name (a bool: --the-name/--no-...)
    gt: float | None = None  # validation bounds, as pydantic's Field takes them
    ge: float | None = None
    lt: float | None = None
    le: float | None = None


def need(default: Any, *, help: str, label: str, flag: str | None = None, **bounds: float) -> Any:
    """A field of `Needs`: its default and how it is asked for, checked and shown."""
    return field(default=default, metadata={"need": Need(help, label, flag, **bounds)})


@dataclass(frozen=True)
class Needs:
    requests_per_day: float | None = need(
        None, gt=0, help="expected volume: requests a day", label="volume (requests a day)"
    )
    horizon_days: float = need(
        365.0, gt=0, le=36_500, help="days the total cost covers", label="horizon (days)"
    )
    latency_p95_ms: float | None = need(
        None, gt=0, help="budget for one request: p95 in ms", label="latency budget (p95 ms)"
    )
    self_hosted: bool = need(
        False,
        flag="--self-hosted/--hosted-ok",
        help="nothing may leave this machine: hosted models are ruled out",
        label="self-hosted only",
    )
    changes_per_year: float = need(
        0.0,
        ge=0,
        le=100_000,
        help="changes of the task a year: each retrains every fine-tune once",
        label="changes a year",
    )
    dedicated: bool = need(
        False,
        flag="--dedicated/--general",
        help="a tuned model would serve only this task: forgetting is no harm",
        label="dedicated to this task",
    )
    min_quality: float | None = need(
        None, ge=0, le=1, help="floor on the metric (0 to 1)", label="quality floor"
    )
    quality_margin: float = need(
        0.0, ge=0, lt=1, help="quality you would trade for cost or speed", label="quality margin"
    )

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
    def from_config(cls, config: BaseModel | None) -> Needs:
        """From a validated `needs:` block (NeedsConfig); None: the defaults."""
        if config is None:
            return cls()
        return cls(**config.model_dump())

    @classmethod
    def from_json(cls, data: Any) -> Needs:
        """Needs recorded in a results.json (older runs have none: the defaults)."""
        if not isinstance(data, dict):
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls.from_config(_validate(known, "results.json needs", cls))


@dataclass(frozen=True)
class NeedField:
    """One need as every consumer reads it: the declaration's field with its `Need` resolved."""

    name: str
    type: Any  # e.g. float | None, bool
    default: Any
    help: str
    label: str
    flag: str  # typer's declaration: "--horizon-days", "--self-hosted/--hosted-ok"
    bounds: dict[str, float]

    @property
    def option(self) -> str:
        """The flag that sets it, as an error message names it: "--self-hosted"."""
        return self.flag.split("/")[0]

    @property
    def value_type(self) -> Any:
        """The type without None: what a command-line value is parsed as."""
        if get_origin(self.type) in (Union, types.UnionType):
            rest = [a for a in get_args(self.type) if a is not type(None)]
            return rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
        return self.type


@cache
def need_fields(declaration: type[Needs] = Needs) -> tuple[NeedField, ...]:
    """The needs in declaration order. `declaration`: `Needs` or a dataclass extending it
    (tests add a field this way)."""
    hints = get_type_hints(declaration)
    out = []
    for f in fields(declaration):
        spec = f.metadata.get("need")
        if not isinstance(spec, Need):
            raise TypeError(f"Needs.{f.name}: declare it with need(...)")
        dashed = "--" + f.name.replace("_", "-")
        default_flag = f"{dashed}/--no-{dashed[2:]}" if hints[f.name] is bool else dashed
        bounds = {k: getattr(spec, k) for k in ("gt", "ge", "lt", "le")}
        out.append(
            NeedField(
                name=f.name,
                type=hints[f.name],
                default=f.default,
                help=spec.help,
                label=spec.label,
                flag=spec.flag or default_flag,
                bounds={k: v for k, v in bounds.items() if v is not None},
            )
        )
    return tuple(out)


@cache
def config_model(declaration: type[Needs] = Needs) -> type[Strict]:
    """The task.yaml `needs:` schema of a declaration: unknown keys refused, every key
    optional, each bounded and described as declared."""
    return create_model(
        "NeedsConfig",
        __base__=Strict,
        __module__=__name__,
        __doc__="What the user needs of a solution (core/needs.py): the verdict weighs these, "
        "not accuracy alone. Every field is optional; the CLI may override each one.",
        **{
            f.name: (f.type, Field(f.default, description=f.help, **f.bounds))  # type: ignore[misc]
            for f in need_fields(declaration)
        },
    )


NeedsConfig = config_model(Needs)

# Command-line flag for each need, for error messages.
FLAGS = {f.name: f.option for f in need_fields(Needs)}


def _validate(data: dict[str, Any], source: str, declaration: type[Needs] = Needs) -> BaseModel:
    try:
        return config_model(declaration).model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else ""
        flags = {f.name: f.option for f in need_fields(declaration)}
        where = flags.get(key, source) if source == "command line" else source
        raise InputError(describe_validation_error(exc), where) from None


def with_overrides(base: Needs, overrides: dict[str, Any] | None) -> Needs:
    """`base` with every override that is not None applied, validated like task.yaml."""
    declaration = type(base)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(given) - {f.name for f in need_fields(declaration)})
    if unknown:
        raise ValueError(f"unknown needs: {', '.join(unknown)}")
    if not given:
        return base
    merged = {**asdict(base), **given}
    return declaration.from_config(_validate(merged, "command line", declaration))
