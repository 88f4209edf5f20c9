"""What each strategy was given before the test set was read: its tuning on the dev split (the
prompt search, the learning-rate sweep) and, for label tasks, answers ranked from the labels.
Reads results.json only; decides nothing."""

from __future__ import annotations

from typing import Any

from .numbers import DASH, count, num

SHOWN_CANDIDATES = 8  # rows of each search table (the full table is in results.json)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def tuning_section(results: dict) -> dict[str, Any] | None:
    """One summary row per strategy that was tuned (or could have been), the prompt searches'
    tables, and the label-answer counts."""
    rows, searches, labels, shapes = [], [], [], []
    for s in _dicts(results.get("strategies")):
        name, details = str(s.get("name", "?")), _dict(s.get("details"))
        row = _search_row(name, details) or _sweep_row(name, details)
        if row:
            rows.append(row)
        table = _search_table(details)
        if table:
            searches.append({"name": name, "rows": table})
        shape = _dict(details.get("output_shape"))
        if shape:
            shapes.append(
                {
                    "name": name,
                    "constrained": "yes" if shape.get("constrained") else "no",
                    "invalid": f"{count(shape.get('invalid'))} of {count(shape.get('of'))}",
                }
            )
        answered = _dict(details.get("label_answers"))
        if answered:
            labels.append(
                {
                    "name": name,
                    "ranked": count(answered.get("ranked")),
                    "outside": f"{count(answered.get('free_outside_labels'))} of "
                    f"{count(answered.get('free_checked'))}",
                }
            )
    if not rows and not labels and not shapes:
        return None
    return {"rows": rows, "searches": searches, "labels": labels, "shapes": shapes}


def _search_row(name: str, details: dict) -> dict[str, str] | None:
    search = _dict(details.get("search"))
    if not search:
        return None
    searched = bool(search.get("row_evaluations")) and search.get("candidates") != 1
    listed, tried = search.get("listed"), search.get("candidates")
    drawn = f" of {count(listed)} (budget)" if isinstance(listed, int) and listed != tried else ""
    note = f"; {search['note']}" if searched and search.get("note") else ""
    return {
        "name": name,
        "tuned": "prompt search (successive halving)" if searched else "none",
        "candidates": count(tried) + drawn if searched else DASH,
        "dev_rows": count(search.get("dev_rows")) if searched else DASH,
        "work": f"{count(search.get('row_evaluations'))} dev answers" if searched else DASH,
        "seconds": num(search.get("seconds"), ".1f") if searched else DASH,
        "chosen": str(search.get("chosen_label") or DASH)
        + (note if searched else f" ({search.get('note') or 'not searched'})"),
    }


def _sweep_row(name: str, details: dict) -> dict[str, str] | None:
    sweep = _dicts(details.get("lr_sweep"))
    if "learning_rate_chosen" not in details:
        return None
    seconds = _dict(details.get("seconds")).get("lr_sweep")
    return {
        "name": name,
        "tuned": "learning-rate sweep (successive halving) + early stopping"
        if sweep
        else "early stopping (no sweep)",
        "candidates": count(len(sweep)) if sweep else DASH,
        "dev_rows": count(details.get("dev_examples")),
        "work": f"{count(sum(int(r.get('steps') or 0) for r in sweep))} training steps"
        if sweep
        else DASH,
        "seconds": num(seconds, ".1f") if sweep else DASH,
        "chosen": f"learning rate {num(details.get('learning_rate_chosen'), 'g')}",
    }


def _search_table(details: dict) -> list[dict[str, str]]:
    search = _dict(details.get("search"))
    if not search.get("row_evaluations"):
        return []
    return [
        {
            "label": str(r.get("label", "")),
            "dev_score": num(r.get("dev_score"), ".3f"),
            "dev_rows": count(r.get("dev_rows")),
            "rounds": count(r.get("rounds")),
            "chosen": bool(r.get("chosen")),
        }
        for r in _dicts(search.get("table"))[:SHOWN_CANDIDATES]
    ]
