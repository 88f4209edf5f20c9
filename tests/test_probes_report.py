"""The report's probe parts: both general-knowledge measures, `room` notes, the format-takeover
finding, the data kind before SliCK, and older runs that still say `forgetting`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shouldtune.report import render_html, render_markdown
from shouldtune.report.plots import probe_rows, probes_plot
from shouldtune.report.sections import hallucination_section

FIXTURE = Path(__file__).parent / "fixtures" / "results_sections.json"


def _m(before: float, after: float, lo: float, hi: float, n: int = 60, **extra) -> dict:
    return {"before": before, "after": after, "diff": round(after - before, 4), "ci_low": lo,
            "ci_high": hi, "n": n, **extra}  # fmt: skip


NO_ROOM = "the base model already fabricates on 97% of unanswerable questions: a rise cannot show"


@pytest.fixture
def results() -> dict:
    """A real ticket-codes run (old keys), given the new probe keys for lora."""
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    lora = next(s for s in data["strategies"] if s["name"] == "lora")
    lora["details"]["probes"] = {
        "knowledge_retained": _m(1.0, 0.95, -0.1, 0.0),
        "open_questions": _m(1.0, 0.0, -1.0, -1.0),
        "answerable_accuracy": _m(0.05, 0.0, -0.125, 0.0, 40),
        "fabrication_rate": _m(0.975, 1.0, 0.0, 0.075, 40, room=NO_ROOM),
        "abstention_rate": _m(0.04, 0.0, -0.09, 0.0, 80),
        "in_domain_fabrication": _m(0.95, 0.0, -1.0, -0.9, 40),
        "seconds": {"before": 1.0, "after": 20.0, "before_cached": True},
    }
    data["knowledge"] |= {
        "data_kind": "format",
        "data_kind_reason": "outputs derivable from the input: 43% copied from the input",
        "warning": None,
        "note": "100% of the examples analysed are Unknown to the base model, which is expected",
        "cached": True,
    }
    return data


def test_both_measures_room_and_format_takeover_in_both_reports(results: dict) -> None:
    section = hallucination_section(results)
    table = next(t for t in section["tables"] if t["name"] == "lora")
    labels = [r["label"] for r in table["rows"]]
    assert labels[:2] == [
        "general knowledge retained (likelihood, multiple choice)",
        "still answers open questions (generation)",
    ]
    assert "task questions answered confidently and wrongly" in labels
    takeover, room = table["notes"]
    assert takeover.startswith("Format takeover: lora no longer answers open questions (1.00 to")
    assert "Serve it only for this task" in takeover
    assert room.endswith(f"{NO_ROOM}.")
    md, page = render_markdown(results, {}), render_html(results, {})
    for text in (md, page):
        assert "Format takeover" in text and "a rise cannot show" in text
        assert "outputs derivable from the input" in text and "which is expected" in text
        assert "answers from the cache" in text
    assert "The data teaches **format**" in md


def test_no_takeover_finding_when_knowledge_also_dropped(results: dict) -> None:
    lora = next(s for s in results["strategies"] if s["name"] == "lora")
    lora["details"]["probes"]["knowledge_retained"] = _m(1.0, 0.4, -0.75, -0.45)
    table = next(t for t in hallucination_section(results)["tables"] if t["name"] == "lora")
    assert not any(n.startswith("Format takeover") for n in table["notes"])


def test_older_runs_still_show_general_knowledge(results: dict) -> None:
    old = json.loads(FIXTURE.read_text(encoding="utf-8"))
    table = next(t for t in hallucination_section(old)["tables"] if t["name"] == "lora")
    row = next(r for r in table["rows"] if r["label"].startswith("general-knowledge accuracy"))
    assert (row["before"], row["after"]) == ("1.000", "0.000")
    assert not table["notes"]  # no likelihood measure: no takeover claim either way


def test_probes_plot_orders_and_marks_no_room(results: dict) -> None:
    lora_result = next(s for s in results["strategies"] if s["name"] == "lora")
    lora_result["details"]["probes"]["knowledge_retained"]["chance"] = 0.25
    rows = probe_rows(results["strategies"])
    lora = [r.label.split("\n")[0] for r in rows if r.strategy == "lora"]
    assert lora[:2] == ["lora: knowledge retained (likelihood)", "lora: answers open questions"]
    assert "lora: fabrication rate (lower is better) (no room: see table)" in lora
    assert "lora: task: confident wrong (lower is better)" in lora
    assert [r.chance for r in rows if r.key == "knowledge_retained"] == [0.25]
    plot = probes_plot(results["strategies"])
    assert plot is not None
    assert "a drop is forgetting" in plot.caption and "format takeover" in plot.caption
    assert "guessing" in plot.caption and "older run" not in plot.caption
    assert "stroke: #cf222e" in plot.svg  # the chance mark is drawn


def test_probes_plot_reads_an_older_run(results: dict) -> None:
    old = json.loads(FIXTURE.read_text(encoding="utf-8"))
    rows = probe_rows(old["strategies"])
    forgetting = next(r for r in rows if r.key == "forgetting")
    assert forgetting.label.startswith("lora: general knowledge by generation (older run)")
    assert (forgetting.before, forgetting.after, forgetting.chance) == (1.0, 0.0, None)
    plot = probes_plot(old["strategies"])
    assert plot is not None and "Runs before the likelihood probe" in plot.caption
    assert "guessing" not in plot.caption and "stroke: #cf222e" not in plot.svg
