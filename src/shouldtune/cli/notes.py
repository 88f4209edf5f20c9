"""One line per strategy with counts worth a glance: tool calls (malformed ones included),
pipeline step times, a served backend's retries and failures."""

from __future__ import annotations

from typing import Any

from rich.console import Console


def tool_note(details: dict[str, Any]) -> str | None:
    if "tool_calls" not in details:
        return None
    return (
        f"{details['tool_calls']} tool calls, {details['malformed_calls']} malformed,"
        f" {details['tool_errors']} raised, {details['tool_timeouts']} timed out,"
        f" {details['rounds_exhausted']} out of rounds"
    )


def pipeline_note(details: dict[str, Any]) -> str | None:
    steps = details.get("steps")
    if not isinstance(steps, list):
        return None
    parts = [
        f"{s['name']} ({s['kind']}) {s['ms_per_example']:.0f} ms/example"
        + (f", {s['errors']} failed" if s.get("errors") else "")
        for s in steps
    ]
    return "steps: " + "; ".join(parts)


def print_notes(out: Console, results: dict[str, Any]) -> None:
    for s in results.get("strategies") or []:
        details = s.get("details") or {}
        for note in (tool_note(details), pipeline_note(details)):
            if note:
                out.print(f"  {s['name']}: {note}", highlight=False, markup=False)
    backend = results.get("backend")
    if backend:
        st = backend.get("stats") or {}
        out.print(
            f"  backend {backend['model']} at {backend['base_url']}: {st.get('requests', 0)}"
            f" requests, {st.get('retries', 0)} retries, {st.get('failed', 0)} failed",
            highlight=False,
            markup=False,
        )
