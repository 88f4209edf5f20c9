"""The user's files are the user's (issue 28): what `run`, `rescore`, `export`, `audit` and
`compare` accept, refuse, write and never touch.

Every refusal exits 2 with one line naming the path (and line), before any model loads, and
leaves every file under the test's folder as it was (sha256 of each, before and after): the
task, the --out folder and its siblings, no hidden .partial/.cache folder left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shouldtune.cli.main import app
from shouldtune.core import outdir
from shouldtune.core.fileio import atomic_write_json

COLOURS = ["red", "blue", "green", "black", "white", "pink", "grey", "gold", "teal", "navy"]
TEACH = [{"input": f"code for {c} {i}", "output": c} for i in range(3) for c in COLOURS]
TEST = [{"input": f"the code of {c}", "output": c} for c in COLOURS]
TASK_YAML = (
    "name: colours\nmetric: exact_match\neval: {latency_samples: 1, bootstrap_samples: 200}\n"
)
NO_MODEL = "/nonexistent/model"  # a refusal that came after the model loads would name this
FAST = ("--only", "baseline", "--allow-audit-failures")


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def write_task(root: Path, **files: str) -> Path:
    """A small label task (baseline answers it without an LLM); `files` override or add."""
    root.mkdir(parents=True)
    texts = {"task.yaml": TASK_YAML, "train.jsonl": jsonl(TEACH), "test.jsonl": jsonl(TEST)}
    for name, text in {**texts, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def sums(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, and every folder (so a new empty one shows)."""
    found = {}
    for base, dirs, files in os.walk(folder):
        for name in dirs:
            found[os.path.relpath(os.path.join(base, name), folder) + "/"] = "dir"
        for name in files:
            path = Path(base, name)
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, stderr: str, *fragments: str) -> str:
    """Exit 2, stderr one `error:` line holding every fragment, no traceback."""
    assert code == 2, (code, stderr)
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def sealed_run(folder: Path, extra: dict[str, str] | None = None) -> Path:
    """A finished run folder as shouldtune leaves it (results.json, a report, the marker)."""
    folder.mkdir(parents=True)
    results = {"schema_version": 3, "task": {"name": "t"}, "strategies": [], "verdict": {}}
    (folder / "results.json").write_text(json.dumps(results))
    (folder / "report.md").write_text("# report\n")
    outdir.seal(folder, "run")
    for name, text in (extra or {}).items():
        (folder / name).write_text(text)
    return folder


# ---------------------------------------------------------------- 1-2: the output folder


def _out_task(tmp: Path, task: Path) -> Path:
    return task


def _out_inside_task(tmp: Path, task: Path) -> Path:
    return task / "runs" / "x"


def _out_holding_task(tmp: Path, task: Path) -> Path:
    return task.parent


def _out_user_folder(tmp: Path, task: Path) -> Path:
    (tmp / "thesis" / "sub").mkdir(parents=True)
    (tmp / "thesis" / "thesis.txt").write_text("four years of work\n")
    (tmp / "thesis" / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return tmp / "thesis"


def _out_run_with_user_file(tmp: Path, task: Path) -> Path:
    return sealed_run(tmp / "old-run", {"notes.txt": "mine, added after the run\n"})


def _out_file(tmp: Path, task: Path) -> Path:
    (tmp / "a-file").write_text("not a folder\n")
    return tmp / "a-file"


def _out_under_file(tmp: Path, task: Path) -> Path:
    (tmp / "a-file").write_text("not a folder\n")
    return tmp / "a-file" / "run"


def _out_unwritable(tmp: Path, task: Path) -> Path:
    if os.geteuid() == 0:  # root writes through permission bits: /proc takes no new entry
        return Path("/proc/shouldtune-run")
    locked = tmp / "locked"
    locked.mkdir(mode=0o500)
    return locked / "run"


def _out_partial_in_the_way(tmp: Path, task: Path) -> Path:
    (tmp / ".run.partial").write_text("a file of the user's with our working folder's name\n")
    return tmp / "run"


OUT_CASES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "the task folder": (_out_task, "is the task folder"),
    "a folder inside the task folder": (_out_inside_task, "inside the task folder"),
    "a folder holding the task folder": (_out_holding_task, "holds the task folder"),
    "a folder of the user's": (_out_user_folder, "sub/data.csv, thesis.txt"),
    "an earlier run the user added a file to": (_out_run_with_user_file, "notes.txt"),
    "a file": (_out_file, "is a file, not a folder"),
    "a path under a file": (_out_under_file, "a-file, which is a file"),
    "a folder the user cannot write": (_out_unwritable, "cannot write"),
    "a working folder name taken by a file": (_out_partial_in_the_way, ".run.partial"),
}


