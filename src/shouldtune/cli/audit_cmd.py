"""`shouldtune audit TASK_DIR`: print the data audit as a table and exit 0 / 1.

InputError (unreadable task) propagates: the CLI wrapper prints it and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..audit import AuditReport, Finding, run_audit
from ..core.fileio import atomic_write_json
from ..core.taskio import load_task

STYLE = {"blocking": "bold red", "warning": "yellow", "info": "dim"}
DETAIL_SKIP = {"source", "excerpt"}


def _example_line(example: dict[str, Any]) -> str:
    extras = ", ".join(f"{k}={v}" for k, v in example.items() if k not in DETAIL_SKIP)
    head = example.get("source", "")
    text = f"“{example['excerpt']}”" if example.get("excerpt") else ""
    return escape(" ".join(part for part in (head, text, f"({extras})" if extras else "") if part))


def _row(finding: Finding) -> tuple[str, str, str, str]:
    style = STYLE[finding.severity] if finding.count or finding.severity != "info" else "dim"
    detail = escape(finding.message)
    if finding.severity != "info" or finding.count:
        lines = [_example_line(e) for e in finding.examples]
        detail += "".join(f"\n  [dim]{line}[/dim]" for line in lines)
    return (
        f"[{style}]{finding.severity}[/{style}]",
        finding.check,
        str(finding.count),
        detail,
    )


def render_report(report: AuditReport, console: Console | None = None) -> None:
    """The findings table, blocking first, then a one-line summary."""
    console = console or Console()
    order = {"blocking": 0, "warning": 1, "info": 2}
    table = Table(title="Data audit", show_lines=True, expand=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("finding and examples (file:line)", ratio=1)
    for finding in sorted(report.findings, key=lambda f: order[f.severity]):
        table.add_row(*_row(finding))
    console.print(table)
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    console.print(
        f"{len(report.blocking)} blocking, {len(report.warnings)} warnings ({report.seconds:.1f} s)"
    )


def audit_command(task_dir: Path, strict: bool = False, json_out: Path | None = None) -> int:
    """Load the task, audit it, print the table, optionally write JSON; return the exit code."""
    task = load_task(task_dir)
    report = run_audit(task.train, task.test, instruction=task.instruction)
    render_report(report)
    if json_out is not None:
        atomic_write_json(json_out, report.to_json())
    code = report.exit_code(strict)
    if code:
        reason = "blocking findings" if report.blocking else "warnings (--strict)"
        Console(stderr=True).print(f"[bold red]audit failed:[/bold red] {reason}")
    return code
