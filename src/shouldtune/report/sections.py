"""The report's cost, fine-tuning and hallucination/forgetting sections, as plain strings.

Built from results.json defensively: every key may be missing (older runs), every number may
be null or NaN. Values come back formatted but unescaped; the templates escape them.
"""

from __future__ import annotations

import math
from typing import Any

from ..core.cost import money
from ..core.types import Traits
from ..core.verdict import probe_is_harmful

DASH = "–"
CATEGORY_ORDER = ("HighlyKnown", "MaybeKnown", "WeaklyKnown", "Unknown")
PROBE_ROWS = {
    "answerable_accuracy": "answerable accuracy",
    "fabrication_rate": "fabrication rate (unanswerable questions answered anyway)",
    "abstention_rate": "abstention rate",
    "forgetting": "general-knowledge accuracy (forgetting)",
}
COST_NOTES = (("seconds_per_request", "seconds per request"), ("flops", "FLOPs"))
FLOP_PREFIXES = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt(value: Any, spec: str) -> str:
    v = _finite(value)
    return DASH if v is None else format(v, spec)


def _money(value: Any, currency: str) -> str:
    v = _finite(value)
    return DASH if v is None else money(v, currency)


def _flops(value: Any) -> str:
    v = _finite(value)
    if v is None:
        return DASH
    scale, prefix = next(((s, p) for s, p in FLOP_PREFIXES if abs(v) >= s), (1.0, ""))
    return f"{v / scale:.3g} {prefix}FLOP"


def _unit(value: Any, spec: str, unit: str) -> str:
    v = _finite(value)
    return "" if v is None else f"{format(v, spec)} {unit}"


def _count(value: Any) -> str:
    v = _finite(value)
    return DASH if v is None else f"{v:,.0f}"


def _days(value: float) -> str:
    if value >= 10:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 0.1 else f"{value:.2g}"


def _percent(value: Any) -> str:
    v = _finite(value)
    return DASH if v is None else f"{100 * v:.0f}%"


def _ci(row: dict, spec: str, sep: str) -> str:
    lo, hi = _finite(row.get("ci_low")), _finite(row.get("ci_high"))
    return DASH if lo is None or hi is None else f"{format(lo, spec)}{sep}{format(hi, spec)}"


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _trains(s: dict) -> bool:
    return Traits.from_json(s.get("traits"), str(s.get("kind", ""))).trains


def _strategies(results: dict) -> list[dict]:
    return _dicts(results.get("strategies"))


# --- cost -----------------------------------------------------------------------------------


def cost_section(results: dict) -> dict[str, Any] | None:
    """Per-strategy cost rows, break-even sentences and the prices used; None without data."""
    report = _dict(results.get("cost"))
    costed = [s for s in _strategies(results) if isinstance(s.get("cost"), dict)]
    if not report and not costed:
        return None
    prices = _dict(report.get("prices"))
    currency = str(prices.get("currency") or "USD")
    notes = [f"{label}: {report[k]}" for k, label in COST_NOTES if report.get(k)]
    return {
        "currency": currency,
        "rows": [_cost_row(s, currency) for s in costed],
        "break_even": [
            line
            for b in _dicts(report.get("break_even"))
            if (line := _break_even(b, prices, currency))
        ],
        "prices": _price_lines(prices, currency) if prices else [],
        "notes": notes,
    }


def _cost_row(s: dict, currency: str) -> dict[str, str]:
    c = s["cost"]
    basis = str(c.get("basis") or "")
    # Priced at the API: what the same requests cost in measured time on your machine. (The
    # API figure of a machine-priced fine-tune or no-LLM baseline is not a real option.)
    machine = c.get("machine_cost_per_1k_requests")
    if basis == "api" and _finite(machine) is not None:
        basis += f" (machine: {_money(machine, currency)})"
    return {
        "name": str(s.get("name", "?")),
        "per_1k": _money(c.get("cost_per_1k_requests"), currency),
        "basis": basis or DASH,
        "seconds": _fmt(c.get("seconds_per_request"), ".3g"),
        "flops": _flops(c.get("flops_per_request")),
        "train_s": _fmt(c.get("training_seconds"), ".1f"),
        "train_cost": _money(c.get("training_cost"), currency),
        "train_flops": _flops(c.get("training_flops")),
    }


def _break_even(b: dict, prices: dict, currency: str) -> str:
    """One sentence; empty when `requests` is neither a count nor None (never)."""
    name, versus = str(b.get("strategy", "?")), str(b.get("versus", "?"))
    paid = f"its training ({_money(b.get('training_cost'), currency)})"
    saving = _money(b.get("saving_per_1k_requests"), currency)
    requests = _finite(b.get("requests"))
    if requests is None:
        if b.get("requests", "missing") is not None:
            return ""
        return (
            f"{name} never pays back {paid} against {versus}: its requests are not cheaper"
            f" (saving per 1,000 requests: {saving})."
        )
    said = (
        f"{name} pays back {paid} against {versus} after {requests:,.0f} requests"
        f" (saving {saving} per 1,000 requests"
    )
    days, per_day = _finite(b.get("days_at_volume")), _finite(prices.get("requests_per_day"))
    if days is not None and per_day:
        said += f"; {_days(days)} days at your volume of {per_day:,.0f} requests a day"
    return said + ")."


