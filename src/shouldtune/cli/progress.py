"""Progress displays: rich bars on a terminal; elsewhere (CI, `make demo > log`) one plain line
per stage start and end with the elapsed time and the time left. Both take the plan's estimate
(`planned`) and print it first."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

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

from ..progress import Eta, left_words

HEARTBEAT_S = 60.0  # a long stage still says something this often (CI kills silent jobs)


def clock_text(seconds: float) -> str:
    """Elapsed time as m:ss (h:mm:ss past an hour)."""
    s = max(int(seconds), 0)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def _plan_lines(estimate: Any) -> list[str]:
    from ..estimate import plan_lines

    return plan_lines(estimate, getattr(estimate, "title", ""))


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
            TextColumn("{task.fields[run_left]}"),
            console=console,
            transient=False,
        )
        self._current = None
        self.eta: Eta | None = None

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

    def planned(self, estimate: Any) -> None:
        """Print the plan above the bars; the run's time left then follows each stage."""
        for line in _plan_lines(estimate):
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)
        self.eta = Eta(estimate.phases())

    def stage(self, strategy: str, stage: str, total: int | None = None) -> None:
        self._finish()
        run_left = ""
        if self.eta is not None:
            self.eta.enter(strategy)
            run_left = f"(run: {left_words(self.eta)})"
        self._current = self.bar.add_task(stage, total=total, strategy=strategy, run_left=run_left)

    def advance(self, n: int = 1) -> None:
        if self._current is not None:
            self.bar.advance(self._current, n)

    def log(self, message: str) -> None:
        self.console.log(message)


class PlainProgress:
    """One line per stage start and end, never a control character: for logs and CI.

    [1:23] lora · training started · about 5 min 10 s left
    [3:15] lora · training done in 1 min 52 s · about 3 min 20 s left
    """

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], float] = time.monotonic,
        heartbeat_s: float = HEARTBEAT_S,
    ):
        self.stream = stream
        self.clock = clock
        self.heartbeat_s = heartbeat_s
        self.started = clock()
        self.eta: Eta | None = None
        self._stage: tuple[str, str, int | None] | None = None
        self._stage_started = self._last_line = self.started
        self._done = 0

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._end_stage()

    def _line(self, text: str) -> None:
        now = self.clock()
        self.stream.write(f"[{clock_text(now - self.started)}] {text}\n")
        self.stream.flush()
        self._last_line = now

    def _left(self) -> str:
        return f" · {left_words(self.eta)}" if self.eta is not None else ""

    def _end_stage(self) -> None:
        if self._stage is None:
            return
        strategy, stage, _ = self._stage
        took = self.clock() - self._stage_started
        self._stage = None
        from ..estimate import duration

        self._line(f"{strategy} · {stage} done in {duration(took)}{self._left()}")

    def planned(self, estimate: Any) -> None:
        """Print the plan; from now on each line also says how long the run has left."""
        self._end_stage()  # measuring the speed was a stage of its own
        for line in _plan_lines(estimate):
            self.stream.write(line + "\n")
        self.stream.flush()
        self.eta = Eta(estimate.phases(), self.clock)

    def stage(self, strategy: str, stage: str, total: int | None = None) -> None:
        self._end_stage()
        if self.eta is not None:
            self.eta.enter(strategy)
        self._stage, self._stage_started, self._done = (strategy, stage, total), self.clock(), 0
        self._line(f"{strategy} · {stage} started{self._left()}")

    def advance(self, n: int = 1) -> None:
        self._done += n
        if self._stage is None or self.clock() - self._last_line < self.heartbeat_s:
            return
        strategy, stage, total = self._stage
        count = f"{self._done} of {total}" if total else f"{self._done} steps"
        from ..estimate import duration

        took = duration(self.clock() - self._stage_started)
        self._line(f"{strategy} · {stage}: {count}, {took} in{self._left()}")

    def log(self, message: str) -> None:
        self._line(message)


def is_interactive(err: Console, out: Console) -> bool:
    """Bars only when both streams are terminals that can redraw (not TERM=dumb): with
    either one sent to a file or a pipe, the output is a log, and a log wants lines."""
    return all(c.is_terminal and not c.is_dumb_terminal for c in (err, out))


def make_progress(err: Console, out: Console) -> RichProgress | PlainProgress:
    """Rich bars on an interactive terminal, else plain lines on `err`'s stream."""
    return RichProgress(err) if is_interactive(err, out) else PlainProgress(err.file)


# Warnings that third-party code raises on every run and that the user can do nothing about
# (found by running the demo piped to a file): (category, message regex).
KNOWN_WARNINGS: list[tuple[type[Warning], str]] = [
    # transformers 5 deprecates the name peft still calls when it wraps a model for LoRA
    (FutureWarning, r"`is_gradient_checkpointing` is deprecated"),
]


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """For the run: no weight-loading bars (transformers, huggingface_hub) and none of the
    known third-party warnings; every other warning still shows."""
    import huggingface_hub.utils as hub_utils
    from transformers.utils import logging as hf_logging

    bars_on = hf_logging.is_progress_bar_enabled()
    hub_off = hub_utils.are_progress_bars_disabled()
    env = os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS")
    hf_logging.disable_progress_bar()
    hub_utils.disable_progress_bars()
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # for any subprocess
    try:
        with warnings.catch_warnings():
            for category, message in KNOWN_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=category)
            yield
    finally:
        if bars_on:
            hf_logging.enable_progress_bar()
        if not hub_off:
            hub_utils.enable_progress_bars()
        if env is None:
            os.environ.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
        else:
            os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = env
