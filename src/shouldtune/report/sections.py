"""The report's cost, fine-tuning and hallucination/forgetting sections, as plain strings.

Built from results.json defensively: every key may be missing (older runs), every number may
be null or NaN. Values come back formatted but unescaped; the templates escape them.
"""

from __future__ import annotations

import math
from typing import Any

from ..core.types import Traits
from ..core.verdict import probe_is_harmful, takes_over
from .numbers import DASH, amount, count, finite, flops, num, percent, with_unit
from .tuning import tuning_section

CATEGORY_ORDER = ("HighlyKnown", "MaybeKnown", "WeaklyKnown", "Unknown")
PROBE_ROWS = {
    "knowledge_retained": "general knowledge retained (likelihood, multiple choice)",
    "open_questions": "still answers open questions (generation)",
    "forgetting": "general-knowledge accuracy (forgetting)",  # older runs: by generation
    "answerable_accuracy": "answerable accuracy",
    "fabrication_rate": "fabrication rate (unanswerable questions answered anyway)",
    "abstention_rate": "abstention rate (declined or hedged)",
    "in_domain_fabrication": "task questions answered confidently and wrongly",
    "in_domain_abstention": "task questions declined or hedged",
}
COST_NOTES = (("seconds_per_request", "seconds per request"), ("flops", "FLOPs"))


def _days(value: float) -> str:
    if value >= 10:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 0.1 else f"{value:.2g}"


def _ci(row: dict, spec: str, sep: str) -> str:
    lo, hi = finite(row.get("ci_low")), finite(row.get("ci_high"))
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
    if basis == "api" and finite(machine) is not None:
        basis += f" (machine: {amount(machine, currency)})"
    return {
        "name": str(s.get("name", "?")),
        "per_1k": amount(c.get("cost_per_1k_requests"), currency),
        "basis": basis or DASH,
        "seconds": num(c.get("seconds_per_request"), ".3g"),
        "flops": flops(c.get("flops_per_request")),
        "train_s": num(c.get("training_seconds"), ".1f"),
        "train_cost": amount(c.get("training_cost"), currency),
        "train_flops": flops(c.get("training_flops")),
    }


def _break_even(b: dict, prices: dict, currency: str) -> str:
    """One sentence; empty when `requests` is neither a count nor None (never)."""
    name, versus = str(b.get("strategy", "?")), str(b.get("versus", "?"))
    paid = f"its training ({amount(b.get('training_cost'), currency)})"
    saving = amount(b.get("saving_per_1k_requests"), currency)
    requests = finite(b.get("requests"))
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
    days, per_day = finite(b.get("days_at_volume")), finite(prices.get("requests_per_day"))
    if days is not None and per_day:
        said += f"; {_days(days)} days at your volume of {per_day:,.0f} requests a day"
    return said + ")."


def _price_lines(prices: dict, currency: str) -> list[str]:
    lines = [f"machine time: {amount(prices.get('per_hour'), currency)} per hour"]
    api_in, api_out = prices.get("api_input_per_million"), prices.get("api_output_per_million")
    if finite(api_in) is not None or finite(api_out) is not None:
        lines.append(
            f"hosted API: {amount(api_in or 0.0, currency)} per million input tokens,"
            f" {amount(api_out or 0.0, currency)} per million output tokens"
        )
    if finite(prices.get("requests_per_day")) is not None:
        lines.append(f"volume: {count(prices['requests_per_day'])} requests a day")
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
        ("training tokens", count(t.get("train_tokens")) if "train_tokens" in t else ""),
        ("throughput", with_unit(t.get("tokens_per_s"), ",.1f", "tokens/s")),
        ("epochs run", _epochs(t)),
        ("learning rate", num(details.get("learning_rate_chosen"), "g")),
        ("final train loss", num(t.get("final_train_loss"), ".4f")),
        ("final dev loss", _dev_loss(t)),
        ("stopped early", ("yes" if t["stopped_early"] else "no") if "stopped_early" in t else ""),
        ("padding waste", _padding(t)),
        ("peak memory", _memory(t)),
        ("resumed at step", count(t.get("resumed_at_step"))),
        ("time", _times(details.get("seconds"))),
        ("saved to", str(details.get("saved_to") or "")),
    ]
    return [(label, value) for label, value in facts if value and value != DASH]