@pytest.mark.parametrize("case", sorted(OUT_CASES))
def test_run_refuses_an_out_folder_before_any_work_and_touches_nothing(tmp_path, case):
    make_out, says = OUT_CASES[case]
    task = write_task(tmp_path / "parent" / "task")
    out = make_out(tmp_path, task)
    before = sums(tmp_path)
    code, _, stderr = cli("run", task, "--out", out, "--model", NO_MODEL, *FAST)
    named = out.parent if "partial" in says else out  # the file in the way is named instead
    one_line_error(code, stderr, str(named), says)
    assert sums(tmp_path) == before  # nothing changed, nothing left behind (.partial, .cache)


def test_unwritable_parent_of_audit_json_is_refused_before_the_audit(tmp_path):
    task = write_task(tmp_path / "task")
    target = _out_unwritable(tmp_path, task) / "audit.json"
    before = sums(tmp_path)
    code, stdout, stderr = cli("audit", task, "--json", target)
    one_line_error(code, stderr, str(target), "cannot write")
    assert stdout == "" and sums(tmp_path) == before  # refused before auditing, not exit 1


@pytest.mark.parametrize("where", ["a folder", "under a file"])
def test_compare_json_path_is_checked_first(tmp_path, where):
    (tmp_path / "a-file").write_text("x\n")
    target = tmp_path / "a-file" / "d.json" if where == "under a file" else tmp_path
    code, _, stderr = cli("compare", tmp_path / "a", tmp_path / "b", "--json", target)
    one_line_error(code, stderr, str(target), "--json")


# --------------------------------------------------------- inputs that are not files


@pytest.mark.parametrize("name", ["train.jsonl", "test.jsonl", "task.yaml"])
def test_an_input_that_is_a_folder_is_one_line(tmp_path, name):
    task = write_task(tmp_path / "task")
    (task / name).unlink()
    (task / name).mkdir()
    before = sums(tmp_path)
    code, _, stderr = cli("run", task, "--out", tmp_path / "out", "--model", NO_MODEL, *FAST)
    one_line_error(code, stderr, f"{name}: is a folder, not a file")
    assert sums(tmp_path) == before


# ------------------------------------------- 4-5: what was accepted silently, refused


INPUT_CASES: dict[str, tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]] = {
    "a duplicate key in a JSONL row": (
        {"train.jsonl": jsonl(TEACH[:4]) + '{"input": "a", "output": "red", "input": "b"}\n'},
        (),
        ("train.jsonl:5", "duplicate key 'input'"),
    ),
    "a duplicate key in task.yaml": (
        {"task.yaml": TASK_YAML + "needs:\n  horizon_days: 30\n  horizon_days: 60\n"},
        (),
        ("task.yaml:6", "duplicate key 'horizon_days'"),
    ),
    "a duplicate top-level key in task.yaml": (
        {"task.yaml": TASK_YAML + "name: other\n"},
        (),
        ("task.yaml:4", "duplicate key 'name'"),
    ),
    "an infinite volume in task.yaml": (
        {"task.yaml": TASK_YAML + "needs: {requests_per_day: .inf}\n"},
        (),
        ("task.yaml", "needs.requests_per_day", "finite"),
    ),
    "an infinite volume on the command line": (
        {},
        ("--requests-per-day", "inf"),
        ("--requests-per-day", "finite"),
    ),
    "an empty --only": ({}, ("--only", ""), ("--only names no strategy", "baseline, zero_shot")),
    "a NUL byte in a document": (
        {"docs/guide.md": "Colours.\nred is r\x00ed\n"},
        (),
        ("docs/guide.md:2", "NUL byte"),
    ),
    "a lone surrogate in a test row": (
        {"test.jsonl": jsonl(TEST[:3]) + '{"input": "code of \\ud800", "output": "red"}\n'},
        (),
        ("test.jsonl:4", "lone surrogate \\ud800"),
    ),
}


