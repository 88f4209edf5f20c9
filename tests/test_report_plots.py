"""Report figures (matplotlib SVG), the predictions browser and the CSP, without a browser."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from shouldtune.report import plots
from shouldtune.report.browse import build_browser, load_predictions
from shouldtune.report.render import BROWSE_JS, content_security_policy, render_html


def _s(name: str, score: float, p50: float, **extra) -> dict:
    return {
        "name": name,
        "kind": "prompting",
        "quality": {"metric": "accuracy", "score": score, "ci_low": score - 0.1,
                    "ci_high": score + 0.1},
        "latency_ms": {"p50": p50, "p95": p50 * 2},
        **extra,
    }  # fmt: skip


RICH_DETAILS = {
    "learning_curve": [
        {"fraction": 0.5, "n_train": 40, "score": 0.5, "ci_low": 0.4, "ci_high": 0.6},
        {"fraction": 1.0, "n_train": 80, "score": 0.7, "ci_low": 0.6, "ci_high": 0.8},
    ],
    "lr_sweep": [
        {"learning_rate": 1e-4, "dev_loss": 2.0},
        {"learning_rate": 1e-3, "dev_loss": 1.0},
    ],
    "learning_rate_chosen": 1e-3,
    "probes": {
        "fabrication_rate": {
            "before": 0.1,
            "after": 0.3,
            "diff": 0.2,
            "ci_low": 0.1,
            "ci_high": 0.3,
        },
        "seconds": {"before": 3.0, "after": 4.0},
        "examples": [{"q": "x"}],
    },
}


def _results(*strategies: dict) -> dict:
    return {
        "task": {"name": "t", "metric": "accuracy"},
        "verdict": {"recommended": "a", "best": "b"},
        "strategies": list(strategies),
    }


def test_every_figure_when_the_details_exist() -> None:
    made = plots.all_plots(_results(_s("a", 0.5, 10), _s("b", 0.7, 90, details=RICH_DETAILS)))
    assert [p.id for p in made] == [
        "plot-scatter", "plot-quality", "plot-latency", "plot-learning-curve", "plot-lr-sweep",
        "plot-probes",
    ]  # fmt: skip
    for p in made:
        assert p.svg.startswith("<svg") and p.svg.rstrip().endswith("</svg>")
        assert p.svg.count("<path") > 5 and "<script" not in p.svg and "<metadata" not in p.svg


def test_only_the_figures_the_data_supports() -> None:
    made = plots.all_plots(_results(_s("a", 0.5, 10), {"name": "broken", "quality": None}))
    assert [p.id for p in made] == ["plot-scatter", "plot-quality", "plot-latency"]
    assert plots.all_plots({"strategies": []}) == []
    assert plots.all_plots({}) == []


def test_figures_are_deterministic_and_ids_do_not_clash() -> None:
    results = _results(_s("a", 0.5, 10), _s("b", 0.7, 90, details=RICH_DETAILS))
    first, second = plots.all_plots(results), plots.all_plots(results)
    assert [p.svg for p in first] == [p.svg for p in second]  # no dates, salted ids
    ids = [re.findall(r'id="([^"]+)"', p.svg) for p in first]
    flat = [i for group in ids for i in group]
    assert len(flat) == len(set(flat))  # inline SVGs share one document: no duplicate ids
    refs = {r for p in first for r in re.findall(r'(?:href="|url\()#([^")]+)', p.svg)}
    assert refs and refs <= set(flat)  # and every reference still points at its target


def test_cost_axis_prefers_a_per_request_cost() -> None:
    with_cost = [_s("a", 0.5, 10, cost={"api_cost_per_1k_requests": None,
                                          "cost_per_1k_requests": 0.2}),
                 _s("b", 0.6, 20, cost={"cost_per_1k_requests": 0.4})]  # fmt: skip
    label, value = plots.cost_axis(with_cost)
    assert label == "cost per 1k requests" and [value(s) for s in with_cost] == [0.2, 0.4]
    label, value = plots.cost_axis([with_cost[0], _s("c", 0.1, 30)])  # one lacks a cost
    assert label.startswith("p50 latency") and value(with_cost[0]) == 10


def test_a_harmless_name_that_looks_active_keeps_its_figure() -> None:
    strategies = [
        {"name": "a onload=b", "quality": {"score": 0.5, "ci_low": 0.4, "ci_high": 0.6},
         "latency_ms": {"p50": 10.0, "p95": 12.0}},
        {"name": "javascript:x", "quality": {"score": 0.7, "ci_low": 0.6, "ci_high": 0.8},
         "latency_ms": {"p50": 20.0, "p95": 25.0}},
    ]  # fmt: skip
    plot = plots.latency_plot(strategies)
    assert plot is not None and "onload" not in plot.svg  # drawn as paths, comments dropped


@pytest.mark.parametrize(
    "bad",
    [
        "<svg><script>alert(1)</script></svg>",
        '<svg><rect onload="x()"/></svg>',
        "<svg><foreignObject><div/></foreignObject></svg>",
        '<svg><use href="http://evil/x.svg#a"/></svg>',
        '<svg><rect style="fill:url(http://evil/)"/></svg>',
        '<svg><a href="javascript:alert(1)">x</a></svg>',
    ],
)
def test_active_svg_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        plots.safe_svg(bad)
    assert plots.safe_svg('<?xml?><svg><use xlink:href="#g1"/></svg>').startswith("<svg")


def test_csp_allows_exactly_our_script() -> None:
    digest = base64.b64encode(hashlib.sha256(BROWSE_JS.encode()).digest()).decode()
    csp = content_security_policy(BROWSE_JS)
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    page = render_html(_results(_s("a", 0.5, 10)), {})
    assert f"<script>{BROWSE_JS}</script>" in page and csp in page.replace("&#39;", "'")
    assert "innerHTML" not in BROWSE_JS and "insertAdjacentHTML" not in BROWSE_JS


def _rows(scores: list[float], name: str) -> list[dict]:
    return [
        {"index": i, "input": f"q{i}", "expected": "y", "predicted": f"{name}{i}", "score": s}
        for i, s in enumerate(scores)
    ]


def test_browser_joins_strategies_and_finds_disagreements() -> None:
    browser = build_browser({"a": _rows([1, 0, 1, 0], "a"), "b": _rows([1, 1, 0, 0], "b")})
    assert browser.names == ["a", "b"] and browser.n_examples == 4 and browser.n_disagree == 2
    assert [r.disagree for r in browser.rows] == [False, True, True, False]
    assert [r.wrong for r in browser.rows] == [[], ["a"], ["b"], ["a", "b"]]
    assert browser.rows[1].cells[1].predicted == "b1" and browser.rows[1].cells[1].correct


def test_browser_limit_keeps_disagreements_first() -> None:
    a = _rows([1.0] * 50, "a")
    b = _rows([1.0 if i % 10 else 0.0 for i in range(50)], "b")
    browser = build_browser({"a": a, "b": b}, limit=8)
    assert browser.truncated and len(browser.rows) == 8 and browser.n_disagree == 5
    assert sum(r.disagree for r in browser.rows) == 5
    assert [r.index for r in browser.rows] == sorted(r.index for r in browser.rows)


def test_predictions_are_never_read_outside_the_run(tmp_path: Path) -> None:
    (tmp_path / "secret.jsonl").write_text(json.dumps({"index": 0, "input": "secret"}) + "\n")
    run = tmp_path / "run"
    (run / "predictions").mkdir(parents=True)
    (run / "predictions" / "a.jsonl").write_text(json.dumps(_rows([1], "a")[0]) + "\n")
    results = {"strategies": [
        {"name": "a", "predictions_file": "predictions/a.jsonl"},
        {"name": "evil", "predictions_file": "../secret.jsonl"},
        {"name": "abs", "predictions_file": str(tmp_path / "secret.jsonl")},
    ]}  # fmt: skip
    assert set(load_predictions(results, run)) == {"a"}
    from shouldtune.report import write_reports

    md_path, html_path = write_reports(results, run)  # the sample tables too, not just the browser
    for path in (md_path, html_path):
        assert "secret" not in path.read_text(encoding="utf-8")
