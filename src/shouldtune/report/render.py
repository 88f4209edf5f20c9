"""Render results.json into report.md and report.html.

Dataset text (inputs, expected, predictions) is untrusted: HTML relies on jinja2 autoescaping
plus a Content-Security-Policy that lets only our own hashed script run; Markdown escapes every
interpolated string through `md_inline` / `md_cell`. The only raw markup embedded is the SVG of
the plots, which matplotlib writes (text escaped) and `plots.safe_svg` checks.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from ..core.fileio import atomic_write_text
from ..core.stats import level_label
from ..core.verdict import headline_of
from .browse import Browser, build_browser, disagreements, is_correct, truncate
from .decision import decision_sections
from .numbers import clamp01, num
from .plots import Plot, all_plots
from .sections import all_sections

TEMPLATES = Path(__file__).parent / "templates"
BROWSE_JS = (TEMPLATES / "browse.js").read_text(encoding="utf-8")
MD_DISAGREEMENTS = 10  # examples listed in report.md's disagreement section
# Intraword "_" cannot start emphasis in CommonMark, so names like few_shot_knn stay readable.
_MD_PUNCT = re.compile(r"([\\`*\[\]|~#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_MD_BLOCK_START = re.compile(r"^(\d+)([.)])(?=\s|$)|^([-+])(?=\s|$)")


def md_inline(value: Any) -> str:
    """Text safe inside a Markdown paragraph, list item or heading: no markup, one line."""
    text = " ".join(str(value).split())
    text = _MD_PUNCT.sub(r"\\\1", html.escape(text, quote=False))
    # A leading "1." or "-" would otherwise start a nested list.
    return _MD_BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)


def md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: like md_inline but keeps line breaks as <br>."""
    lines = str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(md_inline(line) for line in lines)


def _score(value: Any) -> str:
    return num(value, ".3f")


def verdict_why(results: dict) -> str:
    """One sentence with the numbers behind the verdict: the pick, and the best if different."""
    verdict = results.get("verdict") or {}
    by_name = {s.get("name"): s for s in results.get("strategies") or [] if isinstance(s, dict)}
    parts = []
    for label, name in (("", verdict.get("recommended")), ("the best, ", verdict.get("best"))):
        s = by_name.get(name)
        if s is None or (label and name == verdict.get("recommended")):
            continue
        q, lat = s.get("quality") or {}, s.get("latency_ms") or {}
        train = s.get("train_seconds")
        cost = f"{num(train, '.0f')} s of training" if train else "no training"
        parts.append(
            f"{label}{name} scores {_score(q.get('score'))} {q.get('metric', '')}"
            f" ({level_label()} CI {_score(q.get('ci_low'))}–{_score(q.get('ci_high'))}) at "
            f"{num(lat.get('p50'), '.0f')} ms per request with {cost}"
        )
    return ("; ".join(parts) + ".") if parts else ""


def _strategy_row(s: dict, verdict: dict) -> dict[str, Any]:
    quality = s.get("quality") or {}
    latency = s.get("latency_ms") or {}
    score, lo, hi = quality.get("score"), quality.get("ci_low"), quality.get("ci_high")
    return {
        "name": str(s.get("name", "?")),
        "kind": str(s.get("kind", "")),
        "metric": str(quality.get("metric", "")),
        "recommended": s.get("name") == verdict.get("recommended"),
        "best": s.get("name") == verdict.get("best"),
        "tied": s.get("name") in (verdict.get("not_worse_than_best") or []),
        "score": _score(score),
        "ci": f"{_score(lo)}–{_score(hi)}",
        "p50": num(latency.get("p50"), ".0f"),
        "p95": num(latency.get("p95"), ".0f"),
        "tokens_per_s": num(s.get("tokens_per_s"), ".1f"),
        "prompt_tokens": num(s.get("prompt_tokens_mean"), ".1f"),
        "train_s": num(s.get("train_seconds"), ".1f"),
        "eval_s": num(s.get("eval_seconds"), ".1f"),
        "rss_mb": num(s.get("peak_rss_mb"), ".0f") + _gpu_mb(s.get("details")),
        # Bar geometry in percent of [0, 1]; metrics are per-example scores in that range.
        "bar": {
            "score": round(clamp01(score) * 100, 2),
            "lo": round(clamp01(lo if lo is not None else score) * 100, 2),
            "hi": round(clamp01(hi if hi is not None else score) * 100, 2),
        },
        "details": ", ".join(f"{k}={v}" for k, v in (s.get("details") or {}).items() if _short(v)),
        "details_json": truncate(json.dumps(s.get("details") or {}, indent=2, default=str), 20_000)
        if s.get("details")
        else "",
    }


