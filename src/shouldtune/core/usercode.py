"""User Python files from the task folder (tools.py, pipeline.py) and calls into them.

User code is imported only from inside the task folder, and every call into it runs with a
time limit: an exception or a hang becomes an outcome to count, never a crashed run.
"""

from __future__ import annotations

import importlib.util
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import InputError


def task_file(task_root: Path, file_name: str, what: str) -> Path:
    """The resolved path of a file that must lie inside the task folder."""
    root = task_root.resolve()
    path = (root / file_name).resolve()
    if root not in path.parents:
        raise InputError(f"{what} file {file_name!r} must lie inside the task folder", root)
    if not path.is_file():
        raise InputError(f"{what} file {file_name!r} not found", root)
    return path


def load_task_module(task_root: Path, file_name: str, what: str) -> ModuleType:
    """Import a Python file of the task folder; import errors become one-line InputErrors."""
    path = task_file(task_root, file_name, what)
    spec = importlib.util.spec_from_file_location(f"shouldtune_user_{what}_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise InputError(f"cannot import {what} file", path)
    module = importlib.util.module_from_spec(spec)
    try:
        with ctrl_c_noted() as ctrl_c:
            spec.loader.exec_module(module)
    except (Exception, SystemExit, KeyboardInterrupt) as exc:
        # User code: report, never crash with a traceback, nor end the run by sys.exit().
        if isinstance(exc, KeyboardInterrupt) and ctrl_c:
            raise
        raise InputError(f"importing the {what} file failed: {exc!r}", path) from None
    return module


class CtrlC:
    """Whether a real SIGINT (Ctrl-C) arrived while it was in use."""

    def __init__(self, hit: bool = False) -> None:
        self.hit = hit

    def __bool__(self) -> bool:
        return self.hit


@contextmanager
def ctrl_c_noted() -> Iterator[CtrlC]:
    """Note a real Ctrl-C during a call into user code, so a KeyboardInterrupt the code raises
    itself is told apart from the user's. Outside the main thread signals are not ours to
    handle: any KeyboardInterrupt there counts as a real one."""
    noted = CtrlC()
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        noted.hit = True  # not ours to tell apart (None: a handler set outside Python)
        yield noted
        return

    def handler(signum: int, frame: Any) -> None:
        noted.hit = True
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass(frozen=True)
class Outcome:
    """How one call into user code went."""

    ok: bool
    value: Any = None
    error: str = ""
    timed_out: bool = False
    seconds: float = 0.0


def call_with_timeout(
    func: Callable[..., Any],
    timeout_s: float,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> Outcome:
    """Run func(*args, **kwargs) in a daemon thread and wait at most timeout_s.

    A thread cannot be killed: a hung call is abandoned (daemon, so it never blocks exit)
    and the run goes on. A subprocess would be killable but costs a re-import per call.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func(*args, **(kwargs or {}))
        except BaseException as exc:  # noqa: BLE001 - anything user code raises is an outcome
            box["error"] = f"{type(exc).__name__}: {exc}"

    started = time.perf_counter()
    thread = threading.Thread(target=target, daemon=True, name="shouldtune-user-call")
    thread.start()
    thread.join(timeout_s)
    seconds = time.perf_counter() - started
    if thread.is_alive():
        error = f"timed out after {timeout_s:g} s"
        return Outcome(False, error=error, timed_out=True, seconds=seconds)
    if "error" in box:
        return Outcome(False, error=box["error"], seconds=seconds)
    return Outcome(True, value=box.get("value"), seconds=seconds)