def _price_lines(prices: dict, currency: str) -> list[str]:
    lines = [f"machine time: {_money(prices.get('per_hour'), currency)} per hour"]
    api_in, api_out = prices.get("api_input_per_million"), prices.get("api_output_per_million")
    if _finite(api_in) is not None or _finite(api_out) is not None:
        lines.append(
            f"hosted API: {_money(api_in or 0.0, currency)} per million input tokens,"
            f" {_money(api_out or 0.0, currency)} per million output tokens"
        )
    if _finite(prices.get("requests_per_day")) is not None:
        lines.append(f"volume: {_count(prices['requests_per_day'])} requests a day")
    return lines


# --- fine-tuning ----------------------------------------------------------------------------


def finetune_sections(results: dict) -> list[dict[str, Any]]:
    """One block per fine-tuned strategy with training details."""
    blocks = []
    for s in _strategies(results):
        details = _dict(s.get("details"))
        if not _trains(s):
            continue
        block = {
            "name": str(s.get("name", "?")),
            "facts": _training_facts(details),
            "sweep": _sweep_rows(details),
            "sweep_note": str(details.get("lr_sweep_note") or ""),
            "curve": _curve_rows(details),
            "curve_statement": str(details.get("learning_curve_statement") or ""),
        }
        shown = ("sweep", "curve", "curve_statement")
        if _dict(details.get("training")) or any(block[k] for k in shown):
            blocks.append(block)
    return blocks


def _training_facts(details: dict) -> list[tuple[str, str]]:
    t = _dict(details.get("training"))
    facts = [
        ("method", str(details.get("method") or "")),
        ("trainable parameters", _parameters(t)),
        ("training examples", _examples(details)),
        ("training tokens", _count(t.get("train_tokens")) if "train_tokens" in t else ""),
        ("throughput", _unit(t.get("tokens_per_s"), ",.1f", "tokens/s")),
        ("epochs run", _epochs(t)),
        ("learning rate", _fmt(details.get("learning_rate_chosen"), "g")),
        ("final train loss", _fmt(t.get("final_train_loss"), ".4f")),
        ("final dev loss", _dev_loss(t)),
        ("stopped early", ("yes" if t["stopped_early"] else "no") if "stopped_early" in t else ""),
        ("padding waste", _padding(t)),
        ("peak memory", _memory(t)),
        ("resumed at step", _count(t.get("resumed_at_step"))),
        ("time", _times(details.get("seconds"))),
        ("saved to", str(details.get("saved_to") or "")),
    ]
    return [(label, value) for label, value in facts if value and value != DASH]


def _parameters(t: dict) -> str:
    trainable, total = _finite(t.get("trainable_parameters")), _finite(t.get("total_parameters"))
    if trainable is None:
        return ""
    if not total:
        return f"{trainable:,.0f}"
    return f"{trainable:,.0f} of {total:,.0f} ({100 * trainable / total:.2f}%)"


def _examples(details: dict) -> str:
    n = _count(details.get("train_examples"))
    dev = _finite(details.get("dev_examples"))
    return n if dev is None or n == DASH else f"{n} (plus {dev:,.0f} held out for dev loss)"


def _epochs(t: dict) -> str:
    epochs = _fmt(t.get("epochs_run"), ".2g")
    steps = _finite(t.get("steps"))
    return epochs if steps is None or epochs == DASH else f"{epochs} ({steps:,.0f} steps)"


def _dev_loss(t: dict) -> str:
    final, best = _finite(t.get("final_dev_loss")), _finite(t.get("best_dev_loss"))
    if final is None:
        return ""
    if best is None or math.isclose(best, final):
        return f"{final:.4f}"
    return f"{final:.4f} (best {best:.4f}: the weights kept)"


def _padding(t: dict) -> str:
    bucketed, shuffled = _finite(t.get("padding_waste")), _finite(t.get("padding_waste_random"))
    if bucketed is None:
        return ""
    said = f"{100 * bucketed:.1f}% with length-bucketed batches"
    return said if shuffled is None else f"{said} ({100 * shuffled:.1f}% with random batches)"


def _memory(t: dict) -> str:
    parts = []
    if _finite(t.get("peak_rss_mb")):
        parts.append(f"{t['peak_rss_mb']:,.0f} MB RSS")
    if _finite(t.get("peak_gpu_mb")):
        parts.append(f"{t['peak_gpu_mb']:,.0f} MB GPU")
    return ", ".join(parts)


