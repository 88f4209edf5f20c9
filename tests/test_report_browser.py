"""The HTML report in a real browser (headless Chromium): verdict and plots are there, the
filters work, and hostile dataset text renders as text without running anything.

Screenshots go to tests/artifacts/ (gitignored). Without Chromium the tests skip, except in CI
(CI=true), where .ci/run installs it and a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from shouldtune.report import write_reports

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCRIPT = "<script>window.__pwned=1;document.title='PWNED'</script>"
IMG = "<img src=x onerror=\"document.title='PWNED';document.body.dataset.pwned=1\">"
NASTY = [
    f"refund {SCRIPT} please",
    f"\"quoted\" 'single' {IMG}",
    "</textarea></td></tr></table><h1>INJECTED HEADING</h1>",
    "**bold** [link](javascript:alert(1)) <b>tag</b> | pipe | `code`",
    "<svg onload=\"document.title='PWNED'\"></svg><style>body{display:none}</style>",
]
ALL_PLOTS = [
    "plot-scatter",
    "plot-quality",
    "plot-latency",
    "plot-learning-curve",
    "plot-lr-sweep",
    "plot-probes",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing in CI: .ci/run must install it (apt-get install chromium)")
    pytest.skip("chromium not installed (apt-get install chromium); CI installs it")


def _browse(url: str, tmp_path: Path, screenshot: Path | None = None) -> str:
    """The DOM after load (scripts run) as Chromium serialises it."""
    base = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [*base, "--window-size=1280,3200", f"--screenshot={screenshot}", url],
            capture_output=True,
            timeout=60,
            check=True,
        )
        assert screenshot.stat().st_size > 10_000
    proc = subprocess.run(
        [*base, "--dump-dom", url], capture_output=True, text=True, timeout=60, check=True
    )
    assert "<html" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def _strategy(name: str, kind: str, score: float, p50: float, **details) -> dict:
    return {
        "name": name,
        "kind": kind,
        "quality": {
            "metric": "accuracy",
            "score": score,
            "ci_low": max(0.0, score - 0.1),
            "ci_high": min(1.0, score + 0.1),
        },
        "latency_ms": {"p50": p50, "p95": p50 * 1.4},
        "tokens_per_s": 40.0,
        "prompt_tokens_mean": 60.0,
        "train_seconds": 90.0 if kind == "fine-tuning" else 0.0,
        "eval_seconds": 10.0,
        "peak_rss_mb": 900.0,
        "predictions_file": f"predictions/{name}.jsonl",
        "details": details,
    }


def _rich_results() -> dict:
    """Results with every optional figure: learning curve, lr sweep and probes."""
    lora = _strategy(
        "lora",
        "fine-tuning",
        0.8,
        120.0,
        learning_curve=[
            {
                "fraction": f,
                "n_train": int(80 * f),
                "score": 0.4 + 0.4 * f,
                "ci_low": 0.3 + 0.4 * f,
                "ci_high": 0.5 + 0.4 * f,
            }
            for f in (0.25, 0.5, 1.0)
        ],
        lr_sweep=[{"learning_rate": lr, "dev_loss": d} for lr, d in ((1e-4, 2.0), (1e-3, 1.1))],
        learning_rate_chosen=1e-3,
        probes={
            "answerable_accuracy": {"before": 0.5, "after": 0.6, "diff": 0.1},
            "fabrication_rate": {"before": 0.2, "after": 0.3, "diff": 0.1},
            "abstention_rate": {"before": 0.3, "after": 0.1, "diff": -0.2},
            "forgetting": {"before": 0.7, "after": 0.65, "diff": -0.05},
        },
    )
    return {
        "schema_version": 1,
        "task": {"name": f"task {SCRIPT}", "n_train": 80, "n_test": 5, "metric": "accuracy"},
        "model": {"name": "tiny"},
        "run": {"seed": 0},
        "verdict": {
            "fine_tune": False,
            "recommended": "few_shot",
            "best": "lora",
            "not_worse_than_best": ["lora", "few_shot"],
            "reasons": [f"Best quality: lora {IMG}", "few_shot is cheaper."],
        },
        "strategies": [
            _strategy("zero_shot", "prompting", 0.2, 40.0),
            _strategy("few_shot", "prompting", 0.7, 60.0, k=4),
            lora,
        ],
        "skipped": [{"name": "rag", "reason": f"no docs {SCRIPT}"}],
        "audit": {
            "findings": [
                {
                    "check": "duplicates",
                    "severity": "warning",
                    "count": 1,
                    "message": f"duplicate {IMG}",
                    "examples": [{"source": "train.jsonl:1", "excerpt": SCRIPT}],
                }
            ],
            "summary": {"blocking": 0, "warning": 1},
        },
    }


def _write_predictions(run: Path, results: dict) -> None:
    (run / "predictions").mkdir(parents=True)
    for k, s in enumerate(results["strategies"]):
        rows = [
            {
                "index": i,
                "source": f"test.jsonl:{i + 1}",
                "input": text,
                "expected": NASTY[-1 - i],
                "predicted": f"{SCRIPT} {IMG} answer {i}",
                # zero_shot gets all wrong: strategies disagree on examples 0, 2 and 4.
                "score": float(i % 2 == 0) if k else 0.0,
            }
            for i, text in enumerate(NASTY)
        ]
        (run / s["predictions_file"]).write_text("".join(json.dumps(r) + "\n" for r in rows))


def _assert_nothing_ran(dom: str, title: str) -> None:
    found = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert found and unescape(found.group(1)) == title  # an injected script would set PWNED
    assert "data-pwned" not in dom
    assert "INJECTED HEADING" in dom and "<h1>INJECTED HEADING</h1>" not in dom
    # The payloads are on the page as visible text, escaped.
    assert "&lt;script&gt;window.__pwned=1;document.title='PWNED'&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=" in dom and "&lt;/textarea&gt;" in dom
    assert dom.count("<script>") == 1  # ours, at the end of the body
    assert "<img" not in dom and "<h1>" in dom and dom.count("<h1>") == 1


@pytest.mark.browser
def test_report_renders_in_chromium_with_every_plot(tmp_path: Path) -> None:
    results = _rich_results()
    run = tmp_path / "run"
    _write_predictions(run, results)
    _, html_path = write_reports(results, run)
    shot = ARTIFACTS / "report.png"
    dom = _browse(html_path.as_uri(), tmp_path, screenshot=shot)

    assert "Verdict: don't fine-tune — use few_shot" in unescape(dom)
    assert "few_shot scores 0.700 accuracy" in dom
    for plot_id in ALL_PLOTS:
        figure = re.search(rf'<figure class="plot" id="{plot_id}">(.*?)</figure>', dom, re.S)
        assert figure, plot_id
        assert figure.group(1).count("<path") > 5  # real drawing, not an empty frame
    _assert_nothing_ran(dom, f"shouldtune report: task {SCRIPT}")
    # Our script ran (allowed by its CSP hash): the controls are visible and counted.
    assert re.search(r'id="pred-count"[^>]*>showing 5 of 5<', dom)
    assert '<div id="pred-controls">' in dom


@pytest.mark.browser
def test_predictions_filters_apply_in_chromium(tmp_path: Path) -> None:
    results = _rich_results()
    run = tmp_path / "run"
    _write_predictions(run, results)
    _, html_path = write_reports(results, run)
    dom = _browse(f"{html_path.as_uri()}?disagree=1", tmp_path)
    assert re.search(r'id="pred-count"[^>]*>showing 3 of 5<', dom)
    rows = re.findall(r'<tr class="example[^"]*"[^>]*>', dom)
    assert len(rows) == 5 and sum("hidden" in r for r in rows) == 2
    assert all("disagree" in r for r in rows if "hidden" not in r)
    dom = _browse(f"{html_path.as_uri()}?strategy=lora&wrong=1", tmp_path)
    assert re.search(r'id="pred-count"[^>]*>showing 2 of 5<', dom)  # lora misses 1 and 3
    assert re.search(r'<th data-s="zero_shot" hidden', dom)


@pytest.mark.browser
def test_hostile_task_through_a_real_run(tmp_path: Path, make_task_dir, tiny_model_dir) -> None:
    """Hostile text in task data goes through `run_task` to a report that runs none of it."""
    from shouldtune.run import RunOptions, run_task

    train = [{"input": f"order {1000 + i} is late", "output": f"label {i % 3}"} for i in range(12)]
    test = [{"input": text, "output": NASTY[-1 - i]} for i, text in enumerate(NASTY)]
    task = make_task_dir(
        train,
        test,
        {
            "instruction": f"Answer. {SCRIPT}",
            "description": IMG,
            "metric": "exact_match",
            "generation": {"max_new_tokens": 6},
            "eval": {"latency_samples": 1, "bootstrap_samples": 200},
        },
    )
    out = tmp_path / "run"
    opts = RunOptions(out_dir=out, only=["zero_shot", "few_shot"], model=str(tiny_model_dir))
    run_task(task, opts)
    dom = _browse((out / "report.html").as_uri(), tmp_path, ARTIFACTS / "report-hostile.png")
    # The tiny random model solves nothing, so no strategy is usable and nothing is recommended.
    assert re.search(r'id="verdict">No recommendation yet: no strategy is usable', dom)
    for plot_id in ALL_PLOTS[:3]:
        assert f'<figure class="plot" id="{plot_id}">' in dom
    _assert_nothing_ran(dom, "shouldtune report: task")
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "<img" not in md and "</textarea>" not in md
