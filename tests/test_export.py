"""`shouldtune export`: a run's fine-tune becomes a merged float32 model folder that
transformers loads and that answers exactly as the evaluated model did."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from shouldtune.cli.main import app
from shouldtune.run import RunOptions, run_task

TRAIN = [
    {"input": f"ship {i} boxes to town {i % 5}", "output": f"T{i % 5} x{i}"} for i in range(16)
]
TEST = [
    {"input": f"ship {i} crates to town {i % 5}", "output": f"T{i % 5} x{i}"} for i in range(40, 45)
]
OPTS = {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "lr_sweep": False,
        "learning_curve": False}  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tiny_model_dir, tmp_path_factory):
    import yaml

    root = tmp_path_factory.mktemp("export_task")
    config = {
        "name": "export-task",
        "instruction": "Write the shipping code.",
        "generation": {"max_new_tokens": 4, "batch_size": 5},
        "eval": {"latency_samples": 1, "bootstrap_samples": 200},
        "options": {"lora": OPTS, "layerwise": {**OPTS, "top_k": 1}},
        "probes": {"enabled": False},  # another feature, and slow: not what this file tests
    }
    (root / "task.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    for name, rows in (("train", TRAIN), ("test", TEST)):
        lines = "".join(json.dumps(r) + "\n" for r in rows)
        (root / f"{name}.jsonl").write_text(lines, encoding="utf-8")
    out = tmp_path_factory.mktemp("runs") / "run"
    opts = RunOptions(
        out_dir=out, only=["zero_shot", "lora", "layerwise"], model=str(tiny_model_dir),
        allow_audit_failures=True,
    )  # fmt: skip
    run_task(root, opts)
    return out


@pytest.mark.parametrize("strategy", ["lora", "layerwise"])
def test_exported_model_loads_and_answers_like_the_evaluated_one(run_dir, tmp_path, strategy):
    import torch
    from transformers import AutoModelForCausalLM

    from shouldtune.models.lm import LanguageModel

    out = tmp_path / "exported"
    result = CliRunner().invoke(app, ["export", str(run_dir), strategy, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    model = AutoModelForCausalLM.from_pretrained(out)
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert not any("lora" in n for n, _ in model.named_parameters())  # merged
    rows = [json.loads(line) for line in (run_dir / "predictions" / f"{strategy}.jsonl").open()]
    lm = LanguageModel.load("exported", out)
    convos = [
        [
            {"role": "system", "content": "Write the shipping code."},
            {"role": "user", "content": r["input"]},
        ]
        for r in rows
    ]
    gens = lm.generate(convos, max_new_tokens=4, batch_size=5)
    assert [g.text for g in gens] == [r["predicted"] for r in rows]


def test_export_errors_are_one_line_exit_2(run_dir, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["export", str(run_dir), "zero_shot", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "exportable: lora, layerwise" in bad.output
    missing = runner.invoke(app, ["export", str(tmp_path), "lora", "--out", str(tmp_path / "y")])
    assert missing.exit_code == 2 and "results.json" in missing.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    taken = runner.invoke(app, ["export", str(run_dir), "lora", "--out", str(tmp_path / "full")])
    assert taken.exit_code == 2 and "not empty" in taken.output
    # results.json and manifests are data: damaged or pointing outside, one line, exit 2.
    import json
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    results = json.loads((copy / "results.json").read_text())
    lora = next(s for s in results["strategies"] if s["name"] == "lora")
    (copy / lora["details"]["saved_to"] / "shouldtune-weights.json").write_bytes(b"\xff{")
    broken = runner.invoke(app, ["export", str(copy), "lora", "--out", str(tmp_path / "z")])
    assert broken.exit_code == 2 and "unreadable manifest" in broken.output
    lora["details"]["saved_to"] = "../../elsewhere"
    (copy / "results.json").write_text(json.dumps(results))
    away = runner.invoke(app, ["export", str(copy), "lora", "--out", str(tmp_path / "w")])
    assert away.exit_code == 2 and "inside the run folder" in away.output
