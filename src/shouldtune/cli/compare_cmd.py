"""`shouldtune compare RUN_A RUN_B`: what changed between two runs, B relative to A.

InputError (a folder that is not a finished run) propagates: the CLI prints it, exit 2.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..core.errors import one_line
from ..core.fileio import atomic_write_json
from ..core.outdir import check_writable_path
from ..core.stats import level_label
from ..report.compare import Comparison, StrategyDelta, compare_runs


def _safe(text: object) -> str:
    """Dataset text for the terminal: no rich markup, no control sequences."""
    return escape(one_line(str(text)))


def _f(value: float | None, fmt: str = ".3f", sign: bool = False) -> str:
    if value is None:
        return "–"
    return format(value, ("+" if sign else "") + fmt)


def _delta_cell(row: StrategyDelta) -> str:
    if row.delta is None:
        return "–"
    text = _f(row.delta, sign=True)
    if row.delta_ci is not None:
        text += f" [{row.delta_ci[0]:+.3f}, {row.delta_ci[1]:+.3f}]"
    if row.significant:
        return f"[bold {'green' if row.delta > 0 else 'red'}]{text}[/]"
    return text


def _strategy_table(c: Comparison) -> Table:
    title = "B minus A, per strategy" if c.comparable else "A and B, per strategy"
    table = Table(title=title)
    scores = ("score A", "score B") + ((f"Δ score [{level_label()} CI]",) if c.comparable else ())
    for col in ("strategy", *scores, "p50 ms A", "p50 ms B", "Δ p50 ms", "changed answers"):
        table.add_column(col)
    for row in c.strategies:
        dp50 = row.p50_b - row.p50_a if row.p50_a is not None and row.p50_b is not None else None
        score_cells = (_f(row.score_a), _f(row.score_b))
        if c.comparable:
            score_cells += (_delta_cell(row),)
        table.add_row(
            _safe(row.name) + ("" if row.status == "both" else f" ({row.status})"),
            *score_cells,
            _f(row.p50_a, ".0f"),
            _f(row.p50_b, ".0f"),
            _f(dp50, ".0f", sign=True),
            str(row.changed_predictions) if row.status == "both" and c.same_test_set else "–",
        )
    return table


def _examples_table(c: Comparison, limit: int) -> Table:
    table = Table(title=f"Changed answers (first {min(limit, len(c.changed))} of {len(c.changed)})")
    for col in ("strategy", "#", "input", "expected", "A", "B"):
        table.add_column(col, overflow="fold")
    for ex in c.changed[:limit]:
        table.add_row(
            _safe(ex.strategy),
            str(ex.index),
            _safe(ex.input),
            _safe(ex.expected),
            f"{_safe(ex.predicted_a)} ({_f(ex.score_a, '.2f')})",
            f"{_safe(ex.predicted_b)} ({_f(ex.score_b, '.2f')})",
        )
    return table


def _differs_line(c: Comparison) -> str:
    """One line: what differs between the runs, and that their scores are not compared."""
    parts = []
    if "task" in c.differs:
        parts.append(f"different tasks ({_safe(c.task_a)} vs {_safe(c.task_b)})")
    if "metric" in c.differs:
        parts.append(f"different metrics ({_safe(c.metric_a)} vs {_safe(c.metric_b)})")
    return (
        f"[bold yellow]The runs are of {' and '.join(parts)}: their scores and verdicts are "
        "not comparable, so no score change is shown.[/]"
    )


def _verdict_line(c: Comparison) -> str:
    if not c.comparable:
        what = " and ".join(f"different {w}s" for w in c.differs)
        return f"Verdicts (of {what}): A: {_safe(c.verdict_a)}  |  B: {_safe(c.verdict_b)}"
    change = "[bold]changed[/]" if c.verdict_changed else "unchanged"
    return f"Verdict {change}: A: {_safe(c.verdict_a)}  →  B: {_safe(c.verdict_b)}"


def render_comparison(c: Comparison, console: Console, examples: int = 10) -> None:
    if not c.comparable:
        console.print(_differs_line(c), soft_wrap=True)
    console.print(f"A: {_safe(c.run_a)}  (task {_safe(c.task_a)}, metric {_safe(c.metric_a)},"
                  f" model {_safe(c.model_a)})")  # fmt: skip
    console.print(f"B: {_safe(c.run_b)}  (task {_safe(c.task_b)}, metric {_safe(c.metric_b)},"
                  f" model {_safe(c.model_b)})")  # fmt: skip
    if not c.same_test_set:
        console.print(
            "[yellow]The runs scored different test sets: score changes are not paired and "
            "answers are not compared example by example.[/]"
        )
    console.print(_strategy_table(c))
    console.print(_verdict_line(c))
    if c.changed and examples > 0:
        console.print(_examples_table(c, examples))
    elif c.same_test_set:
        console.print("No answer changed.")


def compare_command(run_a: Path, run_b: Path, examples: int, json_out: Path | None) -> None:
    if json_out is not None:  # a path that cannot be written fails before any output
        check_writable_path(json_out, "--json", folder=False)
    comparison = compare_runs(run_a, run_b)
    render_comparison(comparison, Console(), examples)
    if json_out is not None:
        atomic_write_json(json_out, comparison.to_json())
