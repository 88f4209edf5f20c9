"""The report's decision sections: "Your needs", "What would change the verdict", and the
scores on clean, seen and all test rows with their lenient views.

Read from results.json defensively (older runs lack all of it: the sections are then absent).
Values come back formatted but unescaped; the templates escape them.
"""

from __future__ import annotations

from typing import Any

from ..core.needs import Needs, need_fields
from ..core.stats import CONFIDENCE
from .numbers import DASH, amount, finite, num
from .sections import _dict, _dicts, _strategies

YES, NO = "✓", "✗"


def _need_value(key: str, value: Any) -> str:
    if value is None:
        return "not stated"
    if isinstance(value, bool):
        return "yes" if value else "no"
    v = finite(value)
    return DASH if v is None else f"{v:,.3g}" if v < 10 else f"{v:,.0f}"


def need_rows(needs: dict, declaration: type[Needs] = Needs) -> list[tuple[str, str]]:
    """(label, value) for every declared need, in declaration order, labelled as declared
    (core/needs.py); a need results.json lacks (an older run) reads "not stated"."""
    return [(f.label, _need_value(f.name, needs.get(f.name))) for f in need_fields(declaration)]


def _p95_ci(row: dict) -> str:
    """ ' (450–1,200)': the p95's interval, which a latency budget is decided on."""
    ci = row.get("p95_ci")
    if not isinstance(ci, list) or len(ci) != 2:
        return ""
    return f" ({num(ci[0], ',.0f')}–{num(ci[1], ',.0f')})"


def needs_section(results: dict) -> dict[str, Any] | None:
    """Strategy x need (met or not, with the measured number) and total cost over the
    horizon; the needs as stated; the flips."""
    verdict = _dict(results.get("verdict"))
    table = _dicts(_dict(verdict.get("steps")).get("table"))
    if not table:
        return None
    needs = _dict(results.get("needs"))
    currency = str(_dict(_dict(results.get("cost")).get("prices")).get("currency") or "USD")
    budget = finite(needs.get("latency_p95_ms"))
    floor = finite(needs.get("min_quality"))
    rows = []
    for r in table:
        ruled = [str(x) for x in r.get("ruled_out") or []]
        rows.append(
            {
                "name": str(r.get("name", "?")),
                "quality": f"{num(r.get('score'), '.3f')} ({num(r.get('ci_low'), '.3f')}–"
                f"{num(r.get('ci_high'), '.3f')})",
                "quality_ok": YES if r.get("quality_ok") else NO,
                "latency": f"{num(r.get('p95_ms'), ',.0f')} ms{_p95_ci(r)}"
                + ("" if budget is None else f" {YES if r.get('latency_ok') else NO}"),
                "control": ("hosted" if r.get("hosted") else "local")
                + (f" {YES if r.get('control_ok') else NO}" if needs.get("self_hosted") else ""),
                "acceptable": YES if r.get("acceptable") else NO,
                "per_1k": amount(r.get("cost_per_1k"), currency),
                "training": amount(r.get("training_cost"), currency) if r.get("trains") else "—",
                "total": amount(r.get("total_cost"), currency),
                "why": "; ".join(ruled),
                "chosen": r.get("name") == verdict.get("recommended"),
            }
        )
    return {
        "rows": rows,
        "needs": need_rows(needs),
        "floor": "min_quality" if floor is not None else "default (CI above 0)",
        "order": str(_dict(verdict.get("steps")).get("order") or ""),
        "flips": [str(f.get("sentence", "")) for f in _dicts(verdict.get("flips"))],
        "drivers": [str(d) for d in verdict.get("drivers") or []],
        "next_steps": [str(s) for s in verdict.get("next_steps") or []],
    }


def scores_section(results: dict) -> dict[str, Any] | None:
    """Scores on clean rows (what the verdict uses), seen rows and all rows, and the same
    answers under lenient metrics; only shown when there is something to tell apart."""
    task = _dict(results.get("task"))
    rows = []
    seen_any = lenient_any = False
    for s in _strategies(results):
        q, subsets, lenient = (
            _dict(s.get("quality")),
            _dict(s.get("subsets")),
            _dict(s.get("lenient")),
        )
        seen = _dict(subsets.get("seen"))
        seen_any = seen_any or bool(seen)
        lenient_any = lenient_any or bool(lenient)
        retrieval = _dict(_dict(s.get("details")).get("retrieval"))
        rows.append(
            {
                "name": str(s.get("name", "?")),
                "clean": num(q.get("score"), ".3f"),
                "seen": num(seen.get("score"), ".3f") if seen else DASH,
                "all": num(_dict(subsets.get("all")).get("score"), ".3f"),
                "contains": num(lenient.get("contains"), ".3f"),
                "token_f1": num(lenient.get("token_f1"), ".3f"),
                "in_context": num(retrieval.get("answer_in_context"), ".0%") if retrieval else DASH,
            }
        )
    if not rows or not (seen_any or lenient_any):
        return None
    n_test, n_clean = task.get("n_test"), task.get("n_clean")
    note = ""
    if seen_any and isinstance(n_test, int) and isinstance(n_clean, int):
        note = (
            f"{n_test - n_clean} of {n_test} test rows repeat a training input with its answer"
            " (seen): the verdict uses the clean rows. A score far higher on seen rows than on"
            " clean ones is memorisation, not generalisation — for a knowledge task, the answer"
            " to 'does it use facts it learned on new questions?'"
        )
    return {
        "rows": rows,
        "seen": seen_any,
        "metric": str(task.get("metric") or ""),
        "note": note,
        "level": f"{CONFIDENCE:.0%}",
    }


def decision_sections(results: dict) -> dict[str, Any]:
    return {"needs_table": needs_section(results), "scores": scores_section(results)}
