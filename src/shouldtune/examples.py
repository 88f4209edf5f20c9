"""Where the bundled example task lives (the repository's examples/ folder)."""

from __future__ import annotations

from pathlib import Path

from .core.errors import InputError

DEMO_TASK = "ticket-codes"


def demo_task_dir() -> Path:
    root = Path(__file__).resolve().parents[2] / "examples" / DEMO_TASK
    if not (root / "task.yaml").is_file():
        raise InputError(
            "the bundled example is not here: install from a checkout with "
            "`pip install -e .` (it lives in examples/)",
            root,
        )
    return root
