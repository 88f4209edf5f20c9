"""Human-readable reports (Markdown and HTML) rendered from results.json."""

from .render import load_samples, render_html, render_markdown, write_reports

__all__ = ["load_samples", "render_html", "render_markdown", "write_reports"]