@pytest.mark.parametrize("case", sorted(INPUT_CASES))
def test_input_accepted_silently_before_is_refused_naming_file_and_line(tmp_path, case):
    files, flags, fragments = INPUT_CASES[case]
    task = write_task(tmp_path / "task", **files)
    before = sums(tmp_path)
    args = ["run", task, "--out", tmp_path / "out", "--model", NO_MODEL, *FAST, *flags]
    if case == "an empty --only":
        args = ["run", task, "--out", tmp_path / "out", "--model", NO_MODEL, *flags]
    code, _, stderr = cli(*args)
    one_line_error(code, stderr, *fragments)
    assert sums(tmp_path) == before


def test_audit_refuses_a_lone_surrogate_with_its_row(tmp_path):
    rows = jsonl(TEST[:3]) + '{"input": "\\ud800", "output": "red"}\n'
    task = write_task(tmp_path / "task", **{"test.jsonl": rows})
    code, _, stderr = cli("audit", task, "--json", tmp_path / "audit.json")
    one_line_error(code, stderr, "test.jsonl:4", "lone surrogate")
    assert not (tmp_path / "audit.json").exists()


def test_results_json_is_strict_json(tmp_path):
    path = tmp_path / "results.json"
    atomic_write_json(path, {"a": float("inf"), "b": [float("nan"), 0.5], "c": "x\ud800"})
    text = path.read_text(encoding="utf-8")
    assert "Infinity" not in text and "NaN" not in text
    assert json.loads(text) == {"a": None, "b": [None, 0.5], "c": "x\ud800"}


# ------------------------------------------------- 3: a metric that calls sys.exit


METRICS = {
    "sys.exit on every row": (
        "import sys\ndef score(p, e):\n    sys.exit(0)\n",
        "raised SystemExit: 0 on test.jsonl:1",
    ),
    "sys.exit(1) with a message": (
        "import sys\ndef score(p, e):\n    sys.exit('bye')\n",
        "raised SystemExit: bye on test.jsonl:1",
    ),
    "KeyboardInterrupt raised by the metric": (
        "def score(p, e):\n    raise KeyboardInterrupt\n",
        "raised KeyboardInterrupt on test.jsonl:1",
    ),
    "sys.exit when imported": (
        "import sys\nsys.exit(0)\ndef score(p, e):\n    return 1.0\n",
        "importing the metric file failed: SystemExit(0)",
    ),
}


@pytest.mark.parametrize("case", sorted(METRICS))
def test_a_metric_that_exits_is_a_metric_error_before_any_work(tmp_path, case):
    code_text, says = METRICS[case]
    yaml_text = TASK_YAML.replace("exact_match", "python:score.py:score")
    task = write_task(tmp_path / "task", **{"task.yaml": yaml_text, "score.py": code_text})
    before = sums(tmp_path)
    code, _, stderr = cli("run", task, "--out", tmp_path / "out", "--model", NO_MODEL, *FAST)
    one_line_error(code, stderr, "metric", says)
    assert sums(tmp_path) == before


EXITS_ON_TEAL = (
    "import sys\ndef score(p, e):\n    if e == 'teal':\n        sys.exit(0)\n"
    "    return float(p == e)\n"
)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_model_dir) -> tuple[Path, Path, str]:
    """(task, run folder, model) of one real run: baseline only, a few seconds."""
    root = tmp_path_factory.mktemp("finished")
    task = write_task(root / "task", **{"exits.py": EXITS_ON_TEAL})
    run = root / "run"
    code, _, stderr = cli("run", task, "--out", run, "--model", tiny_model_dir, *FAST)
    assert code == 0, stderr
    return task, run, str(tiny_model_dir)


def test_a_metric_that_exits_on_one_row_after_the_run_names_the_row(tmp_path, tiny_model_dir):
    yaml_text = TASK_YAML.replace("exact_match", "python:score.py:score")
    task = write_task(tmp_path / "task", **{"task.yaml": yaml_text, "score.py": EXITS_ON_TEAL})
    task_sums = sums(task)
    out = tmp_path / "out"
    code, _, stderr = cli("run", task, "--out", out, "--model", tiny_model_dir, *FAST)
    assert code == 2 and "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error")]
    assert errors == [stderr.strip().splitlines()[-1]]  # one error line, the last
    assert "raised SystemExit: 0 on test.jsonl:9" in errors[0] and "'teal'" in errors[0]
    assert not out.exists() and sums(task) == task_sums  # the cache stays: fix and rerun


