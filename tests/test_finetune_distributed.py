"""The distributed path: the shared loop under `accelerate launch` with 2 CPU processes (DDP
over gloo) on the tiny model. Each rank must train on different batches, and the weights it
ends with must be bit-identical to the other rank's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "fixtures" / "ddp_train.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(*script_args: str) -> str:
    """Run `accelerate launch` with 2 CPU processes; returns stdout."""
    # accelerate's --cpu flag routes multi-process runs through mpirun; the torchrun path with
    # ACCELERATE_USE_CPU gives plain DDP over gloo on a machine without GPUs.
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [
        str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(_free_port()), *script_args,
    ]  # fmt: skip
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _task(make_task_dir) -> Path:
    train = [
        {"input": f"send {i} units to depot {i % 3}", "output": f"D{i % 3}/{i}"} for i in range(20)
    ]
    opts = {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "lr_sweep": False}
    return make_task_dir(train, test=train[:2], config={"options": {"lora": opts}})


@pytest.mark.integration
def test_two_cpu_processes_split_batches_and_agree_on_weights(tiny_model_dir, tmp_path):
    import torch
    from safetensors.torch import load_file

    launch(str(SCRIPT), str(tiny_model_dir), str(tmp_path), "full", "{}")
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2] and ranks[0]["backend"] == "gloo"
    # 24 samples, batch 4: 6 batches an epoch, 3 per rank; epoch 1 is the first 12 seen.
    first = [set(r["seen"][:12]) for r in ranks]
    assert len(first[0]) == len(first[1]) == 12 and not first[0] & first[1]
    assert ranks[0]["report"]["train_tokens"] == ranks[1]["report"]["train_tokens"] > 0
    w0, w1 = (load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1))
    base = load_file(str(tiny_model_dir / "model.safetensors"))
    assert w0.keys() == w1.keys()
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    assert any(not torch.equal(w0[k], base[k]) for k in w0 if k in base)  # it did train


@pytest.mark.integration
def test_the_distributed_entry_point_trains_on_two_processes(
    tiny_model_dir, make_task_dir, tmp_path
):
    task = _task(make_task_dir)
    out = tmp_path / "dist"
    args = ["-m", "shouldtune.finetune.distributed", str(task), "lora", "--out", str(out)]
    stdout = launch(*args, "--model", str(tiny_model_dir))
    assert "on 2 process(es)" in stdout
    report = json.loads((out / "train_report.json").read_text())
    assert report["training"]["processes"] == 2 and report["saved_to"] == "trained/lora"
    assert (out / "trained" / "lora" / "adapter_model.safetensors").is_file()


def test_the_distributed_entry_point_in_one_process_then_export(
    tiny_model_dir, make_task_dir, tmp_path
):
    from shouldtune.finetune.distributed import main
    from shouldtune.finetune.weights import export_model, load_tuned

    task, out = _task(make_task_dir), tmp_path / "single"
    assert main([str(task), "lora", "--out", str(out), "--model", str(tiny_model_dir)]) == 0
    report = json.loads((out / "train_report.json").read_text())
    assert report["training"]["processes"] == 1 and report["lr_sweep"] == []
    exported = export_model(out, "lora", tmp_path / "model")  # no results.json needed
    assert (exported / "model.safetensors").is_file()
    from transformers import AutoModelForCausalLM

    merged = dict(AutoModelForCausalLM.from_pretrained(exported).named_parameters())
    tuned = dict(load_tuned(out / "trained" / "lora")[0].named_parameters())
    assert merged.keys() == tuned.keys() and all((merged[n] == tuned[n]).all() for n in merged)
    assert main([str(task), "zero_shot", "--out", str(out)]) == 2  # not a fine-tune