def _times(seconds: Any) -> str:
    parts = [
        f"{str(k).replace('_', ' ')} {v:,.1f} s"
        for k, v in _dict(seconds).items()
        if _finite(v) is not None
    ]
    return ", ".join(parts)


def _sweep_rows(details: dict) -> list[dict[str, Any]]:
    chosen = _finite(details.get("learning_rate_chosen"))
    rows = []
    for r in _dicts(details.get("lr_sweep")):
        rate = _finite(r.get("learning_rate"))
        rows.append(
            {
                "rate": _fmt(rate, "g"),
                # The sweep stores None for a loss that was NaN or infinite.
                "dev_loss": "not finite"
                if "dev_loss" in r and r["dev_loss"] is None
                else _fmt(r.get("dev_loss"), ".4f"),
                "steps": _count(r.get("steps")),
                "seconds": _fmt(r.get("seconds"), ".1f"),
                "chosen": rate is not None and chosen is not None and math.isclose(rate, chosen),
            }
        )
    return rows


def _curve_rows(details: dict) -> list[dict[str, str]]:
    return [
        {
            "fraction": _percent(p.get("fraction")),
            "n": _count(p.get("n_train")),
            "score": _fmt(p.get("score"), ".3f"),
            "ci": _ci(p, ".3f", "–"),
        }
        for p in _dicts(details.get("learning_curve"))
    ]


# --- hallucination and forgetting -------------------------------------------------------------


def hallucination_section(results: dict) -> dict[str, Any] | None:
    """SliCK categories of the training data and each fine-tune's probes before vs after."""
    knowledge = _knowledge(_dict(results.get("knowledge")))
    probes = _dict(results.get("probes"))
    tables = [
        _probe_table(s)
        for s in _strategies(results)
        if _trains(s) and isinstance(_dict(s.get("details")).get("probes"), dict)
    ]
    if not knowledge and not probes and not tables:
        return None
    return {
        "knowledge": knowledge,
        "probe_set": _probe_set(probes),
        "probe_note": str(probes.get("note") or ""),
        "tables": tables,
    }


def _knowledge(k: dict) -> dict[str, Any] | None:
    categories = _dict(k.get("categories"))
    if not categories:
        return None
    names = [c for c in CATEGORY_ORDER if c in categories] + [
        c for c in categories if c not in CATEGORY_ORDER
    ]
    settings = [
        f"{_count(k[key])} {label}"
        for key, label in (("prompts", "few-shot prompts"), ("samples", "samples"))
        if _finite(k.get(key)) is not None
    ]
    if _finite(k.get("temperature")) is not None and _finite(k.get("samples")):
        settings[-1] += f" at temperature {k['temperature']:g}"
    return {
        "categories": [(str(c), _count(categories[c])) for c in names],
        "n_examples": _count(k.get("n_examples")),
        "unknown_share": _percent(k.get("unknown_share")),
        "settings": ", ".join(settings),
        "seconds": _fmt(k.get("seconds"), ",.1f"),
        "warning": str(k.get("warning") or ""),
    }


def _probe_set(probes: dict) -> str:
    items = {k: v for k, v in _dict(probes.get("items")).items() if _finite(v) is not None}
    if not items:
        return ""
    kinds = {"general": "general-knowledge"}
    said = ", ".join(f"{_count(n)} {kinds.get(k, k)}" for k, n in items.items()) + " questions"
    custom = _finite(probes.get("custom_items"))
    if custom:
        said += f" ({custom:,.0f} from probes.jsonl)"
    if _finite(probes.get("base_seconds")) is not None:
        said += f"; the base model answered them in {probes['base_seconds']:,.1f} s"
    return said + (" (quick mode)" if probes.get("quick") else "")


def _probe_table(s: dict) -> dict[str, Any]:
    probes = s["details"]["probes"]
    seconds = _dict(probes.get("seconds"))
    return {
        "name": str(s.get("name", "?")),
        "rows": [_probe_row(k, probes[k]) for k in PROBE_ROWS if isinstance(probes.get(k), dict)],
        "skipped": str(probes.get("skipped") or ""),
        "seconds": _fmt(seconds.get("after"), ",.1f"),
    }


def _probe_row(key: str, m: dict) -> dict[str, Any]:
    return {
        "label": PROBE_ROWS[key],
        "before": _fmt(m.get("before"), ".3f"),
        "after": _fmt(m.get("after"), ".3f"),
        "change": _fmt(m.get("diff"), "+.3f"),
        "ci": _ci(m, "+.3f", " to "),
        "n": _count(m.get("n")),
        "harmful": probe_is_harmful(key, m),
    }


def all_sections(results: dict) -> dict[str, Any]:
    return {
        "cost": cost_section(results),
        "finetunes": finetune_sections(results),
        "hallucination": hallucination_section(results),
    }
