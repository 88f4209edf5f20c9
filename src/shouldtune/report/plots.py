"""Report figures drawn with matplotlib (Agg, no display) and returned as inline SVG.

Every figure is built from results.json alone. Labels are strategy names and numbers; the
SVG is checked for anything executable before it is embedded (see `safe_svg`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before pyplot is ever imported anywhere: no GUI backend, no display

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..core.stats import level_label  # noqa: E402
from .numbers import finite  # noqa: E402

RECOMMENDED = "#1a7f37"
OTHER = "#0969da"
MUTED = "#8c959f"
# Executable or network-reaching SVG constructs; matplotlib never writes them.
_UNSAFE_SVG = re.compile(
    r"<\s*(script|foreignObject|iframe|object|embed|a|image)\b|<use[^>]*href\s*=\s*['\"](?!#)"
    r"|\son[a-z]+\s*=|javascript:|url\(\s*['\"]?(?!#)",
    re.IGNORECASE,
)


_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
# With text drawn as paths, matplotlib writes each label's text as an XML comment: inert,
# but a strategy named "a onload=b" would trip the active-content check and lose the figure.
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


@dataclass(frozen=True)
class Plot:
    """One figure: a stable id for anchors and tests, a caption, and the SVG markup."""

    id: str
    title: str
    caption: str
    svg: str


def safe_svg(svg: str) -> str:
    """The <svg> element alone, or ValueError if it holds anything that could run or fetch."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("not an SVG document")
    body = svg[start:]
    if _UNSAFE_SVG.search(body):
        raise ValueError("refusing to embed an SVG with active content")
    return body


def to_svg(fig: Figure, plot_id: str) -> str:
    """Deterministic SVG (no date, ids salted by the plot id so inline figures never clash)."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": plot_id, "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    # The RDF metadata block only names matplotlib: drop it (and its namespace URLs).
    svg = _COMMENT.sub("", _METADATA.sub("", buf.getvalue()))
    return safe_svg(_prefix_ids(svg, plot_id))


def _prefix_ids(svg: str, prefix: str) -> str:
    """Every figure is inline in one page: matplotlib's ids (figure_1, glyphs, clip paths)
    would repeat across figures, so each gets the plot's id as prefix, references too."""
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m[1]}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m[1]})", svg)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m[1]}"', svg)


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, color="#eaeef2", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _quality(s: dict) -> tuple[float, float, float] | None:
    q = s.get("quality") or {}
    score = finite(q.get("score"))
    if score is None:
        return None
    lo, hi = finite(q.get("ci_low")), finite(q.get("ci_high"))
    return score, score if lo is None else lo, score if hi is None else hi


def cost_axis(strategies: list[dict]) -> tuple[str, Callable[[dict], float | None]]:
    """Per-request cost when every strategy has one (core/cost.py), else p50 latency."""

    def per_1k(s: dict) -> float | None:
        cost = s.get("cost")
        if isinstance(cost, dict):
            if finite(cost.get("cost_per_1k_requests")) is not None:  # core/cost.py's pick
                return finite(cost["cost_per_1k_requests"])
            for key, value in cost.items():
                if "1k" in str(key) and finite(value) is not None:
                    return finite(value)
            return None
        return finite(cost)

    if strategies and all(per_1k(s) is not None for s in strategies):
        return "cost per 1k requests", per_1k
    return "p50 latency per request (ms)", lambda s: finite((s.get("latency_ms") or {}).get("p50"))


