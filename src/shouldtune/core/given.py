"""What each side of the fight was given, in words for the verdict's reasons: each
strategy's tuning on the dev split (the prompt search, the learning-rate sweep) and, for a
label task, answers ranked from the label set. Facts read from the strategies' details; this
module decides nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .types import StrategyResult


def _search_part(name: str, search: dict[str, Any]) -> str | None:
    if not search.get("row_evaluations") or search.get("candidates") == 1:
        note = search.get("note")
        return f"{name} its configured prompt ({note})" if note else None
    listed, tried = search.get("listed"), search.get("candidates")
    drawn = f" (drawn from {listed} within its budget)" if listed and listed != tried else ""
    return (
        f"{name} the best of {tried} prompts{drawn} on {search.get('dev_rows')} dev"
        f" rows ({search.get('chosen_label')}; {float(search.get('seconds') or 0):.0f} s)"
    )


def _sweep_part(name: str, details: dict[str, Any]) -> str | None:
    if "learning_rate_chosen" not in details:
        return None
    sweep = details.get("lr_sweep") or []
    rate = f"learning rate {details['learning_rate_chosen']:g}"
    if not sweep:
        return f"{name} no learning-rate sweep ({rate}; early stopping on dev)" + _seeds(details)
    seconds = float((details.get("seconds") or {}).get("lr_sweep") or 0)
    return (
        f"{name} a learning-rate sweep over {len(sweep)} rates on"
        f" {details.get('dev_examples')} dev rows ({rate}; {seconds:.0f} s)" + _seeds(details)
    )


def _seeds(details: dict[str, Any]) -> str:
    """Other seeds' scores, when a close call trained the fine-tune on more (seeds.py)."""
    found = [s for s in details.get("seed_scores") or [] if isinstance(s, dict)]
    if not found:
        return ""
    scores = ", ".join(f"{float(s['score']):.3f} (seed {s['seed']})" for s in found)
    return (
        f", retrained on {len(found)} more seeds as its lead or deficit was within its interval:"
        f" {scores}; a gap one seed reverses counts as none"
    )


def given_lines(results: Sequence[StrategyResult]) -> list[str]:
    """One sentence on the tuning each strategy got, one on label ranking when it was used."""
    parts = []
    for r in sorted(results, key=lambda r: r.name):
        details = r.details if isinstance(r.details, dict) else {}
        search = details.get("search")
        part = _search_part(r.name, search) if isinstance(search, dict) else None
        part = part or _sweep_part(r.name, details)
        if part:
            parts.append(part)
    lines = []
    if parts:
        lines.append(
            "Each side's tuning, on the same dev split (the test set chose nothing): "
            + "; ".join(parts)
            + "."
        )
    ranked = [
        (r.name, r.details["label_answers"])
        for r in sorted(results, key=lambda r: r.name)
        if isinstance(r.details, dict) and isinstance(r.details.get("label_answers"), dict)
    ]
    if ranked:
        outside = ", ".join(
            f"{name} {a.get('free_outside_labels')} of {a.get('free_checked')}"
            for name, a in ranked
        )
        lines.append(
            "A label task: the language-model strategies answered with the most likely label"
            f" of the training set's labels; free generation would have answered outside them in"
            f" {outside}."
        )
    return lines
