"""Human-readable reports (Markdown and HTML) rendered from results.json, and run diffs."""

from .compare import Comparison, compare_runs
from .render import load_samples, render_html, render_markdown, write_reports

__all__ = [
    "Comparison",
    "compare_runs",
    "load_samples",
    "render_html",
    "render_markdown",
    "write_reports",
]