def scatter_plot(strategies: list[dict], recommended: str | None, metric: str) -> Plot | None:
    """Quality vs cost: up-and-left is better. Error bars are the CIs (core.stats.CONFIDENCE)."""
    label, cost = cost_axis(strategies)
    points = [(s, cost(s), _quality(s)) for s in strategies]
    points = [(str(s.get("name", "?")), x, q) for s, x, q in points if x is not None and q]
    if not points:
        return None
    fig, ax = _figure(7.5, 4.2)
    for k, (name, x, (score, lo, hi)) in enumerate(points):
        color = RECOMMENDED if name == recommended else OTHER
        ax.errorbar(
            [x],
            [score],
            yerr=[[score - lo], [hi - score]],
            fmt="o",
            color=color,
            ecolor=color,
            elinewidth=1.5,
            capsize=4,
            markersize=7,
        )
        # Alternate label sides so strategies with equal cost do not print over each other.
        offset = (7, 5) if k % 2 == 0 else (7, -13)
        ax.annotate(name, (x, score), xytext=offset, textcoords="offset points", fontsize=9)
    xs = [x for _, x, _ in points]
    if min(xs) > 0 and max(xs) / min(xs) > 20:
        ax.set_xscale("log")
    ax.set_xlabel(f"{label}  (left is cheaper)")
    ax.set_ylabel(f"{metric or 'score'} ({level_label()} CI)")
    ax.set_ylim(_y_limits([q for _, _, q in points]))
    caption = f"Quality against {label}; the recommended strategy is green."
    return Plot("plot-scatter", "Quality vs cost", caption, to_svg(fig, "plot-scatter"))


def _y_limits(quals: list[tuple[float, float, float]]) -> tuple[float, float]:
    lo = min(q[1] for q in quals)
    hi = max(q[2] for q in quals)
    if lo >= 0 and hi <= 1:
        return -0.03, 1.05
    pad = (hi - lo) * 0.1 or 0.1
    return lo - pad, hi + pad


def quality_bars(strategies: list[dict], recommended: str | None, metric: str) -> Plot | None:
    rows = [(str(s.get("name", "?")), _quality(s)) for s in strategies]
    rows = [(n, q) for n, q in rows if q]
    if not rows:
        return None
    fig, ax = _figure(7.5, 0.45 * len(rows) + 1.2)
    ys = list(range(len(rows)))[::-1]
    scores = [q[0] for _, q in rows]
    err = [[q[0] - q[1] for _, q in rows], [q[2] - q[0] for _, q in rows]]
    colors = [RECOMMENDED if n == recommended else OTHER for n, _ in rows]
    ax.barh(ys, scores, xerr=err, color=colors, alpha=0.85, capsize=4, height=0.6)
    ax.set_yticks(ys, [n for n, _ in rows])
    ax.set_xlabel(f"{metric or 'score'} (bars: mean, whiskers: {level_label()} CI)")
    lo, hi = _y_limits([q for _, q in rows])
    ax.set_xlim(min(0.0, lo), hi + (hi - min(0.0, lo)) * 0.1)  # room for the value labels
    for y, (_, (score, _lo, hi)) in zip(ys, rows, strict=True):
        ax.text(hi, y, f"  {score:.3f}", va="center", fontsize=8, color="#1f2328")
    caption = f"Mean per-example score with its {level_label()} bootstrap confidence interval."
    return Plot("plot-quality", "Quality", caption, to_svg(fig, "plot-quality"))


def latency_plot(strategies: list[dict]) -> Plot | None:
    """p50 as a bar, p95 as a whisker: the typical request and the slow tail."""
    rows = []
    for s in strategies:
        lat = s.get("latency_ms") or {}
        p50, p95 = finite(lat.get("p50")), finite(lat.get("p95"))
        if p50 is not None:
            rows.append((str(s.get("name", "?")), p50, p95 if p95 is not None else p50))
    if not rows:
        return None
    fig, ax = _figure(7.5, 0.45 * len(rows) + 1.2)
    ys = list(range(len(rows)))[::-1]
    ax.barh(ys, [r[1] for r in rows], color=OTHER, alpha=0.8, height=0.6, label="p50")
    ax.scatter([r[2] for r in rows], ys, marker="|", s=250, color="#cf222e", label="p95", zorder=3)
    for y, (_, p50, p95) in zip(ys, rows, strict=True):
        ax.plot([p50, p95], [y, y], color="#cf222e", linewidth=1)
    ax.set_yticks(ys, [r[0] for r in rows])
    ax.set_xlabel("latency per request, batch size 1 (ms)")
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    caption = "Single-request latency: bar = median (p50), red mark = 95th percentile."
    return Plot("plot-latency", "Latency", caption, to_svg(fig, "plot-latency"))


