"""The cost model: FLOPs, money per 1,000 requests, and a fine-tune's break-even volume.

FLOPs use the standard decoder estimate (Kaplan et al. 2020; T-Few, Liu et al. 2022, §4.2):
a forward pass costs 2 x parameters per token, training 6 x parameters per token (forward and
backward). Money comes from *measured* seconds at a machine price per hour, or from tokens at a
hosted API's prices per million tokens. Pure Python: no torch here.

Break-even: a fine-tune pays a one-off training cost C, then each request costs c_tuned instead
of the alternative's c_alt. It has paid for itself after N = ceil(C / (c_alt - c_tuned))
requests, and never when c_tuned >= c_alt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .types import StrategyResult


@dataclass(frozen=True)
class Prices:
    """What a machine-hour and a hosted model's tokens cost; the volume you expect."""

    per_hour: float = 1.0
    currency: str = "USD"
    api_input_per_million: float | None = None
    api_output_per_million: float | None = None
    requests_per_day: float | None = None  # from needs: turns break-even into days

    @property
    def has_api(self) -> bool:
        return self.api_input_per_million is not None or self.api_output_per_million is not None

    @classmethod
    def from_config(cls, config: Any, requests_per_day: float | None = None) -> Prices:
        """From task.yaml's validated `cost:` section (core.config.CostConfig) or None, and
        the volume from `needs`."""
        if config is None:
            return cls(requests_per_day=requests_per_day)
        return cls(
            per_hour=config.price_per_hour,
            currency=config.currency,
            api_input_per_million=config.api_input_per_million,
            api_output_per_million=config.api_output_per_million,
            requests_per_day=requests_per_day,
        )


def inference_flops(parameters: float, tokens: float) -> float:
    """Forward pass of a decoder: 2 FLOPs per parameter per token (prompt + generated)."""
    return 2.0 * parameters * tokens


def training_flops(parameters: float, tokens: float) -> float:
    """Training: 6 FLOPs per parameter per token. With LoRA the backward pass still runs
    through the whole frozen model, so T-Few counts all parameters, not the trainable ones."""
    return 6.0 * parameters * tokens


def machine_cost(seconds: float, per_hour: float) -> float:
    return seconds * per_hour / 3600.0


def api_cost(prompt_tokens: float, new_tokens: float, prices: Prices) -> float | None:
    """One request through a hosted API; None when no API price is set (a missing side is 0)."""
    if not prices.has_api:
        return None
    per_in = prices.api_input_per_million or 0.0
    per_out = prices.api_output_per_million or 0.0
    return (prompt_tokens * per_in + new_tokens * per_out) / 1e6


def break_even_requests(
    training_cost: float, tuned_per_request: float, other_per_request: float
) -> int | None:
    """Requests after which the one-off training cost is paid back; None: never."""
    saving = other_per_request - tuned_per_request
    if saving <= 0:
        return None
    if training_cost <= 0:
        return 0
    n = training_cost / saving
    # 0.3 / 0.1 is 2.9999999999999996: snap float noise so an exact quotient is not rounded up.
    nearest = round(n)
    if math.isclose(n, nearest, rel_tol=1e-9):
        return int(nearest)
    return math.ceil(n)


@dataclass
class StrategyCost:
    """Per-request and one-off cost of one strategy (results.json: strategies[].cost)."""

    flops_per_request: float | None
    seconds_per_request: float
    machine_cost_per_1k_requests: float
    api_cost_per_1k_requests: float | None
    cost_per_1k_requests: float  # the one break-even uses: see `basis`
    basis: str  # "machine" (measured seconds x price) or "api" (tokens x API prices)
    training_flops: float | None = None
    training_seconds: float = 0.0
    training_cost: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, float):
                data[key] = _sig(value)
        return data


def parameters_for(
    result: StrategyResult, model_parameters: int | None, remote: bool
) -> int | None:
    """The parameters a strategy's requests run through; None when unknown or no LLM."""
    if not result.uses_llm:
        return None
    if isinstance(result.details.get("parameters"), int):  # its own model (candidate:<name>)
        return result.details["parameters"]
    if remote and not result.trains:  # served by the backend: its size is not known here
        return None
    return model_parameters


def strategy_cost(
    result: StrategyResult,
    n_requests: int,
    parameters: int | None,
    prices: Prices,
    seconds_per_token: float | None = None,
) -> StrategyCost:
    # Seconds per request = batched test-set seconds / requests, not the batch-1 latency:
    # cost at volume is set by throughput (a busy server batches), latency by the single request.
    # `seconds_per_token`: a rate pooled over strategies that serve the same model.
    seconds = result.eval_seconds / max(n_requests, 1)
    new_tokens = _new_tokens_mean(result, n_requests)
    tokens = result.prompt_tokens_mean + new_tokens
    if seconds_per_token is not None:
        seconds = seconds_per_token * tokens
    machine = machine_cost(seconds, prices.per_hour)
    api = api_cost(result.prompt_tokens_mean, new_tokens, prices)
    # A hosted API serves the alternatives that need no training; a fine-tune runs on your
    # machine. A strategy without an LLM (or without tokens) is always machine time.
    use_api = api is not None and not result.trains and result.uses_llm and tokens > 0
    training = result.details.get("training") if result.trains else None
    train_tokens = training.get("train_tokens") if isinstance(training, dict) else None
    return StrategyCost(
        flops_per_request=inference_flops(parameters, tokens) if parameters else None,
        seconds_per_request=seconds,
        machine_cost_per_1k_requests=1000 * machine,
        api_cost_per_1k_requests=1000 * api if api is not None else None,
        cost_per_1k_requests=1000 * (api if use_api and api is not None else machine),
        basis="api" if use_api else "machine",
        training_flops=(
            training_flops(parameters, train_tokens) if parameters and train_tokens else None
        ),
        training_seconds=result.train_seconds,
        training_cost=machine_cost(result.train_seconds, prices.per_hour),
    )