def _short(value: Any) -> bool:
    """Scalars only in the one-line summary; nested training reports go to the details block."""
    return not isinstance(value, dict | list) and len(str(value)) <= 80


def _sample_row(row: dict) -> dict[str, Any]:
    score = row.get("score")
    return {
        "index": row.get("index", ""),
        "source": str(row.get("source", "")),
        "input": truncate(row.get("input")),
        "expected": truncate(row.get("expected")),
        "predicted": truncate(row.get("predicted")),
        "score": _score(score),
        "correct": is_correct(score),
    }


def _params(n: Any) -> str:
    if not isinstance(n, int | float) or n <= 0:
        return ""
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"


def build_context(
    results: dict,
    samples: dict[str, list[dict]],
    browser: Browser | None = None,
    plots: list[Plot] | None = None,
) -> dict[str, Any]:
    """Everything both templates show, already formatted."""
    browser = browser or build_browser(samples)
    task = results.get("task") or {}
    model = results.get("model") or {}
    run = results.get("run") or {}
    verdict = results.get("verdict") or {}
    strategies = [_strategy_row(s, verdict) for s in results.get("strategies") or []]
    split_note = ""
    if task.get("test_is_split"):
        n_train, n_test = task.get("n_train") or 0, task.get("n_test") or 0
        fraction = task.get("test_fraction") or (n_test / (n_train + n_test) if n_test else 0)
        split_note = (
            f"no test.jsonl: the test set is a seeded {fraction * 100:.0f}% split of train.jsonl"
        )
    metric = task.get("metric") or next((s["metric"] for s in strategies if s["metric"]), "")
    return {
        "title": f"shouldtune report: {task.get('name', 'unnamed task')}",
        "level": level_label(),  # every interval's confidence level: core.stats.CONFIDENCE
        "task": task,
        "metric": metric,
        "model_name": str(model.get("name", "")),
        "model_params": _params(model.get("parameters")),
        "hardware": _hardware(model.get("hardware")),
        "seed": run.get("seed", ""),
        "quick": bool(run.get("quick")),
        "wall": num(run.get("wall_seconds"), ".0f"),
        "created": str(results.get("created", "")),
        "version": str(results.get("shouldtune_version", "")),
        "verdict_sentence": headline_of(results),
        "verdict_why": verdict_why(results),
        "fine_tune": bool(verdict.get("fine_tune")),
        "reasons": [str(r) for r in verdict.get("reasons") or []],
        "split_note": split_note,
        "skipped": [
            {"name": str(s.get("name", "?")), "reason": str(s.get("reason", ""))}
            for s in results.get("skipped") or []
        ],
        "audit": _audit_rows(results.get("audit")),
        "strategies": strategies,
        "samples": [
            {"strategy": s, "rows": [_sample_row(r) for r in samples.get(s["name"], [])]}
            for s in strategies
            if samples.get(s["name"])
        ],
        "plots": all_plots(results) if plots is None else plots,
        "browser": browser,
        "disagreements": disagreements(browser, MD_DISAGREEMENTS),
        **all_sections(results),
        **decision_sections(results),
    }


SEVERITY_ORDER = {"blocking": 0, "warning": 1, "info": 2}


def _audit_rows(audit: dict | None) -> dict[str, Any] | None:
    """Findings worth a reader's time: everything but the empty info rows."""
    if not audit:
        return None
    findings = [
        f for f in audit.get("findings") or [] if f.get("severity") != "info" or f.get("count")
    ]
    findings.sort(key=lambda f: SEVERITY_ORDER.get(f.get("severity", "info"), 3))
    rows = [
        {
            "severity": str(f.get("severity", "")),
            "check": str(f.get("check", "")),
            "count": f.get("count", 0),
            "message": str(f.get("message", "")),
            "examples": [_audit_example(e) for e in (f.get("examples") or [])[:5]],
        }
        for f in findings
    ]
    summary = audit.get("summary") or {}
    return {
        "rows": rows,
        "blocking": summary.get("blocking", 0),
        "warning": summary.get("warning", 0),
        "seconds": num(audit.get("seconds"), ".1f"),
    }


def _gpu_mb(details: Any) -> str:
    """Peak GPU memory beside peak RSS, when the strategy ran on a GPU."""
    gpu = details.get("peak_gpu_memory_mb") if isinstance(details, dict) else None
    if not isinstance(gpu, dict):
        return ""
    allocated, reserved = num(gpu.get("allocated"), ".0f"), num(gpu.get("reserved"), ".0f")
    return f" (GPU {allocated} allocated, {reserved} reserved)"