def learning_curve_plot(strategies: list[dict]) -> Plot | None:
    curves = []
    for s in strategies:
        points = (s.get("details") or {}).get("learning_curve")
        if isinstance(points, list):
            pts = [_curve_point(p) for p in points if isinstance(p, dict)]
            pts = sorted(p for p in pts if p)
            if pts:
                curves.append((str(s.get("name", "?")), pts))
    if not curves:
        return None
    fig, ax = _figure(7.5, 4.0)
    for name, pts in curves:
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(xs, ys, marker="o", label=name)
        ax.fill_between(xs, [p[2] for p in pts], [p[3] for p in pts], alpha=0.15)
    ax.set_xlabel("training examples used")
    ax.set_ylabel(f"test score (band: {level_label()} CI)")
    ax.legend(frameon=False)
    caption = "Score against training-set size: a curve still rising means more data would help."
    return Plot(
        "plot-learning-curve", "Learning curve", caption, to_svg(fig, "plot-learning-curve")
    )


def _curve_point(p: dict) -> tuple[float, float, float, float] | None:
    x = (
        finite(p.get("n_train"))
        if finite(p.get("n_train")) is not None
        else finite(p.get("fraction"))
    )
    y = finite(p.get("score"))
    if x is None or y is None:
        return None
    lo, hi = finite(p.get("ci_low")), finite(p.get("ci_high"))
    return x, y, y if lo is None else lo, y if hi is None else hi


def _first_round(r: dict) -> float | None:
    """The dev loss every rate reached at the same step: its first round (older runs: the
    only one). A close call's second-round losses are further into training: not comparable."""
    rounds = r.get("rounds")
    if isinstance(rounds, list) and rounds and isinstance(rounds[0], dict):
        return finite(rounds[0].get("dev_loss"))
    return finite(r.get("dev_loss"))


