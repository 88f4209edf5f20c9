"""The CLI contract: bad input exits 2 with one line naming file and line, nothing written."""

from __future__ import annotations

import subprocess
import sys

import pytest


def shouldtune(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shouldtune.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"task.yaml": "name: t\nfoo: 1\n", "train.jsonl": '{"input":"a","output":"b"}\n'},
            ["task.yaml", "'foo'", "unknown key"],
        ),
        (
            {"task.yaml": "name: t\n", "train.jsonl": '{"input":"a","output":"b"}\n{"input": 3,\n'},
            ["train.jsonl:2", "malformed JSON"],
        ),
        ({"task.yaml": "name: t\n", "train.jsonl": ""}, ["train.jsonl", "empty"]),
        (
            {
                "task.yaml": "name: t\n",
                "train.jsonl": '{"input":"a","output":"b"}\n',
                "test.jsonl": '{"question":"a"}\n',
            },
            ["test.jsonl:1", "found keys: question"],
        ),
        ({"train.jsonl": '{"input":"a","output":"b"}\n'}, ["task.yaml", "missing"]),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, files, expected):
    task = tmp_path / "task"
    task.mkdir()
    for name, text in files.items():
        (task / name).write_text(text)
    out = tmp_path / "out"
    line = _one_line_error(shouldtune("run", str(task), "--out", str(out)))
    for fragment in expected:
        assert fragment in line
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_unknown_strategy_lists_valid_ones(make_task_dir):
    task = make_task_dir(train=[{"input": f"q{i}", "output": "a"} for i in range(6)])
    line = _one_line_error(shouldtune("run", str(task), "--only", "zero_shot,telepathy"))
    assert "telepathy" in line and "zero_shot, few_shot" in line


def test_missing_task_folder(tmp_path):
    line = _one_line_error(shouldtune("audit", str(tmp_path / "nope")))
    assert "nope" in line and "not found" in line


def test_models_lists_the_bundled_model():
    proc = shouldtune("models")
    assert proc.returncode == 0
    assert "smollm2-135m-instruct" in proc.stdout


def test_run_stops_on_blocking_audit_finding(tmp_path, make_task_dir, tiny_model_dir):
    rows = [{"input": f"order number {i} please", "output": f"code {i}"} for i in range(8)]
    task = make_task_dir(train=rows, test=rows[:2])
    out = tmp_path / "out"
    proc = shouldtune("run", str(task), "--out", str(out), "--model", str(tiny_model_dir))
    assert proc.returncode == 1
    assert "leakage" in proc.stderr and "--allow-audit-failures" in proc.stderr
    assert not out.exists()


def test_an_outside_service_failing_mid_run_exits_3_with_a_resume_hint(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from shouldtune.cli.main import app
    from shouldtune.core.errors import InputError, ServiceError
    from shouldtune.models.openai_backend import BackendError

    assert issubclass(BackendError, ServiceError) and not issubclass(BackendError, InputError)

    def failing(task_dir, opts):
        raise BackendError("backend local: failed 5 requests in a row (HTTP 503)")

    monkeypatch.setattr("shouldtune.run.run_task", failing)
    result = CliRunner().invoke(app, ["run", str(tmp_path)])
    assert result.exit_code == 3
    assert "failed 5 requests in a row" in result.output
    assert "run the same command again to resume" in result.output
    assert "Traceback" not in result.output