def test_rescore_with_a_metric_that_exits_is_one_line(finished, tmp_path):
    task, run, _ = finished
    before = sums(run)
    code, _, stderr = cli(
        "rescore", run, "--metric", "python:exits.py:score", "--task", task,
        "--out", tmp_path / "again",
    )  # fmt: skip
    one_line_error(code, stderr, "raised SystemExit: 0 on test.jsonl:9")
    assert sums(run) == before and not list(tmp_path.iterdir())


# ------------------------------------------ 1: rescore and export into others' folders


def _rs_user(tmp: Path, run: Path) -> Path:
    return _out_user_folder(tmp, run)


def _rs_inside_run(tmp: Path, run: Path) -> Path:
    return run / "rescored"


def _rs_holding_run(tmp: Path, run: Path) -> Path:
    return run.parent


def _rs_file(tmp: Path, run: Path) -> Path:
    return _out_file(tmp, run)


def _rs_task(tmp: Path, run: Path) -> Path:
    return Path(json.loads((run / "results.json").read_text())["task"]["root"])


RESCORE_CASES = {
    "a folder of the user's": (_rs_user, "thesis.txt"),
    "a folder inside the run": (_rs_inside_run, "inside the run folder"),
    "a folder holding the run": (_rs_holding_run, "holds the run folder"),
    "a file": (_rs_file, "is a file"),
    "the task folder": (_rs_task, "is the task folder"),
}


@pytest.mark.parametrize("case", sorted(RESCORE_CASES))
def test_rescore_refuses_an_out_folder_and_touches_nothing(finished, tmp_path, case):
    task, run, _ = finished
    make_out, says = RESCORE_CASES[case]
    out = make_out(tmp_path, run)
    watched = [tmp_path, run.parent]
    before = [sums(w) for w in watched]
    code, _, stderr = cli("rescore", run, "--metric", "contains", "--out", out)
    one_line_error(code, stderr, str(out), says)
    assert [sums(w) for w in watched] == before


@pytest.mark.parametrize("case", ["a folder of the user's", "a file"])
def test_export_refuses_an_out_folder_before_loading_the_model(finished, tmp_path, case):
    _, run, _ = finished
    out = _out_user_folder(tmp_path, run) if case == "a folder of the user's" else None
    out = out or _out_file(tmp_path, run)
    before = sums(tmp_path)
    code, _, stderr = cli("export", run, "lora", "--out", out)
    one_line_error(code, stderr, str(out))
    assert sums(tmp_path) == before


# ------------------------------------------------ replacing an earlier run, atomically


@pytest.mark.parametrize("earlier", ["marked", "from before the marker", "empty folder"])
def test_run_replaces_an_earlier_run_and_nothing_else(finished, tmp_path, earlier):
    task, run, model = finished
    out = tmp_path / "run"
    if earlier == "empty folder":
        out.mkdir()
    else:
        shutil.copytree(run, out)
        (out / "predictions" / "stale.jsonl").write_text("{}\n")  # a strategy since dropped
        marker = json.loads((out / outdir.MARKERS["run"]).read_text())
        (out / outdir.MARKERS["run"]).write_text(
            json.dumps({**marker, "files": [*marker["files"], "predictions/stale.jsonl"]})
        )
        if earlier == "from before the marker":
            (out / outdir.MARKERS["run"]).unlink()
    task_sums = sums(task)
    code, _, stderr = cli("run", task, "--out", out, "--model", model, *FAST)
    assert code == 0, stderr
    assert sums(task) == task_sums
    written = json.loads((out / outdir.MARKERS["run"]).read_text())["files"]
    files = {name for name in sums(out) if not name.endswith("/")}
    assert files == {*written, outdir.MARKERS["run"]}  # every file listed as the tool's
    assert "predictions/stale.jsonl" not in written and (out / "results.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no .old/.partial left


def test_rescore_replaces_its_earlier_output(finished, tmp_path):
    _, run, _ = finished
    out = tmp_path / "rescored"
    for metric in ("contains", "token_f1"):
        code, _, stderr = cli("rescore", run, "--metric", metric, "--out", out)
        assert code == 0, stderr
    assert json.loads((out / "results.json").read_text())["task"]["metric"] == "token_f1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rescored"]