def _new_tokens_mean(result: StrategyResult, n_requests: int) -> float:
    mean = result.details.get("new_tokens_mean")
    if isinstance(mean, int | float):
        return float(mean)
    # Older results: recover the total from the rounded throughput.
    return result.tokens_per_s * result.eval_seconds / max(n_requests, 1)


@dataclass
class BreakEven:
    """When `strategy` (a fine-tune) has paid back its training against `versus`."""

    strategy: str
    versus: str
    requests: int | None  # None: never (its requests are not cheaper)
    days_at_volume: float | None  # None: no stated volume, or never
    training_cost: float
    saving_per_1k_requests: float

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("days_at_volume", "training_cost", "saving_per_1k_requests"):
            data[key] = _sig(data[key]) if data[key] is not None else None
        return data


@dataclass
class CostReport:
    """Prices plus every strategy's cost; break-even is computed against a chosen rival."""

    prices: Prices
    n_requests: int
    per_strategy: dict[str, StrategyCost] = field(default_factory=dict)

    def break_evens(self, results: Sequence[StrategyResult], versus: str | None) -> list[BreakEven]:
        """Each fine-tune against `versus`, the alternative the verdict compares fine-tuning
        with (core.verdict.strongest_alternative); none without one."""
        if versus is None or versus not in self.per_strategy:
            return []
        other = self.per_strategy[versus]
        found = []
        for r in results:
            if not r.trains or r.name not in self.per_strategy:
                continue
            mine = self.per_strategy[r.name]
            n = break_even_requests(
                mine.training_cost,
                mine.cost_per_1k_requests / 1000,
                other.cost_per_1k_requests / 1000,
            )
            per_day = self.prices.requests_per_day
            found.append(
                BreakEven(
                    strategy=r.name,
                    versus=versus,
                    requests=n,
                    days_at_volume=n / per_day if n is not None and per_day else None,
                    training_cost=mine.training_cost,
                    saving_per_1k_requests=other.cost_per_1k_requests - mine.cost_per_1k_requests,
                )
            )
        return found

    def to_json(self, results: Sequence[StrategyResult], versus: str | None) -> dict[str, Any]:
        return {
            "prices": asdict(self.prices),
            "seconds_per_request": "batched test-set evaluation seconds / test examples",
            "flops": "2 x parameters x (prompt + generated tokens) per request;"
            " training 6 x parameters x training tokens",
            "break_even_versus": versus,
            "break_even": [b.to_json() for b in self.break_evens(results, versus)],
        }


def cost_report(
    results: Sequence[StrategyResult],
    n_requests: int,
    model_parameters: int | None,
    prices: Prices,
    remote: bool = False,
) -> CostReport:
    """Every strategy's cost. `remote`: the alternatives ran on a served model (backend)."""
    report = CostReport(prices, n_requests)
    rate = pooled_fine_tune_rate(results, n_requests)
    for r in results:
        params = parameters_for(r, model_parameters, remote)
        pooled = rate if r.trains and r.uses_llm and rate is not None else None
        report.per_strategy[r.name] = strategy_cost(r, n_requests, params, prices, pooled)
    return report


def pooled_fine_tune_rate(results: Sequence[StrategyResult], n_requests: int) -> float | None:
    """Seconds per token of the fine-tunes together, when two or more ran: they serve the same
    architecture at the same size (LoRA merged, layerwise and full all change only weights)
    with the same prompt, so a request costs the same per token by construction, and their
    timings differ only by noise (the same merged LoRA was timed 2x apart in two runs).
    Pooled, each pays for its own tokens at one rate."""
    tuned = [r for r in results if r.trains and r.uses_llm]
    tokens = [n_requests * (r.prompt_tokens_mean + _new_tokens_mean(r, n_requests)) for r in tuned]
    if len(tuned) < 2 or sum(tokens) <= 0:
        return None
    # fsum: exact, so the order the strategies ran in cannot change the last digit (a
    # shuffled run gave 0.3077297615351688 against ...689).
    return math.fsum(r.eval_seconds for r in tuned) / math.fsum(tokens)


def money(value: float, currency: str = "USD") -> str:
    """Readable amounts from dollars down to fractions of a cent: 3 significant digits."""
    if value == 0 or not math.isfinite(value):
        return f"0 {currency}" if value == 0 else f"{value} {currency}"
    decimals = max(2, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f} {currency}"


def _sig(value: float, digits: int = 4) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))