def _hardware(hw: Any) -> str:
    """One line: where the models ran, in which precision, on what, by which engine."""
    if not isinstance(hw, dict):
        return ""
    gpu = hw.get("gpu") if isinstance(hw.get("gpu"), dict) else None
    parts = [f"{hw.get('device', '?')}, {hw.get('dtype', '?')}"]
    if gpu:
        memory = f", {gpu['memory_gb']} GB" if gpu.get("memory_gb") else ""
        parts.append(f"GPU {gpu.get('name', '?')}{memory}")
    elif hw.get("cpu"):
        parts.append(f"CPU {hw['cpu']} ({hw.get('cpu_cores', '?')} cores)")
    if hw.get("engine"):
        parts.append(f"engine {hw['engine']}")
    backoffs = hw.get("oom_backoffs") or []
    if backoffs:
        parts.append(f"{len(backoffs)} out-of-memory back-offs (batch halved)")
    return "; ".join(str(x) for x in parts)


def _audit_example(e: Any) -> str:
    """Where, what, and — for a training answer the documents contradict — what they say."""
    if not isinstance(e, dict):
        return truncate(str(e), 160)
    text = f"{e.get('source', '')} {e.get('excerpt', '')}".strip()
    if e.get("doc"):
        said = f" says {e['doc_value']}" if e.get("doc_value") else ""
        text += f" (documents: {e['doc']}{said})"
    return truncate(text, 200)


def _env(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_inline
    env.filters["cell"] = md_cell
    return env


def content_security_policy(script: str) -> str:
    """Nothing loads from the network; the one inline script allowed is ours, by hash, so
    an injected script or event handler would not run even if escaping ever failed."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def render_markdown(
    results: dict,
    samples: dict[str, list[dict]],
    browser: Browser | None = None,
    plot_files: list[tuple[str, str]] | None = None,
) -> str:
    """report.md; plot_files: (title, image path relative to the report) of each figure."""
    context = build_context(results, samples, browser, plots=[])
    context["plot_files"] = plot_files or []
    return _env(False).get_template("report.md.j2").render(**context)


def render_html(
    results: dict,
    samples: dict[str, list[dict]],
    browser: Browser | None = None,
    plots: list[Plot] | None = None,
) -> str:
    context = build_context(results, samples, browser, plots)
    context["plots"] = [
        {"id": p.id, "title": p.title, "caption": p.caption, "svg": Markup(p.svg)}
        for p in context["plots"]
    ]
    context["script"] = Markup(BROWSE_JS)
    context["csp"] = content_security_policy(BROWSE_JS)
    return _env(True).get_template("report.html.j2").render(**context)


def _spread(items: list[int], k: int) -> list[int]:
    """k items evenly spaced over the list, so samples are not all from the start."""
    k = min(k, len(items))
    return [items[i * len(items) // k] for i in range(k)]


def pick_samples(rows: list[dict], n: int) -> list[dict]:
    """Up to n rows, half wrong and half right when both exist, in test-set order."""
    if n <= 0:
        return []
    right = [i for i, r in enumerate(rows) if is_correct(r.get("score"))]
    wrong = [i for i, r in enumerate(rows) if not is_correct(r.get("score"))]
    n_wrong = min(len(wrong), max(n - len(right), (n + 1) // 2))
    n_right = min(len(right), n - n_wrong)
    return [rows[i] for i in sorted(_spread(wrong, n_wrong) + _spread(right, n_right))]


def load_samples(results: dict, run_dir: Path, n: int) -> dict[str, list[dict]]:
    """Up to n sample rows per strategy, read (and path-checked) like the browser's."""
    from .browse import load_predictions

    return pick_all(load_predictions(results, run_dir), n)


def pick_all(preds: dict[str, list[dict]], n: int) -> dict[str, list[dict]]:
    return {name: pick_samples(rows, n) for name, rows in preds.items()}


def write_reports(results: dict, run_dir: Path, samples_per_strategy: int = 5) -> tuple[Path, Path]:
    """Write report.md (+ plots/*.svg it links) and a self-contained report.html, atomically."""
    from .browse import load_predictions

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    preds = load_predictions(results, run_dir)  # once, for the samples and the browser
    samples = pick_all(preds, samples_per_strategy)
    browser = build_browser(preds)
    plots = all_plots(results)
    plot_files = []
    for plot in plots:
        rel = f"plots/{plot.id.removeprefix('plot-')}.svg"
        (run_dir / "plots").mkdir(exist_ok=True)
        atomic_write_text(run_dir / rel, plot.svg + "\n")
        plot_files.append((plot.title, rel))
    md_path, html_path = run_dir / "report.md", run_dir / "report.html"
    atomic_write_text(md_path, render_markdown(results, samples, browser, plot_files))
    atomic_write_text(html_path, render_html(results, samples, browser, plots))
    return md_path, html_path
