"""End to end on the real bundled model: the tool-calculator example's tools and pipeline
strategies next to the non-LLM baseline, on a few test problems."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shouldtune.run import RunOptions, run_task

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tool-calculator"


@pytest.mark.integration
def test_tools_and_pipeline_on_the_bundled_model(tmp_path: Path) -> None:
    task = tmp_path / "task"
    shutil.copytree(EXAMPLE, task)
    test = (EXAMPLE / "test.jsonl").read_text().splitlines()[:2]
    (task / "test.jsonl").write_text("\n".join(test) + "\n")
    (task / "task.yaml").write_text(
        "name: calc\n"
        "instruction: Answer the arithmetic question with the number only.\n"
        "metric: exact_match\n"
        "options: {tools: {max_rounds: 1, timeout_s: 2}}\n"
        "generation: {max_new_tokens: 40, batch_size: 2}\n"
        "eval: {latency_samples: 1}\n"
    )
    out = tmp_path / "run"
    results = run_task(task, RunOptions(out_dir=out, only=["baseline", "tools", "pipeline"]))
    by_name = {s["name"]: s for s in results["strategies"]}
    assert list(by_name) == ["baseline", "tools", "pipeline"]
    assert [s["kind"] for s in by_name.values()] == ["baseline", "tools", "pipeline"]
    tools = by_name["tools"]["details"]
    assert tools["protocol"] == "text" and tools["tools"] == ["calculate"]
    # An example gets a second round only by trying a call: no attempts <=> all answered at once.
    attempts = tools["tool_calls"] + tools["malformed_calls"]
    assert (attempts == 0) == (tools["answered_without_tools"] == 2)
    assert by_name["tools"]["prompt_tokens_mean"] > 150  # the schema and protocol
    steps = by_name["pipeline"]["details"]["steps"]
    assert [(s["name"], s["kind"]) for s in steps] == [("expression", "llm"), ("compute", "python")]
    assert steps[0]["ms_per_example"] > steps[1]["ms_per_example"] >= 0
    # The baseline needs no model: it answers in well under the LLM strategies' latency.
    assert by_name["baseline"]["latency_ms"]["p50"] < by_name["tools"]["latency_ms"]["p50"]
    assert results["model"]["parameters"] > 100e6  # the LLM was loaded for tools/pipeline
    saved = json.loads((out / "results.json").read_text())
    # Usable means a CI above zero (no min_quality here): recommend one of those, or none.
    usable = {n for n, s in by_name.items() if s["quality"]["ci_low"] > 0}
    verdict = saved["verdict"]
    if usable:
        assert verdict["recommended"] in usable
    else:
        assert verdict["recommended"] is None and verdict["status"] == "no_recommendation"
        assert verdict["headline"].startswith("No recommendation yet: no strategy is usable")
