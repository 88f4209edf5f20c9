"""End to end on the real bundled model: `shouldtune run` writes every promised field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "ticket-codes"
STRATEGY_KEYS = {
    "name",
    "kind",
    "quality",
    "latency_ms",
    "tokens_per_s",
    "prompt_tokens_mean",
    "train_seconds",
    "peak_rss_mb",
    "predictions_file",
}


def _small_task(root: Path) -> Path:
    task = root / "task"
    (task / "docs").mkdir(parents=True)
    train = (EXAMPLE / "train.jsonl").read_text().splitlines()[:24]
    test = (EXAMPLE / "test.jsonl").read_text().splitlines()[:6]
    (task / "train.jsonl").write_text("\n".join(train) + "\n")
    (task / "test.jsonl").write_text("\n".join(test) + "\n")
    (task / "docs" / "sheet.md").write_text((EXAMPLE / "docs" / "order-code-sheet.md").read_text())
    (task / "task.yaml").write_text(
        "name: tiny-ticket-codes\n"
        "instruction: Write the order code for this message.\n"
        "metric: token_f1\n"
        "generation: {max_new_tokens: 20}\n"
        "options: {few_shot: {k: 2}, few_shot_knn: {k: 2}}\n"
    )
    return task


@pytest.mark.integration
def test_run_on_bundled_model_writes_results(tmp_path: Path) -> None:
    task = _small_task(tmp_path)
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shouldtune.cli",
            "run",
            str(task),
            "--out",
            str(out),
            "--quick",
            "--only",
            "zero_shot,few_shot,few_shot_knn,rag,lora",
        ],
        capture_output=True,
        text=True,
        timeout=2400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())

    assert results["schema_version"] == 2
    assert results["task"] == results["task"] | {
        "name": "tiny-ticket-codes",
        "n_train": 24,
        "n_test": 6,
        "metric": "token_f1",
    }
    assert results["model"]["name"] == "smollm2-135m-instruct"
    assert 130e6 < results["model"]["parameters"] < 140e6
    names = [s["name"] for s in results["strategies"]]
    assert names == ["zero_shot", "few_shot", "few_shot_knn", "rag", "lora"]
    for s in results["strategies"]:
        assert s.keys() >= STRATEGY_KEYS
        q = s["quality"]
        assert q["metric"] == "token_f1"
        assert 0 <= q["ci_low"] <= q["score"] <= q["ci_high"] <= 1
        assert s["latency_ms"]["p50"] > 0 and s["latency_ms"]["p95"] >= s["latency_ms"]["p50"]
        assert s["peak_rss_mb"] > 100
        rows = (out / s["predictions_file"]).read_text().splitlines()
        assert len(rows) == 6
        assert {"input", "expected", "predicted", "score"} <= json.loads(rows[0]).keys()
    by_name = {s["name"]: s for s in results["strategies"]}
    assert by_name["lora"]["train_seconds"] > 0 and by_name["zero_shot"]["train_seconds"] == 0
    # Few-shot prompts carry demonstrations; RAG prompts carry the retrieved sheet.
    assert by_name["few_shot"]["prompt_tokens_mean"] > by_name["zero_shot"]["prompt_tokens_mean"]
    assert by_name["rag"]["prompt_tokens_mean"] > by_name["zero_shot"]["prompt_tokens_mean"]
    # Read on an AMD EPYC run: kNN demonstrations 0.542 token F1, plain few-shot 0.292; zero-shot,
    # rag and the 3-step LoRA get nothing right. One LoRA evaluation, no early stop: still
    # learning, so no verdict on fine-tuning, and a --quick run is only indicative.
    verdict = results["verdict"]
    scores = {s["name"]: s["quality"]["score"] for s in results["strategies"]}
    assert verdict["recommended"] == "few_shot_knn" == max(scores, key=scores.get)
    assert verdict["fine_tune"] is None and verdict["drivers"] == ["still_learning"]
    assert verdict["headline"] == (
        "Indicative (--quick): Use few_shot_knn for now — undecided on fine-tuning: lora was"
        " still learning"
    )
    assert scores["lora"] < scores["few_shot"] < scores["few_shot_knn"]
    assert verdict["reasons"][0].startswith(
        f"Best quality: few_shot_knn scored {scores['few_shot_knn']:.3f}"
    )
    assert results["audit"]["summary"]["blocking"] == 0
    html = (out / "report.html").read_text()
    assert html.index(verdict["headline"]) < html.index("zero_shot")  # the verdict comes first
    assert (out / "report.md").is_file()
