import json
import re
from pathlib import Path

import pytest

from shouldtune.report import load_samples, render_html, render_markdown, write_reports

NASTY = "hello <script>alert(1)</script> </textarea> | pipes |\nsecond line `tick` **bold**"


def _strategy(name: str, kind: str, score: float, train_s: float = 0.0) -> dict:
    return {
        "name": name,
        "kind": kind,
        "quality": {
            "metric": "exact_match",
            "score": score,
            "ci_low": max(0.0, score - 0.1),
            "ci_high": min(1.0, score + 0.1),
        },
        "latency_ms": {"p50": 812.0, "p95": 1290.5},
        "tokens_per_s": 48.2,
        "prompt_tokens_mean": 61.3,
        "train_seconds": train_s,
        "eval_seconds": 22.1,
        "peak_rss_mb": 1210.4,
        "predictions_file": f"predictions/{name}.jsonl",
        "details": {"k": 4},
    }


def _results(fine_tune: bool = False, test_is_split: bool = False) -> dict:
    headline = (
        "Verdict: fine-tune — use lora (driver: quality)"
        if fine_tune
        else "Verdict: don't fine-tune — use few_shot_knn"
    )
    return {
        "schema_version": 2,
        "created": "2026-11-25T12:00:00Z",
        "shouldtune_version": "0.1.0",
        "task": {
            "name": "ticket-codes",
            "description": "Map tickets to codes",
            "n_train": 160,
            "n_test": 40,
            "metric": "exact_match",
            "test_is_split": test_is_split,
            "n_docs": 0,
        },
        "model": {"name": "smollm2-135m-instruct", "parameters": 134515008},
        "run": {"seed": 0, "quick": False, "wall_seconds": 412.3},
        "verdict": {
            "fine_tune": fine_tune,
            "recommended": "lora" if fine_tune else "few_shot_knn",
            "best": "lora",
            "reasons": ["Best quality: lora scored 0.900.", "Second reason."],
            "not_worse_than_best": ["lora", "few_shot_knn"],
            "headline": headline,
        },
        "strategies": [
            _strategy("zero_shot", "prompting", 0.05),
            _strategy("few_shot_knn", "prompting", 0.85),
            _strategy("lora", "fine-tuning", 0.9, train_s=120.5),
        ],
        "skipped": [{"name": "rag", "reason": "no docs/ folder with .md or .txt files"}],
        "audit": None,
    }


def _row(i: int, score: float, text: str = "ticket text") -> dict:
    return {
        "index": i,
        "source": f"test.jsonl:{i + 1}",
        "input": text,
        "expected": "A-1",
        "predicted": "A-1" if score == 1.0 else "B-2",
        "score": score,
        "prompt_tokens": 61,
        "new_tokens": 9,
    }


