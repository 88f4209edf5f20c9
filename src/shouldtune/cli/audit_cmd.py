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
from ..core.outdir import check_writable_path
from ..core.taskio import check_text, load_task

STYLE = {"blocking": "bold red", "warning": "yellow", "info": "dim"}
DETAIL_SKIP = {"source", "excerpt"}
LIST_ROWS = 60  # line numbers listed per file before "and N more"


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
    for line in _split_lines(report):
        console.print(line)
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    console.print(
        f"{len(report.blocking)} blocking, {len(report.warnings)} warnings ({report.seconds:.1f} s)"
    )


def _split_lines(report: AuditReport) -> list[str]:
    """How the test set will be scored, and which training rows the documents contradict."""
    lines = []
    leakage = report.get("leakage")
    if leakage is not None and "test" in leakage.data:
        d = leakage.data
        contrastive = len(report.test_rows.get("contrastive", []))
        lines.append(
            f"test rows: {d['test']}; clean {d['clean']} (the verdict's rows, "
            f"{contrastive} of them contrastive), seen {d['seen']} "
            f"({d['exact']} exact, {d['near']} near with the same answer)"
        )
    repeated = report.get("answer_repetition")
    if repeated is not None and repeated.data:
        d = repeated.data
        lines.append(
            f"test answers also among the training answers: {d['repeated']} of {d['test']}"
        )
    return [escape(line) for line in lines + _support_lines(report.get("docs_support"))]


def _support_lines(support: Finding | None) -> list[str]:
    """Every training row the documents do not support, not only the table's examples."""
    if support is None or not support.data.get("unsupported") or support.data.get("skipped"):
        return []
    contradicted = support.data["contradicted_rows"]
    known = set(contradicted)
    missing = [r for r in support.data["unsupported_rows"] if r not in known]
    lines = []
    if contradicted:
        lines.append(f"training answers the documents contradict: {_compact(contradicted)}")
    if missing:
        lines.append(f"training answers in none of the top passages: {_compact(missing)}")
    return lines


def _compact(sources: list[str]) -> str:
    """train.jsonl:3, train.jsonl:7 -> train.jsonl lines 3, 7 (every row, not a sample)."""
    files: dict[str, list[str]] = {}
    for source in sources:
        name, _, line = source.rpartition(":")
        files.setdefault(name or source, []).append(line)
    shown = []
    for name, lines in files.items():
        more = f" and {len(lines) - LIST_ROWS} more (see --json)" if len(lines) > LIST_ROWS else ""
        shown.append(f"{name} lines {', '.join(lines[:LIST_ROWS])}{more}")
    return "; ".join(shown)


def audit_command(task_dir: Path, strict: bool = False, json_out: Path | None = None) -> int:
    """Load the task, audit it, print the table, optionally write JSON; return the exit code."""
    if json_out is not None:  # a path that cannot be written fails now, not after the audit
        check_writable_path(json_out, "--json", folder=False)
    task = load_task(task_dir)
    check_text(task)  # a lone surrogate: refused with its row, as `run` does
    report = run_audit(task.train, task.test, instruction=task.instruction, docs=task.docs)
    render_report(report)
    if json_out is not None:
        atomic_write_json(json_out, report.to_json())
    code = report.exit_code(strict)
    if code:
        reason = "blocking findings" if report.blocking else "warnings (--strict)"
        Console(stderr=True).print(f"[bold red]audit failed:[/bold red] {reason}")
    return code