def _parameters(t: dict) -> str:
    trainable, total = finite(t.get("trainable_parameters")), finite(t.get("total_parameters"))
    if trainable is None:
        return ""
    if not total:
        return f"{trainable:,.0f}"
    return f"{trainable:,.0f} of {total:,.0f} ({100 * trainable / total:.2f}%)"


def _examples(details: dict) -> str:
    n = count(details.get("train_examples"))
    dev = finite(details.get("dev_examples"))
    return n if dev is None or n == DASH else f"{n} (plus {dev:,.0f} held out for dev loss)"


def _epochs(t: dict) -> str:
    epochs = num(t.get("epochs_run"), ".2g")
    steps = finite(t.get("steps"))
    return epochs if steps is None or epochs == DASH else f"{epochs} ({steps:,.0f} steps)"


def _dev_loss(t: dict) -> str:
    final, best = finite(t.get("final_dev_loss")), finite(t.get("best_dev_loss"))
    if final is None:
        return ""
    if best is None or math.isclose(best, final):
        return f"{final:.4f}"
    return f"{final:.4f} (best {best:.4f}: the weights kept)"


def _padding(t: dict) -> str:
    bucketed, shuffled = finite(t.get("padding_waste")), finite(t.get("padding_waste_random"))
    if bucketed is None:
        return ""
    said = f"{100 * bucketed:.1f}% with length-bucketed batches"
    return said if shuffled is None else f"{said} ({100 * shuffled:.1f}% with random batches)"


def _memory(t: dict) -> str:
    parts = []
    if finite(t.get("peak_rss_mb")):
        parts.append(f"{t['peak_rss_mb']:,.0f} MB RSS")
    if finite(t.get("peak_gpu_mb")):
        parts.append(f"{t['peak_gpu_mb']:,.0f} MB GPU")
    return ", ".join(parts)


def _times(seconds: Any) -> str:
    parts = [
        f"{str(k).replace('_', ' ')} {v:,.1f} s"
        for k, v in _dict(seconds).items()
        if finite(v) is not None
    ]
    return ", ".join(parts)


def _sweep_rows(details: dict) -> list[dict[str, Any]]:
    chosen = finite(details.get("learning_rate_chosen"))
    rows = []
    for r in _dicts(details.get("lr_sweep")):
        rate = finite(r.get("learning_rate"))
        rows.append(
            {
                "rate": num(rate, "g"),
                # The sweep stores None for a loss that was NaN or infinite.
                "dev_loss": "not finite"
                if "dev_loss" in r and r["dev_loss"] is None
                else num(r.get("dev_loss"), ".4f"),
                "steps": count(r.get("steps")),
                "seconds": num(r.get("seconds"), ".1f"),
                "chosen": rate is not None and chosen is not None and math.isclose(rate, chosen),
            }
        )
    return rows