def _write_predictions(run_dir: Path, results: dict, rows: list[dict]) -> None:
    for s in results["strategies"]:
        path = run_dir / s["predictions_file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _table_lines(md: str, header_start: str) -> list[str]:
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def _cells(line: str) -> int:
    # A GFM cell boundary is any "|" not escaped with a backslash.
    return len(re.findall(r"(?<!\\)\|", line)) - 1


@pytest.mark.parametrize("fine_tune", [False, True])
def test_verdict_comes_before_strategy_table(fine_tune: bool) -> None:
    results = _results(fine_tune=fine_tune)
    sentence = (
        "Verdict: fine-tune — use lora (driver: quality)"
        if fine_tune
        else ("Verdict: don't fine-tune — use few_shot_knn")
    )
    md = render_markdown(results, {})
    page = render_html(results, {})
    assert f"**{sentence}**" in md
    assert md.index(sentence) < md.index("| strategy |")
    assert md.index("Second reason.") < md.index("| strategy |")
    html_sentence = sentence.replace("'", "&#39;")
    assert html_sentence in page
    assert page.index(html_sentence) < page.index('<table class="strategies">')


def test_every_strategy_and_score_appears() -> None:
    results = _results()
    md = render_markdown(results, {})
    page = render_html(results, {})
    for text in (md, page):
        for name, score in (("zero_shot", "0.050"), ("few_shot_knn", "0.850"), ("lora", "0.900")):
            assert name in text
            assert score in text
        assert "0.800–1.000" in text  # lora's CI
    rows = _table_lines(md, "| strategy |")[2:]
    assert len(rows) == 3
    assert [r for r in rows if "recommended" in r] == [next(r for r in rows if "few_shot_knn" in r)]
    assert page.count('<tr class="strategy') == 3
    assert page.count('<tr class="strategy recommended">') == 1


def test_skipped_and_split_note() -> None:
    results = _results(test_is_split=True)
    for text in (render_markdown(results, {}), render_html(results, {})):
        assert "no test.jsonl: the test set is a seeded 20% split of train.jsonl" in text
        assert "rag" in text and "no docs/ folder with .md or .txt files" in text
    assert "seeded" not in render_markdown(_results(test_is_split=False), {})


def test_untrusted_text_is_escaped(tmp_path: Path) -> None:
    results = _results()
    results["verdict"]["reasons"].append("reason with <script>alert(1)</script>")
    results["task"]["name"] = "t|<b>x</b>"
    rows = [_row(0, 1.0, NASTY), _row(1, 0.0, NASTY), _row(2, 0.0, "plain")]
    _write_predictions(tmp_path, results, rows)
    samples = load_samples(results, tmp_path, 5)

    page = render_html(results, samples)
    assert "<script>alert" not in page
    assert "</textarea>" not in page
    assert "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;/textarea&gt;" in page
    # One script, ours (allowed by hash in the CSP); no external URLs but SVG namespaces.
    assert page.lower().count("<script") == 1 and "<script>(function" in page
    assert not re.findall(r"https?://(?!www\.w3\.org/)", page)

    md = render_markdown(results, samples)
    assert "<script>" not in md and "</textarea>" not in md
    table = _table_lines(md, "| # |")  # the first sample table
    assert len(table) == 2 + 3  # header, separator, one line per sample
    assert {_cells(line) for line in table} == {6}
    for line in table[2:]:
        assert "\n" not in line
    assert "\\| pipes \\|" in md
    strategy_rows = _table_lines(md, "| strategy |")
    assert len(strategy_rows) == 2 + 3
    assert {_cells(line) for line in strategy_rows} == {9}


def test_every_sample_table_keeps_its_shape(tmp_path: Path) -> None:
    results = _results()
    _write_predictions(tmp_path, results, [_row(i, float(i % 2), NASTY) for i in range(8)])
    md = render_markdown(results, load_samples(results, tmp_path, 4))
    sample_rows = [
        line for line in md.splitlines() if line.startswith("| ") and "test.jsonl:" in line
    ]
    assert len(sample_rows) == 3 * 4
    assert {_cells(line) for line in sample_rows} == {6}


def test_load_samples_mixes_right_and_wrong(tmp_path: Path) -> None:
    results = _results()
    rows = [_row(i, 1.0 if i < 15 else 0.0) for i in range(20)]
    _write_predictions(tmp_path, results, rows)
    samples = load_samples(results, tmp_path, 5)
    assert set(samples) == {"zero_shot", "few_shot_knn", "lora"}
    picked = samples["lora"]
    assert len(picked) == 5
    scores = [r["score"] for r in picked]
    assert 1.0 in scores and 0.0 in scores
    indices = [r["index"] for r in picked]
    assert indices == sorted(indices) and len(set(indices)) == 5
    assert load_samples(results, tmp_path, 5) == samples  # deterministic


def test_load_samples_edge_cases(tmp_path: Path) -> None:
    results = _results()
    _write_predictions(tmp_path, results, [_row(i, 1.0) for i in range(3)])
    # All right and fewer rows than asked for: take what exists.
    assert [r["index"] for r in load_samples(results, tmp_path, 5)["lora"]] == [0, 1, 2]
    (tmp_path / "predictions" / "lora.jsonl").write_text('{"index": 0, "score": 0}\nnot json\n')
    assert len(load_samples(results, tmp_path, 5)["lora"]) == 1
    (tmp_path / "predictions" / "lora.jsonl").unlink()
    assert load_samples(results, tmp_path, 5)["lora"] == []


def test_write_reports_is_atomic_and_clean(tmp_path: Path) -> None:
    results = _results()
    _write_predictions(tmp_path, results, [_row(i, float(i % 2)) for i in range(6)])
    (tmp_path / "report.md").write_text("stale", encoding="utf-8")
    before = set(tmp_path.iterdir())
    md_path, html_path = write_reports(results, tmp_path, samples_per_strategy=2)
    assert (md_path, html_path) == (tmp_path / "report.md", tmp_path / "report.html")
    plots = tmp_path / "plots"
    assert set(tmp_path.iterdir()) == before | {html_path, plots}
    assert {p.name for p in plots.iterdir()} == {"scatter.svg", "quality.svg", "latency.svg"}
    assert "](plots/scatter.svg)" in md_path.read_text(encoding="utf-8")
    md = md_path.read_text(encoding="utf-8")
    assert md != "stale" and "Sample predictions" in md
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_tolerates_missing_optional_keys() -> None:
    minimal = {
        "task": {"name": "t"},
        "verdict": None,
        "strategies": [{"name": "zero_shot", "quality": {"score": 0.5}}],
    }
    md = render_markdown(minimal, {})
    page = render_html(minimal, {})
    assert "No verdict" in md and "No verdict" in page
    assert "zero_shot" in md and "0.500" in page


def test_results_of_the_previous_schema_still_render_marked_as_older() -> None:
    from shouldtune.core.verdict import headline_of

    def old(verdict, strategies):
        return {"verdict": verdict, "strategies": strategies}

    verdict = {"fine_tune": False, "recommended": "lora"}
    only_tuned = [{"name": "lora", "kind": "fine-tuning"}, {"name": "full", "kind": "fine-tuning"}]
    assert headline_of(old(verdict, only_tuned)) == (
        "No verdict on fine-tuning: only fine-tunes were run — the best is lora (older results)"
    )
    mixed = [*only_tuned, {"name": "zero_shot", "kind": "prompting"}]
    assert headline_of(old(verdict, mixed)) == (
        "Verdict: don't fine-tune — use lora (older results)"
    )
    failed = [{"name": n, "kind": "prompting", "quality": {"score": 0.0}} for n in ("a", "b")]
    assert headline_of(old({"fine_tune": False, "recommended": "a"}, failed)) == (
        "No verdict: no strategy got a single test example right (older results)"
    )
    results = _results(fine_tune=True)
    results["schema_version"] = 1
    del results["verdict"]["headline"]
    md = render_markdown(results, {})
    assert "**Verdict: fine-tune — use lora (older results)**" in md


def test_the_report_prints_the_confidence_level_the_intervals_were_computed_at(monkeypatch):
    # Issue 22: CONFIDENCE 0.95 -> 0.90 left the report printing "95%". Every interval
    # heading, the plots and the verdict's sentence read core.stats.CONFIDENCE.
    import shouldtune.core.stats as stats

    results = _results()
    md, page = render_markdown(results, {}), render_html(results, {})
    assert "| strategy | kind | exact_match (95% CI) |" in md
    assert "lora scores 0.900 exact_match (95% CI 0.800–1.000)" in md
    assert "95% CI" in page and "90% CI" not in page
    monkeypatch.setattr(stats, "CONFIDENCE", 0.9)
    md, page = render_markdown(results, {}), render_html(results, {})
    assert "| strategy | kind | exact_match (90% CI) |" in md
    assert "lora scores 0.900 exact_match (90% CI 0.800–1.000)" in md
    for text in (md, page):
        assert "95%" not in text and "90% CI" in text
