"""The same task, seed and data give byte-identical verdicts and intervals (issue 22).

Two runs of the tiny model (baseline, zero_shot, lora) on one task. The clock is the only
input that may differ between two runs: it is replaced by one that ticks 1 ms per reading, so
latency and cost are the same numbers both times and anything else that differs (an unseeded
bootstrap, an unseeded training, an order that depends on a set) shows up in the comparison.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

COLOURS = {"red": "RED", "blue": "BLU", "green": "GRN"}
GREETINGS = ["Please ship", "Could you send", "I would like", "Kindly deliver", "We need",
             "Send over", "Dispatch"]  # fmt: skip
ITEMS = ["lamp", "chair", "kettle", "poster", "blanket"]
CITIES = ["Oslo", "Rome", "Lisbon", "Vienna", "Dublin", "Madrid", "Warsaw", "Athens", "Riga",
          "Sofia", "Bern"]  # fmt: skip


def rows(start: int, n: int) -> list[dict]:
    """Orders whose answer is the colour's code; no two inputs are near-copies (the audit
    would score such test rows apart)."""
    names = list(COLOURS)
    out = []
    for i in range(start, start + n):
        colour = names[i % 3]
        text = f"{GREETINGS[i % 7]} the {colour} {ITEMS[i % 5]} to {CITIES[i % 11]}."
        out.append({"input": text, "output": COLOURS[colour]})
    return out


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


def _run(root: Path, out: Path, tiny_model_dir: Path, monkeypatch) -> dict:
    from shouldtune.run import RunOptions, run_task

    monkeypatch.setattr(time, "perf_counter", Clock())
    opts = RunOptions(
        out_dir=out,
        only=["baseline", "zero_shot", "lora"],
        model=str(tiny_model_dir),
        seed=3,
        allow_audit_failures=True,
    )
    return run_task(root, opts)


def test_two_runs_give_byte_identical_verdicts_and_intervals(
    tiny_model_dir, make_task_dir, tmp_path, monkeypatch
):
    config = {
        "metric": "token_f1",
        "generation": {"max_new_tokens": 4, "stop": ["\n"]},
        "eval": {"latency_samples": 2, "bootstrap_samples": 500},
        "options": {"lora": {"epochs": 1, "batch_size": 4, "lr_sweep": False,
                             "learning_curve": False}},
        "probes": {"enabled": False},
        "needs": {"requests_per_day": 100},
    }  # fmt: skip
    root = make_task_dir(rows(0, 24), rows(24, 25), config)
    first = _run(root, tmp_path / "a" / "run", tiny_model_dir, monkeypatch)
    second = _run(root, tmp_path / "b" / "run", tiny_model_dir, monkeypatch)

    def dump(value) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    assert dump(first["verdict"]) == dump(second["verdict"])
    for a, b in zip(first["strategies"], second["strategies"], strict=True):
        assert dump([a["quality"], a.get("subsets")]) == dump([b["quality"], b.get("subsets")])
        pa = (tmp_path / "a" / "run" / a["predictions_file"]).read_bytes()
        pb = (tmp_path / "b" / "run" / b["predictions_file"]).read_bytes()
        assert pa == pb, a["name"]
    # Not a trivial verdict: the baseline learns the colour words, the random model does not,
    # and the paired intervals behind the decision are in the reasons.
    by = {s["name"]: s["quality"] for s in first["strategies"]}
    assert by["baseline"]["score"] == 1.0 and by["zero_shot"]["score"] < 0.5
    assert first["verdict"]["recommended"] == "baseline"
    # One epoch: LoRA's loss is still falling, but the baseline already scores 1.000: at its
    # ceiling LoRA would only tie it, and a tie goes to no training, so more training cannot
    # change the verdict (core/decision.py ceiling_flips): decided, not undecided.
    assert first["verdict"]["fine_tune"] is False
    assert "still_learning" not in first["verdict"]["drivers"]
    assert any("more training cannot change this verdict" in r
               for r in first["verdict"]["reasons"])  # fmt: skip
    assert first["audit"]["test_rows"]["seen"] == []  # every test row is scored
    assert any("paired difference" in r for r in first["verdict"]["reasons"])
