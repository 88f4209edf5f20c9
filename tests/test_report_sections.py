"""The report's Cost, Fine-tuning and Hallucination-and-forgetting sections."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path

import pytest

from shouldtune.report import render_html, render_markdown
from shouldtune.report.sections import all_sections

FIXTURE = Path(__file__).parent / "fixtures" / "results_sections.json"
HEADINGS = ("## Cost", "## Fine-tuning", "## Hallucination and forgetting")
HTML_IDS = ('id="cost"', 'id="fine-tuning"', 'id="hallucination"')
NASTY = "x <script>alert(1)</script> | pipe | **bold** `tick`"


@pytest.fixture
def results() -> dict:
    """A real ticket-codes run (lora, lr sweep, learning curve, SliCK, probes), trimmed."""
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _lora(results: dict) -> dict:
    return next(s for s in results["strategies"] if s["name"] == "lora")


def _md_section(md: str, heading: str) -> str:
    start = md.index(f"\n{heading}\n")
    end = md.find("\n## ", start + 1)
    return md[start : end if end != -1 else len(md)]


def _html_section(page: str, anchor_id: str) -> str:
    start = page.index(f'id="{anchor_id}"')
    return page[start : page.find("<h2", start + 1)]


def _md_rows(section: str, header_start: str) -> list[str]:
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def _cells(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def _probe(before: float, after: float, lo: float, hi: float, n: int = 40) -> dict:
    return {"before": before, "after": after, "diff": after - before, "ci_low": lo,
            "ci_high": hi, "n": n}  # fmt: skip


def test_real_run_shows_all_three_sections_in_both_reports(results: dict) -> None:
    md, page = render_markdown(results, {}), render_html(results, {})
    for heading in HEADINGS:
        assert f"\n{heading}\n" in md
    for anchor in HTML_IDS:
        assert anchor in page
    # Between the strategy table and the setup, in this order.
    positions = [md.index(h) for h in ("## Strategies", *HEADINGS, "## Setup")]
    assert positions == sorted(positions)
    for text in (md, page):
        assert "0.0844 USD" in text and "14.8 GFLOP" in text and "6.42 TFLOP" in text
        assert "0.0493 USD" in text  # training cost
        assert "machine time: 1.00 USD per hour" in text
        assert "2,442,240 of 136,957,248 (1.78%)" in text
        assert "training tokens: 7,957" in text and "94.4 tokens/s" in text
        assert "0.5% with length-bucketed batches (5.5% with random batches)" in text
        assert "final dev loss: 0.0571" in text and "stopped early: no" in text
        assert "3,339 MB RSS" in text and "saved to: trained/lora" in text
        assert "Unknown share: 100%" in text and "150.2 s" in text
        assert "Warning: 100% of the 24 training examples analysed are Unknown" in text


def test_cost_table_row_per_strategy(results: dict) -> None:
    results["strategies"].append(copy.deepcopy(_lora(results)) | {"name": "zero_shot"})
    results["strategies"][-1]["kind"] = "prompting"
    results["strategies"][-1]["cost"] |= {"basis": "api", "api_cost_per_1k_requests": 0.0123,
                                          "cost_per_1k_requests": 0.0123}  # fmt: skip
    cost = _md_section(render_markdown(results, {}), "## Cost")
    rows = _md_rows(cost, "| strategy | cost per 1,000 requests")
    assert len(rows) == 2 and {_cells(r) for r in rows} == {8}
    assert rows[0].startswith("| lora | 0.0844 USD | machine |")
    assert rows[1].startswith("| zero_shot | 0.0123 USD | api (machine: 0.0844 USD) |")
    assert "| 0.304 | 14.8 GFLOP | 177.6 | 0.0493 USD | 6.42 TFLOP |" in rows[0]


def test_break_even_in_requests_and_days(results: dict) -> None:
    results["cost"]["prices"] |= {"requests_per_day": 500, "api_input_per_million": 0.15,
                                  "api_output_per_million": 0.6}  # fmt: skip
    results["cost"]["break_even"] = [
        {"strategy": "lora", "versus": "few_shot_knn", "requests": 1234, "days_at_volume": 2.468,
         "training_cost": 0.04934, "saving_per_1k_requests": 0.04},
        {"strategy": "full_ft", "versus": "few_shot_knn", "requests": None,
         "days_at_volume": None, "training_cost": 1.5, "saving_per_1k_requests": -0.02},
    ]  # fmt: skip
    md = _md_section(render_markdown(results, {}), "## Cost")
    page = _html_section(render_html(results, {}), "cost")
    for text in (md, page):
        assert (
            "lora pays back its training (0.0493 USD) against few_shot_knn after 1,234 requests"
            " (saving 0.0400 USD per 1,000 requests; 2.5 days at your volume of 500 requests"
            " a day)." in text
        )
        assert "full_ft never pays back its training (1.50 USD) against few_shot_knn" in text
        assert "hosted API: 0.150 USD per million input tokens, 0.600 USD per million" in text
        assert "volume: 500 requests a day" in text


def test_break_even_without_volume_gives_no_days(results: dict) -> None:
    results["cost"]["break_even"] = [
        {"strategy": "lora", "versus": "rag", "requests": 0, "days_at_volume": None,
         "training_cost": 0.0, "saving_per_1k_requests": 0.5},
    ]  # fmt: skip
    md = _md_section(render_markdown(results, {}), "## Cost")
    assert "lora pays back its training (0 USD) against rag after 0 requests" in md
    assert "days" not in md


def test_chosen_learning_rate_is_marked(results: dict) -> None:
    _lora(results)["details"]["lr_sweep_note"] = "The lowest dev loss came at the largest rate."
    md = _md_section(render_markdown(results, {}), "## Fine-tuning")
    rows = _md_rows(md, "| learning rate | dev loss |")
    assert [r for r in rows if "chosen" in r] == ["| **0.003** ← chosen | 2.6913 | 3 | 21.5 |"]
    assert rows[0] == "| 0.00033 | 4.9307 | 3 | 34.2 |"
    assert "The lowest dev loss came at the largest rate." in md
    page = _html_section(render_html(results, {}), "fine-tuning")
    assert page.count('<tr class="chosen">') == 1
    chosen_row = page[page.index('<tr class="chosen">') :].split("</tr>")[0]
    assert "0.003" in chosen_row and "chosen" in chosen_row
    assert "The lowest dev loss came at the largest rate." in page


def test_learning_curve_points_and_statement(results: dict) -> None:
    statement = _lora(results)["details"]["learning_curve_statement"]
    assert statement.startswith("Still rising")
    md = _md_section(render_markdown(results, {}), "## Fine-tuning")
    rows = _md_rows(md, "| share of training data |")
    assert rows == [
        "| 25% | 36 | 0.000 (0.000–0.000) |",
        "| 50% | 72 | 0.050 (0.000–0.125) |",
        "| 100% | 144 | 0.925 (0.825–1.000) |",
    ]
    assert f"More data? {statement}" in md
    page = _html_section(render_html(results, {}), "fine-tuning")
    assert statement in page and '<td class="num">144</td>' in page


def test_significant_harm_is_flagged_and_noise_is_not(results: dict) -> None:
    probes = _lora(results)["details"]["probes"]
    probes["fabrication_rate"] = _probe(0.5, 0.8, 0.1, 0.45)  # significantly more fabrication
    probes["forgetting"] = _probe(0.9, 0.85, -0.12, 0.02, n=60)  # CI spans zero: not flagged
    probes["answerable_accuracy"] = _probe(0.5, 0.2, -0.45, -0.1)  # the verdict ignores this
    md = _md_section(render_markdown(results, {}), "## Hallucination and forgetting")
    rows = {r.split(" | ")[0][2:]: r for r in _md_rows(md, "| probe | before |")}
    assert {_cells(r) for r in rows.values()} == {7}
    assert rows["fabrication rate (unanswerable questions answered anyway)"] == (
        "| fabrication rate (unanswerable questions answered anyway) | 0.500 | 0.800 | +0.300"
        " | +0.100 to +0.450 | 40 | ⚠ yes |"
    )
    assert rows["general-knowledge accuracy (forgetting)"].endswith("| 60 |  |")
    assert rows["answerable accuracy"].endswith("|  |")
    page = _html_section(render_html(results, {}), "hallucination")
    assert page.count('<tr class="harm">') == 1 and page.count("significantly worse") == 1
    assert (
        page.index('<tr class="harm">')
        < page.index("fabrication rate")
        < page.index("significantly worse")
    )


@pytest.mark.parametrize(
    ("key", "m", "harmful"),
    [
        ("fabrication_rate", {"ci_low": 0.01, "ci_high": 0.2}, True),
        ("fabrication_rate", {"ci_low": 0.0, "ci_high": 0.2}, False),
        ("fabrication_rate", {"ci_low": -0.3, "ci_high": -0.1}, False),
        # The generation probe measures format takeover, not lost knowledge: not a harm.
        ("forgetting", {"ci_low": -0.3, "ci_high": -0.01}, False),
        ("forgetting", {"ci_low": 0.1, "ci_high": 0.3}, False),
        ("abstention_rate", {"ci_low": 0.1, "ci_high": 0.3}, False),
        ("forgetting", {"ci_low": None, "ci_high": math.nan}, False),
    ],
)
def test_report_flags_exactly_what_the_verdict_names(results: dict, key, m, harmful) -> None:
    from shouldtune.core.types import Quality, StrategyResult
    from shouldtune.core.verdict import probe_harms

    m = {"before": 0.5, "after": 0.6, "diff": 0.1, **m}
    tuned = StrategyResult(
        "lora", "fine-tuning", Quality("em", 1, 1, 1), {}, 0, 0, 0, 0, 0, "",
        details={"probes": {key: m}},
    )  # fmt: skip
    assert bool(probe_harms(tuned)) == harmful  # the verdict names it...
    _lora(results)["details"]["probes"] = {key: m}
    md = _md_section(render_markdown(results, {}), "## Hallucination and forgetting")
    assert ("⚠ yes" in md) == harmful  # ...exactly when the report flags it


def test_skipped_probes_say_why(results: dict) -> None:
    _lora(results)["details"]["probes"] = {"skipped": "no probe items"}
    md = _md_section(render_markdown(results, {}), "## Hallucination and forgetting")
    assert "Not probed: no probe items" in md and "| probe | before |" not in md


def _strip_sections(results: dict) -> dict:
    for key in ("cost", "knowledge", "probes"):
        results.pop(key)
    for s in results["strategies"]:
        s.pop("cost")
        s["details"] = {"method": "lora", "train_examples": 144}
    return results


def test_older_results_render_without_the_sections(results: dict) -> None:
    old = _strip_sections(results)
    minimal = {"task": {"name": "t"}, "verdict": None, "strategies": [{"name": "zero_shot"}]}
    for r in (old, minimal):
        md, page = render_markdown(r, {}), render_html(r, {})
        assert not [h for h in HEADINGS if h in md]
        assert not [a for a in HTML_IDS if a in page]
        assert "## Strategies" in md and "## Setup" in md
        assert all_sections(r) == {"cost": None, "finetunes": [], "hallucination": None,
                                   "tuning": None}  # fmt: skip


def test_each_section_appears_alone(results: dict) -> None:
    only_cost = _strip_sections(copy.deepcopy(results))
    only_cost["cost"] = results["cost"]
    md = render_markdown(only_cost, {})
    assert [h for h in HEADINGS if h in md] == ["## Cost"]
    only_knowledge = _strip_sections(copy.deepcopy(results))
    only_knowledge["knowledge"] = results["knowledge"]
    md = render_markdown(only_knowledge, {})
    assert [h for h in HEADINGS if h in md] == ["## Hallucination and forgetting"]
    assert "| Unknown | 24 |" in md and "| probe | before |" not in md


def test_malformed_values_do_not_break_the_report(results: dict) -> None:
    lora = _lora(results)
    lora["cost"] = {"cost_per_1k_requests": "cheap", "flops_per_request": None, "basis": 3}
    training = lora["details"]["training"]
    training |= {"final_dev_loss": math.nan, "final_train_loss": None, "tokens_per_s": "fast"}
    lora["details"]["lr_sweep"] = [{"learning_rate": None, "dev_loss": None}, "junk"]
    lora["details"]["learning_curve"] = [{"fraction": "half"}, 7]
    lora["details"]["probes"]["fabrication_rate"] = {"before": None, "ci_low": "x"}
    results["cost"]["break_even"] = [{"requests": "many"}, None]
    results["knowledge"] = {"categories": {"Unknown": None}, "unknown_share": math.inf}
    md, page = render_markdown(results, {}), render_html(results, {})
    for heading in HEADINGS:
        assert heading in md
    assert "final dev loss" not in md and "throughput" not in md
    assert not re.search(r"\bnan\b|\binf\b", md.lower())
    assert "| – | not finite | – | – |" in md  # the sweep row with nothing usable
    assert "| – | – | – |" in md  # the learning-curve point with nothing usable
    assert "Unknown share: –" in md
    assert "Break-even" not in md  # "many" requests is no count: no sentence rather than "never"
    assert 'id="cost"' in page


def test_untrusted_names_and_text_are_escaped(results: dict) -> None:
    lora = _lora(results)
    lora["name"] = NASTY
    lora["details"]["learning_curve_statement"] = NASTY
    lora["details"]["lr_sweep_note"] = NASTY
    lora["details"]["saved_to"] = NASTY
    results["knowledge"]["warning"] = NASTY
    results["probes"]["note"] = NASTY
    results["cost"]["break_even"] = [
        {"strategy": NASTY, "versus": NASTY, "requests": 5, "days_at_volume": None,
         "training_cost": 0.1, "saving_per_1k_requests": 0.02},
    ]  # fmt: skip
    page = render_html(results, {})
    assert "<script>alert" not in page
    assert page.lower().count("<script") == 1  # ours only
    for anchor in ("cost", "fine-tuning", "hallucination"):
        assert "x &lt;script&gt;alert(1)&lt;/script&gt; | pipe |" in _html_section(page, anchor)
    md = render_markdown(results, {})
    assert "<script>" not in md
    for heading in HEADINGS:
        section = _md_section(md, heading)
        assert "x &lt;script&gt;alert(1)&lt;/script&gt; \\| pipe \\| \\*\\*bold\\*\\*" in section
    cost_rows = _md_rows(_md_section(md, "## Cost"), "| strategy | cost per 1,000")
    probe_rows = _md_rows(_md_section(md, "## Hallucination and forgetting"), "| probe |")
    assert {_cells(r) for r in cost_rows} == {8} and {_cells(r) for r in probe_rows} == {7}
    assert "### x &lt;script&gt;" in md  # the fine-tune's heading, escaped
