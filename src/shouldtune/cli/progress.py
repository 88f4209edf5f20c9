"""A rich progress display: each strategy's stage, examples done, and time left."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RichProgress:
    def __init__(self, console: Console):
        self.console = console
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[strategy]:<14}[/] {task.description:<11}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._current = None

    def __enter__(self) -> RichProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
        self.bar.__exit__(*exc)

    def _finish(self) -> None:
        if self._current is not None:
            task = self.bar.tasks[self._current]
            if task.total is not None:
                self.bar.update(self._current, completed=task.total)
            else:
                self.bar.update(
                    self._current, total=task.completed or 1, completed=task.completed or 1
                )

    def stage(self, strategy: str, stage: str, total: int | None = None) -> None:
        self._finish()
        self._current = self.bar.add_task(stage, total=total, strategy=strategy)

    def advance(self, n: int = 1) -> None:
        if self._current is not None:
            self.bar.advance(self._current, n)

    def log(self, message: str) -> None:
        self.console.log(message)
