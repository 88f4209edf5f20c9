"""The whole audit on banking77 within its time budget (integration: real data, slow).

Apart from tests/test_audit.py, which is in the decision tier (`pytest -m decision`).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

from shouldtune.audit import run_audit
from shouldtune.core.taskio import load_task

ROOT = Path(__file__).resolve().parents[1]


def _to_task_module():
    spec = importlib.util.spec_from_file_location("to_task", ROOT / "data/banking77/to_task.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.integration
def test_banking77_full_audit_under_60s(tmp_path):
    start = time.perf_counter()
    task = load_task(_to_task_module().write_task(tmp_path / "b77"))
    report = run_audit(task.train, task.test, instruction=task.instruction)
    elapsed = time.perf_counter() - start
    assert len(task.train) == 10003 and len(task.test) == 3080
    assert elapsed < 60, f"audit took {elapsed:.1f} s"
    assert report.get("label_distribution").count == 77
    leakage = report.get("leakage")
    assert leakage.count > 0  # banking77 test repeats some train queries
    assert leakage.severity == "warning" and not report.blocking  # scored apart, no wall
    assert leakage.data["clean"] + leakage.data["seen"] == 3080
