"""SIGKILL a real `shouldtune run` mid-run, run the same command again: finished strategies
are reused, the fine-tune resumes from its checkpoint, and the results equal a run that was
never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TRAIN = [{"input": f"order {100 + i} status", "output": f"code {i % 3}"} for i in range(16)]
TEST = [{"input": f"where is parcel {500 + i}", "output": f"code {i % 3}"} for i in range(5)]
CONFIG = {
    "metric": "chrf",  # graded: random tiny-model answers still get distinct scores
    "generation": {"max_new_tokens": 4, "batch_size": 8},
    "eval": {"latency_samples": 1, "bootstrap_samples": 200},
    "probes": {"enabled": False},  # tested elsewhere; here they would only add minutes
    "options": {
        "lora": {
            "epochs": 5,
            "batch_size": 2,
            "evals_per_epoch": 2,
            "patience": 100,
            "dev_fraction": 0.25,
            "lr_sweep": False,
            "learning_curve": False,
        },
    },
}
ONLY = "zero_shot,lora,few_shot"


def _command(task: Path, out: Path, model: Path) -> list[str]:
    return [
        sys.executable, "-m", "shouldtune.cli", "run", str(task), "--out", str(out),
        "--only", ONLY, "--model", str(model),
    ]  # fmt: skip


def _run(task: Path, out: Path, model: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        _command(task, out, model), capture_output=True, text=True, timeout=300, env=_env()
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200", "TOKENIZERS_PARALLELISM": "false"}


def _kill_when(task: Path, out: Path, model: Path, ready) -> None:
    """Start the run, SIGKILL it as soon as `ready(cache_folder)` holds."""
    cache = out.with_name(f".{out.name}.cache")
    proc = subprocess.Popen(
        _command(task, out, model),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
    )
    try:
        deadline = time.monotonic() + 240
        while not ready(cache):
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "timed out waiting to kill the run"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert not out.exists()  # never renamed: the run did not finish


def _entries(cache: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(cache.glob("*.json")) if p.stem != "identity"]


def _lora_checkpoint(cache: Path) -> bool:
    """zero_shot is cached and lora has checkpointed, early in its training."""
    if len(_entries(cache)) != 1:
        return False
    for manifest in cache.glob("*.ckpt/*/checkpoint.json"):
        try:
            epoch, _ = json.loads(manifest.read_text())["position"]
        except (OSError, ValueError, KeyError):
            continue
        return epoch < 2
    return False


def _comparable(run: Path) -> dict:
    """What must not depend on an interruption: scores and every prediction."""
    results = json.loads((run / "results.json").read_text())
    # Not the verdict: between equal scores it prefers the lower measured latency.
    return {
        "strategies": {
            s["name"]: {
                "quality": s["quality"],
                "predictions": (run / s["predictions_file"]).read_text(),
                "train_steps": (s["details"].get("training") or {}).get("steps"),
            }
            for s in results["strategies"]
        },
    }


@pytest.mark.integration
def test_sigkill_then_rerun_continues_and_matches(tmp_path, make_task_dir, tiny_model_dir):
    task = make_task_dir(TRAIN, TEST, CONFIG)
    out = tmp_path / "run"
    cache = tmp_path / ".run.cache"

    # Killed once zero_shot is cached and lora has written its first training checkpoint.
    _kill_when(task, out, tiny_model_dir, _lora_checkpoint)
    (zero_shot,) = _entries(cache)
    assert zero_shot["run"]["name"] == "zero_shot"  # the unscored StrategyRun

    proc = _run(task, out, tiny_model_dir)
    assert "zero_shot: reused the answers of an earlier attempt" in " ".join(proc.stderr.split())
    assert not cache.exists() and not (tmp_path / ".run.partial").exists()
    results = json.loads((out / "results.json").read_text())
    by_name = {s["name"]: s for s in results["strategies"]}
    # Timings are measured once: a reused result carries the killed attempt's numbers. Its
    # latency was still pending (timed round-robin after the last strategy): timed now.
    reused = by_name["zero_shot"]
    timings = ["tokens_per_s", "prompt_tokens_mean", "train_seconds", "eval_seconds",
               "peak_rss_mb"]  # fmt: skip
    assert {k: reused[k] for k in timings} == {k: zero_shot["run"][k] for k in timings}
    assert zero_shot["pending"] and zero_shot["run"]["latency_ms"]["n"] == 0
    assert reused["latency_ms"]["n"] == 1 and reused["latency_ms"]["p50"] > 0
    assert reused["details"]["latency_timed"] == "round-robin"
    training = by_name["lora"]["details"]["training"]
    assert training["resumed_at_step"] and 0 < training["resumed_at_step"] <= training["steps"]
    assert (out / by_name["lora"]["details"]["saved_to"]).is_dir()  # restored from the cache

    reference = tmp_path / "reference"
    _run(task, reference, tiny_model_dir)
    assert _comparable(out) == _comparable(reference)