def _finished_pair(tmp_path: Path) -> tuple[Path, Path]:
    old = sealed_run(tmp_path / "out")
    work = outdir.work_folder(old)
    (work / "results.json").write_text('{"new": true}\n')
    return old, work


def test_a_failure_between_the_renames_keeps_the_earlier_run(tmp_path, monkeypatch):
    out, work = _finished_pair(tmp_path)
    before = sums(out)
    real = Path.rename

    def failing(self, target):
        if self == work:
            raise OSError("disk gone")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError):
        outdir.replace(work, out)
    monkeypatch.setattr(Path, "rename", real)
    assert sums(out) == before  # put back: one complete run where it was
    outdir.replace(work, out)
    assert json.loads((out / "results.json").read_text()) == {"new": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_crash_between_the_renames_is_recovered_by_the_next_check(tmp_path):
    out, _work = _finished_pair(tmp_path)
    before = sums(out)
    out.rename(outdir.aside(out))  # killed right after moving the old run aside
    assert not out.exists()
    outdir.check_output(out)  # the next run or rescore starts with this check
    assert sums(out) == before


# ------------------------------------------------ 6: compare across tasks or metrics


def _fake_run(root: Path, task: str, metric: str, score: float, pick: str) -> Path:
    (root / "predictions").mkdir(parents=True)
    rows = [
        {"index": i, "input": f"q{i}", "expected": "A", "predicted": "A" if i < 8 * score else "B",
         "score": float(i < 8 * score)}
        for i in range(8)
    ]  # fmt: skip
    (root / "predictions" / "lora.jsonl").write_text(jsonl(rows))
    results = {
        "task": {"name": task, "metric": metric},
        "model": {"name": "m"},
        "verdict": {"fine_tune": pick == "lora", "recommended": pick},
        "strategies": [
            {
                "name": "lora",
                "quality": {"metric": metric, "score": score, "ci_low": 0, "ci_high": 1},
                "latency_ms": {"p50": 10, "p95": 10},
                "predictions_file": "predictions/lora.jsonl",
            }
        ],
    }
    (root / "results.json").write_text(json.dumps(results))
    return root


@pytest.mark.parametrize(
    ("b_task", "b_metric", "says"),
    [
        ("other", "contains", "different tasks (t vs other) and different metrics"),
        ("t", "contains", "different metrics (exact_match vs contains)"),
        ("other", "exact_match", "different tasks (t vs other)"),
    ],
)
def test_compare_says_first_when_tasks_or_metrics_differ(tmp_path, b_task, b_metric, says):
    a = _fake_run(tmp_path / "a", "t", "exact_match", 1.0, "lora")
    b = _fake_run(tmp_path / "b", b_task, b_metric, 0.25, "zero_shot")
    out = tmp_path / "diff.json"
    code, stdout, stderr = cli("compare", a, b, "--json", out)
    assert code == 0, stderr
    first = stdout.splitlines()[0]
    assert says in first and "not comparable" in first
    assert "Δ score" not in stdout and "-0.750" not in stdout and "Verdict changed" not in stdout
    assert "Verdicts (of different" in " ".join(stdout.split())
    diff = json.loads(out.read_text())
    assert diff["comparable"] is False and diff["verdict_changed"] is None
    assert diff["strategies"][0]["delta"] is None and diff["strategies"][0]["delta_ci"] is None


def test_compare_of_the_same_task_and_metric_still_shows_the_change(tmp_path):
    a = _fake_run(tmp_path / "a", "t", "exact_match", 1.0, "lora")
    b = _fake_run(tmp_path / "b", "t", "exact_match", 0.25, "zero_shot")
    code, stdout, _ = cli("compare", a, b)
    text = " ".join(stdout.split())
    assert code == 0 and "-0.750" in text and "Verdict changed" in text
    assert "not comparable" not in text