def _curve_rows(details: dict) -> list[dict[str, str]]:
    return [
        {
            "fraction": percent(p.get("fraction")),
            "n": count(p.get("n_train")),
            "score": num(p.get("score"), ".3f"),
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
    kind = k.get("data_kind")
    if not categories and k.get("skipped"):
        return {
            "skipped": str(k["skipped"]),
            "categories": [],
            "data_kind": str(kind) if kind in ("format", "facts") else "",
            "data_kind_reason": str(k.get("data_kind_reason") or ""),
        }
    if not categories:
        return None
    names = [c for c in CATEGORY_ORDER if c in categories] + [
        c for c in categories if c not in CATEGORY_ORDER
    ]
    settings = [
        f"{count(k[key])} {label}"
        for key, label in (("prompts", "few-shot prompts"), ("samples", "samples"))
        if finite(k.get(key)) is not None
    ]
    if finite(k.get("temperature")) is not None and finite(k.get("samples")):
        settings[-1] += f" at temperature {k['temperature']:g}"
    return {
        "skipped": "",
        "categories": [(str(c), count(categories[c])) for c in names],
        "n_examples": count(k.get("n_examples")),
        "unknown_share": percent(k.get("unknown_share")),
        "settings": ", ".join(settings),
        "seconds": num(k.get("seconds"), ",.1f"),
        "cached": bool(k.get("cached")),
        "warning": str(k.get("warning") or ""),
        "data_kind": str(kind) if kind in ("format", "facts") else "",
        "data_kind_reason": str(k.get("data_kind_reason") or ""),
        "note": str(k.get("note") or ""),
    }


def _probe_set(probes: dict) -> str:
    items = {k: v for k, v in _dict(probes.get("items")).items() if finite(v) is not None}
    if not items:
        return ""
    kinds = {"general": "general-knowledge"}
    said = ", ".join(f"{count(n)} {kinds.get(k, k)}" for k, n in items.items()) + " questions"
    custom = finite(probes.get("custom_items"))
    if custom:
        said += f" ({custom:,.0f} from probes.jsonl)"
    if finite(probes.get("base_seconds")) is not None:
        said += f"; the base model answered them in {probes['base_seconds']:,.1f} s"
    return said + (" (quick mode)" if probes.get("quick") else "")


def _probe_table(s: dict) -> dict[str, Any]:
    probes = s["details"]["probes"]
    seconds = _dict(probes.get("seconds"))
    name = str(s.get("name", "?"))
    rows = [_probe_row(k, probes[k]) for k in PROBE_ROWS if isinstance(probes.get(k), dict)]
    notes = [f"{r['label']}: {r['room']}." for r in rows if r["room"]]
    if probes.get("in_domain_note"):
        notes.append(f"Task questions not compared: {probes['in_domain_note']}.")
    finding = _format_takeover(name, probes)
    return {
        "name": name,
        "rows": rows,
        "skipped": str(probes.get("skipped") or ""),
        "seconds": num(seconds.get("after"), ",.1f"),
        "notes": ([finding] if finding else []) + notes,
    }


def _probe_row(key: str, m: dict) -> dict[str, Any]:
    return {
        "label": PROBE_ROWS[key],
        "before": num(m.get("before"), ".3f"),
        "after": num(m.get("after"), ".3f"),
        "change": num(m.get("diff"), "+.3f"),
        "ci": _ci(m, "+.3f", " to "),
        "n": count(m.get("n")),
        "harmful": probe_is_harmful(key, m),
        "room": str(m.get("room") or ""),
    }


def _format_takeover(name: str, probes: dict) -> str:
    """The verdict's finding (core.verdict.takes_over), worded with the numbers; the report
    never decides it on its own rule."""
    kept, opened = _dict(probes.get("knowledge_retained")), _dict(probes.get("open_questions"))
    if not kept or not opened or not takes_over(probes):
        return ""
    return (
        f"Format takeover: {name} no longer answers open questions"
        f" ({num(opened.get('before'), '.2f')} to {num(opened.get('after'), '.2f')}) but still"
        f" ranks the right answers as before ({num(kept.get('before'), '.2f')} to"
        f" {num(kept.get('after'), '.2f')} by likelihood): it has not forgotten, it answers"
        " everything in this task's format. Serve it only for this task."
    )


def all_sections(results: dict) -> dict[str, Any]:
    return {
        "cost": cost_section(results),
        "finetunes": finetune_sections(results),
        "tuning": tuning_section(results),
        "hallucination": hallucination_section(results),
    }
