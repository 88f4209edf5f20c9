"""Hostile input to the task loader: whatever the bytes, the answer is a task or one clear
InputError naming the file, and through the CLI exit status 2 with one line, never a
traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shouldtune.cli.main import app
from shouldtune.core.config import parse_task_config
from shouldtune.core.errors import InputError
from shouldtune.core.taskio import MAX_LINE_BYTES, load_task, parse_record, read_jsonl

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
# Lines that look almost right: the shapes the loader accepts, with fields of any type.
near_records = st.one_of(
    st.fixed_dictionaries({"input": json_values, "output": json_values}),
    st.fixed_dictionaries({"prompt": json_values, "completion": json_values}),
    st.fixed_dictionaries({"messages": json_values}),
    st.fixed_dictionaries(
        {"messages": st.lists(st.fixed_dictionaries({"role": json_values, "content": json_values}))}
    ),
    json_values,
)
CONFIG_KEYS = ["name", "instruction", "metric", "model", "strategies", "options", "split",
               "generation", "eval", "description", "unknown", "name "]  # fmt: skip


def _check_error(exc: InputError, path: Path) -> None:
    text = str(exc)
    assert exc.file is not None and str(path.name) in text
    assert "\n" not in text and len(text) < 2000 and "Traceback" not in text


def _read(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        examples = read_jsonl(path)
    except InputError as exc:
        _check_error(exc, path)
    else:
        assert examples and all(isinstance(e.input, str) for e in examples)


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_bytes_as_jsonl(tmp_path: Path, data: bytes) -> None:
    _read(tmp_path / "train.jsonl", data)


@FUZZ
@given(rows=st.lists(near_records, min_size=1, max_size=4), junk=st.sampled_from(
    [b"", b"\x00", b"\xff\xfe", b"{", b"\xef\xbb\xbf", b"\r", b"\x1b[31m", b"]"]
))  # fmt: skip
def test_almost_valid_jsonl(tmp_path: Path, rows: list, junk: bytes) -> None:
    lines = [json.dumps(r, allow_nan=True).encode() for r in rows]
    _read(tmp_path / "train.jsonl", b"\n".join(lines) + b"\n" + junk)


@FUZZ
@given(record=near_records)
def test_any_record_shape(tmp_path: Path, record) -> None:
    path = tmp_path / "test.jsonl"
    try:
        example = parse_record(record, path, 1)
    except InputError as exc:
        _check_error(exc, path)
    else:
        assert isinstance(example.input, str) and isinstance(example.output, str)


@FUZZ
@given(
    config=st.dictionaries(
        st.sampled_from(CONFIG_KEYS) | st.text(max_size=10), json_values, max_size=5
    )
)
def test_any_task_yaml_mapping(tmp_path: Path, config: dict) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    try:
        parse_task_config(path)
    except InputError as exc:
        _check_error(exc, path)


@FUZZ
@given(text=st.binary(max_size=200))
def test_any_bytes_as_task_yaml(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "task.yaml"
    path.write_bytes(text)
    try:
        parse_task_config(path)
    except InputError as exc:
        _check_error(exc, path)


NASTY_FILES = {
    "deep json": b'{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b', "output": "x"}\n',
    "huge number": b'{"input": ' + b"9" * 5000 + b', "output": "x"}\n',
    "huge line": b'{"input": "' + b"a" * (MAX_LINE_BYTES + 10) + b'", "output": "x"}\n',
    "nul byte": b'{"input": "a\x00b", "output": "x"}\n',
    "escaped nul": b'{"input": "a\\u0000b", "output": "x"}\n',
    "latin-1": '{"input": "café", "output": "x"}\n'.encode("latin-1"),
    "utf-16": '{"input": "x", "output": "y"}\n'.encode("utf-16"),
    "lone surrogate": b'{"input": "\\ud800", "output": "x"}\n',
    "wrong types": b'{"input": 3, "output": ["x"]}\n',
    "array": b'[{"input": "x", "output": "y"}]\n',
    "nan": b'{"input": NaN, "output": "y"}\n',
    "truncated": b'{"input": "x", "outp',
    "empty": b"",
}
NASTY_YAML = {
    "unknown key": "name: t\ninstructions: typo\n",
    "wrong type": "name: t\neval: {latency_samples: many}\n",
    "list": "- name: t\n",
    "python tag": "name: !!python/object/apply:os.system ['echo pwned']\n",
    "deep": "name: t\noptions: " + "[" * 5000 + "]" * 5000 + "\n",
    "alias bomb": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "name: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
    "tabs": "name: t\n\tinstruction: x\n",
    "escape path": "name: t\nmetric: python:../../etc/passwd:f\n",
    "absolute path": "name: t\nmetric: python:/etc/passwd:f\n",
    "not utf-8": "name: café\n".encode("latin-1").decode("latin-1"),
}
GOOD_LINE = '{"input": "hello there", "output": "greeting"}\n'


@pytest.mark.parametrize("case", sorted(NASTY_FILES))
def test_nasty_jsonl_is_one_clear_error(tmp_path: Path, case: str) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(NASTY_FILES[case])
    try:
        examples = read_jsonl(path)
    except InputError as exc:
        _check_error(exc, path)
    else:  # an escaped NUL or lone surrogate is legal JSON text: kept as data, not an error
        assert case in {"escaped nul", "lone surrogate"} and len(examples) == 1


def _task(tmp_path: Path, yaml_text: str | bytes, train: bytes) -> Path:
    root = tmp_path / "task"
    root.mkdir(exist_ok=True)
    data = yaml_text if isinstance(yaml_text, bytes) else yaml_text.encode("utf-8")
    (root / "task.yaml").write_bytes(data)
    (root / "train.jsonl").write_bytes(train)
    (root / "test.jsonl").write_text(GOOD_LINE * 3)
    return root


@pytest.mark.parametrize("case", sorted(NASTY_YAML))
def test_nasty_task_yaml_is_one_clear_error(tmp_path: Path, case: str) -> None:
    text = NASTY_YAML[case]
    raw = text.encode("latin-1") if case == "not utf-8" else text.encode("utf-8")
    root = _task(tmp_path, raw, GOOD_LINE.encode() * 8)
    with pytest.raises(InputError) as info:
        task = load_task(root)
        from shouldtune.core.metrics import load_scorer

        load_scorer(task.metric, task.root)  # path-valued keys are checked when used
    text = str(info.value)
    assert "\n" not in text and len(text) < 400, text
    assert "task" in text  # names the task folder or its task.yaml


CLI_CASES = {
    "deep json": ("name: t\n", NASTY_FILES["deep json"], "train.jsonl:1"),
    "nul byte": ("name: t\n", NASTY_FILES["nul byte"], "train.jsonl:1"),
    "utf-16": ("name: t\n", NASTY_FILES["utf-16"], "train.jsonl:1"),
    "huge line": ("name: t\n", NASTY_FILES["huge line"], "train.jsonl:1"),
    "unknown key": (NASTY_YAML["unknown key"], GOOD_LINE.encode() * 8, "task.yaml"),
    "python tag": (NASTY_YAML["python tag"], GOOD_LINE.encode() * 8, "task.yaml"),
    "escape path": (NASTY_YAML["escape path"], GOOD_LINE.encode() * 8, "inside the task folder"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_exits_2_with_one_line(tmp_path: Path, case: str) -> None:
    yaml_text, train, where = CLI_CASES[case]
    root = _task(tmp_path, yaml_text, train)
    result = CliRunner().invoke(app, ["run", str(root), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and where in lines[0], lines
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
