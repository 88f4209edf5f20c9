"""A task folder is untrusted data: it cannot make the run load code or files from outside
it, and models load from safetensors only, without remote code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shouldtune.core.errors import InputError
from shouldtune.core.metrics import load_scorer
from shouldtune.core.taskio import load_task
from shouldtune.core.usercode import load_task_module
from shouldtune.run import RunOptions, run_task, task_model

SRC = Path(__file__).resolve().parents[1] / "src" / "shouldtune"
ROWS = [{"input": f"question {i}", "output": f"answer {i}"} for i in range(8)]


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == name:
                found.append((path, node))
    return found


def _kw(call: ast.Call, key: str) -> object:
    for kw in call.keywords:
        if kw.arg == key and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return "missing"


def test_every_model_load_refuses_remote_code_and_pickles() -> None:
    loads = _calls("from_pretrained")
    assert loads
    for path, call in loads:
        receiver = ast.unparse(call.func.value)
        if "gguf_file" in {kw.arg for kw in call.keywords} or receiver == "PeftModel":
            continue  # the bundled GGUF (no code, no pickle); our own saved adapter
        assert _kw(call, "trust_remote_code") is False, f"{path.name}: {ast.unparse(call)}"
        if receiver.endswith("ForCausalLM"):
            assert _kw(call, "use_safetensors") is True, f"{path.name}: {ast.unparse(call)}"
    for path, call in _calls("load"):  # torch.load unpickles: never in the library
        assert ast.unparse(call.func.value) != "torch", path


def test_a_model_folder_with_only_pickled_weights_is_refused(tmp_path, tiny_model_dir) -> None:
    import shutil

    import torch
    from safetensors.torch import load_file

    from shouldtune.models.lm import LanguageModel

    folder = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, folder)
    weights = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(weights, folder / "pytorch_model.bin")
    with pytest.raises(OSError):
        LanguageModel.load("pickled", folder)


def test_scorer_outside_the_task_folder_is_refused(tmp_path, make_task_dir) -> None:
    outside = tmp_path / "evil.py"
    outside.write_text("import sys\nsys.exit('ran code from outside')\ndef f(a, b): return 1\n")
    task = make_task_dir(ROWS, ROWS[:2])
    for spec in ("python:../evil.py:f", f"python:{outside}:f"):
        with pytest.raises(InputError, match="inside the task folder"):
            load_scorer(spec, task)
    (task / "link.py").symlink_to(outside)  # a link inside pointing out is still outside
    with pytest.raises(InputError, match="inside the task folder"):
        load_scorer("python:link.py:f", task)
    with pytest.raises(InputError, match="inside the task folder"):
        load_task_module(task, "link.py", "tools")
    with pytest.raises(InputError, match="inside the task folder"):
        load_task_module(task, "../evil.py", "pipeline")


def test_scorer_inside_the_task_folder_is_used(make_task_dir) -> None:
    task = make_task_dir(ROWS, ROWS[:2])
    (task / "score.py").write_text("def half(p, e):\n    return 0.5\n")
    assert load_scorer("python:score.py:half", task)("a", "b") == 0.5


def test_docs_linking_outside_the_task_folder_are_refused(tmp_path, make_task_dir) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("api key: hunter2")
    task = make_task_dir(ROWS, ROWS[:2], docs={"ok.md": "fine"})
    assert [d.path for d in load_task(task).docs] == ["ok.md"]
    (task / "docs" / "leak.md").symlink_to(secret)
    with pytest.raises(InputError, match="outside the task folder") as info:
        load_task(task)
    assert "leak.md" in str(info.value) and "hunter2" not in str(info.value)


@pytest.mark.parametrize("model", ["/", "../elsewhere", "models/../../x", "/etc"])
def test_task_yaml_model_cannot_point_outside(make_task_dir, model: str) -> None:
    task = load_task(make_task_dir(ROWS, ROWS[:2], {"model": model}))
    with pytest.raises(InputError, match="inside the task folder"):
        task_model(task)


def test_task_yaml_model_inside_the_folder_or_bundled(make_task_dir) -> None:
    task = load_task(make_task_dir(ROWS, ROWS[:2], {"model": "models/mine"}))
    assert task_model(task) == str((task.root / "models" / "mine").resolve())
    bundled = load_task(make_task_dir(ROWS, ROWS[:2], {"model": "smollm2-135m-instruct"}))
    assert task_model(bundled) == "smollm2-135m-instruct"


def test_run_stops_before_any_work_on_an_escaping_path(tmp_path, make_task_dir) -> None:
    task = make_task_dir(ROWS, ROWS[:2], {"metric": "python:../../x.py:f"})
    with pytest.raises(InputError, match="inside the task folder"):
        run_task(task, RunOptions(out_dir=tmp_path / "out"))
    assert not (tmp_path / "out").exists() and not (tmp_path / ".out.partial").exists()