def lr_sweep_plot(strategies: list[dict]) -> Plot | None:
    sweeps = []
    for s in strategies:
        details = s.get("details") or {}
        rows = details.get("lr_sweep")
        if not isinstance(rows, list):
            continue
        pts = sorted(
            (finite(r.get("learning_rate")), _first_round(r))
            for r in rows
            if isinstance(r, dict)
            and finite(r.get("learning_rate"))
            and _first_round(r) is not None
        )
        if pts:
            sweeps.append(
                (str(s.get("name", "?")), pts, finite(details.get("learning_rate_chosen")))
            )
    if not sweeps:
        return None
    fig, ax = _figure(7.5, 3.6)
    for name, pts, chosen in sweeps:
        line = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)[0]
        if chosen:
            ax.axvline(chosen, color=line.get_color(), linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (dashed: chosen)")
    ax.set_ylabel("dev loss")
    ax.legend(frameon=False)
    caption = (
        "Dev loss of each learning rate after the same first round of training; the lowest wins"
        " (when the best two are close, both train a second round first: the sweep table has"
        " those losses)."
    )
    return Plot("plot-lr-sweep", "Learning-rate sweep", caption, to_svg(fig, "plot-lr-sweep"))


PROBE_LABELS = {
    "knowledge_retained": "knowledge retained (likelihood)",
    "open_questions": "answers open questions",
    # Runs before the likelihood probe: the same generation probe, under its old name.
    "forgetting": "general knowledge by generation (older run)",
    "answerable_accuracy": "answerable accuracy",
    "fabrication_rate": "fabrication rate (lower is better)",
    "abstention_rate": "abstention rate",
    "in_domain_fabrication": "task: confident wrong (lower is better)",
    "in_domain_abstention": "task: declined or hedged",
}
CHANCE = "#cf222e"


@dataclass(frozen=True)
class ProbeBar:
    """One probe measure of one fine-tune: its label, before and after, and the score of
    guessing where that is not 0 (multiple choice)."""

    strategy: str
    key: str
    label: str
    before: float
    after: float
    chance: float | None = None


def probe_rows(strategies: list[dict]) -> list[ProbeBar]:
    """One bar pair per probe measure and fine-tune, in reading order."""
    rows = []
    for s in strategies:
        probes = (s.get("details") or {}).get("probes")
        if not isinstance(probes, dict):
            continue
        # Known probes in reading order, then any others (newer keys) as they come.
        keys = [k for k in PROBE_LABELS if k in probes]
        keys += [k for k in probes if k not in PROBE_LABELS]
        for key in keys:
            value = probes[key]
            if not isinstance(value, dict) or "diff" not in value:  # e.g. seconds, examples
                continue
            before, after = finite(value.get("before")), finite(value.get("after"))
            if before is None or after is None:
                continue
            name = str(s.get("name", "?"))
            label = f"{name}: {PROBE_LABELS.get(key, key)}"
            if value.get("room"):
                label += " (no room: see table)"
            lo, hi = finite(value.get("ci_low")), finite(value.get("ci_high"))
            if lo is not None and hi is not None:
                label += (
                    f"\nchange {after - before:+.2f} ({level_label()} CI {lo:+.2f} to {hi:+.2f})"
                )
            rows.append(ProbeBar(name, key, label, before, after, finite(value.get("chance"))))
    return rows


def probes_caption(rows: list[ProbeBar]) -> str:
    """What the two general-knowledge measures mean, for the measures this run has."""
    keys = {r.key for r in rows}
    said = ["Hallucination and forgetting probes on the base model and after fine-tuning."]
    if "knowledge_retained" in keys:
        said.append(
            "Knowledge retained picks, by likelihood, the right answer among same-kind options:"
            " a drop is forgetting. Answers open questions asks the model to write the answer:"
            " a drop while knowledge is retained is format takeover (the model answers"
            " everything in the task's format), not forgetting."
        )
    if any(r.chance is not None for r in rows):
        said.append("Dotted red: what guessing scores on the multiple choice.")
    if "forgetting" in keys:
        said.append(
            "Runs before the likelihood probe measured general knowledge by generation only,"
            " which a change of answer format alone can empty."
        )
    return " ".join(said)


def probes_plot(strategies: list[dict]) -> Plot | None:
    """Before vs after fine-tuning for each probe, per fine-tuned strategy."""
    rows = probe_rows(strategies)
    if not rows:
        return None
    fig, ax = _figure(7.5, 0.6 * len(rows) + 1.2)
    ys = list(range(len(rows)))[::-1]
    ax.barh([y + 0.18 for y in ys], [r.before for r in rows], height=0.34, color=MUTED,
            label="before (base model)")  # fmt: skip
    ax.barh([y - 0.18 for y in ys], [r.after for r in rows], height=0.34, color=OTHER,
            label="after fine-tuning")  # fmt: skip
    marked = [(y, r.chance) for y, r in zip(ys, rows, strict=True) if r.chance is not None]
    for k, (y, chance) in enumerate(marked):
        ax.vlines(chance, y - 0.45, y + 0.45, colors=CHANCE, linestyles=":", linewidth=1.5,
                  label="chance (multiple choice)" if k == 0 else None)  # fmt: skip
    for y, above, below in zip(ys[1:], rows, rows[1:], strict=False):
        if above.strategy != below.strategy:  # a rule between fine-tunes
            ax.axhline(y + 0.5, color="#d0d7de", linewidth=1)
    ax.set_yticks(ys, [r.label for r in rows])
    ax.set_xlim(0, 1.05)
    fig.legend(loc="outside lower center", ncols=3, frameon=False)
    ax.set_xlabel("share of probe questions")
    caption = probes_caption(rows)
    return Plot("plot-probes", "Hallucination and forgetting", caption, to_svg(fig, "plot-probes"))


def all_plots(results: dict) -> list[Plot]:
    """Every figure the results support, in reading order."""
    strategies = [s for s in results.get("strategies") or [] if isinstance(s, dict)]
    recommended = (results.get("verdict") or {}).get("recommended")
    metric = str((results.get("task") or {}).get("metric") or "")
    builders: list[Callable[[], Plot | None]] = [
        lambda: scatter_plot(strategies, recommended, metric),
        lambda: quality_bars(strategies, recommended, metric),
        lambda: latency_plot(strategies),
        lambda: learning_curve_plot(strategies),
        lambda: lr_sweep_plot(strategies),
        lambda: probes_plot(strategies),
    ]
    plots = []
    for build in builders:
        try:
            plot = build()
        except ValueError:  # safe_svg refused it: leave the figure out, keep the report
            continue
        if plot is not None:
            plots.append(plot)
    return plots
