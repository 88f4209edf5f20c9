"""`shouldtune models --search`: candidate models from the Hugging Face Hub, or one line
saying it is offline (exit 0: being offline is not an error)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..models.hub_search import HubUnreachable, search_hub


def search_command(out: Console, query: str, task: str | None, limit: int) -> None:
    try:
        found = search_hub(query, task, limit)
    except HubUnreachable as exc:
        out.print(
            f"offline: could not reach the Hugging Face Hub ({exc})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return
    if not found:
        out.print(
            f"no Hub models match {query!r}" + (f" for task {task}" if task else ""), markup=False
        )
        return
    table = Table(title=f"Hugging Face Hub: {query or task}")
    for col in ("model", "task", "downloads", "likes", "licence"):
        table.add_column(col, overflow="fold")
    for m in found:
        table.add_row(m.id, m.pipeline_tag, f"{m.downloads:,}", f"{m.likes:,}", m.licence)
    out.print(table)
    out.print(
        "Download one into the Hugging Face cache, then compare it on your task: "
        "shouldtune run TASK --candidate MODEL_ID",
        markup=False,
    )
